/**
 * End to end through HTTP on SQLite (and PostgreSQL when UNLEARN_TEST_POSTGRES is set): register
 * the three fixture models, file requests, watch the lifecycle, verify the certificates and the
 * log; races of two requests for one subject and of a request against a registration.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { trainWorkflow } from '../workflows.js';
import { verifyCertificate } from './evidence/certificate.js';
import { verifyLog } from './evidence/log.js';
import { storeLogStorage } from './ledger.js';
import { fixtureModels, testService, waitFor } from './testing.js';

const PG = process.env.UNLEARN_TEST_POSTGRES;
const LEGS = [
  { name: 'sqlite', skip: false as const, postgres: undefined },
  { name: 'postgres', skip: PG ? (false as const) : 'UNLEARN_TEST_POSTGRES is not set: PostgreSQL leg skipped', postgres: PG },
];

for (const leg of LEGS) {
  describe(`deletion-request service on ${leg.name}`, { skip: leg.skip }, () => {
    let svc: Awaited<ReturnType<typeof testService>>;
    let op: string;
    let m: Awaited<ReturnType<typeof fixtureModels>>;
    before(async () => {
      m = await fixtureModels();
      svc = await testService({ postgres: leg.postgres });
      op = await svc.token('operator');
      for (const [id, dir] of [['plain', m.plain], ['sisa', m.sisa], ['certified', m.certified]]) {
        const r = await svc.api('/v1/models', { method: 'POST', token: op, body: { id, dir } });
        assert.equal(r.status, 201, await r.clone().text());
      }
    });
    after(async () => svc?.close());

    const status = async (id: string, token: string) => (await (await svc.api(`/v1/deletion-requests/${id}`, { token })).json()) as Record<string, any>;

    test('a privacy request runs to a verified certificate on all three models', async () => {
      const tok = await svc.token('requester', ['cps/3']);
      const r = await svc.api('/v1/deletion-requests', { method: 'POST', token: tok, body: { subject: 'cps/3', purpose: 'privacy' }, headers: { 'idempotency-key': 'k-1' } });
      assert.equal(r.status, 202);
      const receipt = (await r.json()) as { id: string; deadline: string; statusUrl: string };
      assert.match(receipt.id, /^dr_[0-9a-f]{32}$/);
      const again = await svc.api('/v1/deletion-requests', { method: 'POST', token: tok, body: { subject: 'cps/3', purpose: 'privacy' }, headers: { 'idempotency-key': 'k-1' } });
      assert.equal(((await again.json()) as { id: string }).id, receipt.id, 'replay returns the first response');
      const done = await waitFor(async () => {
        const s = await status(receipt.id, tok);
        return ['completed', 'refused'].includes(s.status) && s;
      }, 'completion', 90_000);
      assert.equal(done.status, 'completed', JSON.stringify(done));
      const methods = Object.fromEntries(done.plans.map((p: any) => [p.model, p.method]));
      assert.deepEqual(methods, { certified: 'certified', plain: 'retrain', sisa: 'sisa' });
      for (const p of done.plans) {
        assert.ok(p.alternatives.length >= 1);
        assert.equal(p.status, 'done');
        assert.ok(p.actualSeconds !== null && p.actualSeconds >= 0);
      }
      const cert = (await (await svc.api(`/v1/deletion-requests/${receipt.id}/certificate`, { token: tok })).json()) as { certificate: string };
      const jwks = (await (await svc.api('/v1/keys')).json()) as never;
      const v = await verifyCertificate(cert.certificate, jwks);
      assert.ok(v.ok, v.problems.join('; '));
      const claims = v.claims!;
      assert.equal(claims.requestId, receipt.id);
      assert.equal(claims.outcome, 'unlearned');
      assert.deepEqual(claims.models.map((x) => x.modelId).sort(), ['certified', 'plain', 'sisa']);
      assert.ok(claims.models.every((x) => x.inputHash !== x.outputHash && x.examplesRemoved === 1));
      const models = (await (await svc.api('/v1/models/plain/versions', { token: op })).json()) as any;
      assert.equal(models.versions.length, 2);
      assert.equal(models.edges.length, 1);
      assert.ok(models.versions.find((x: any) => !x.current).supersededBy);
      const storage = storeLogStorage(svc.ctx.store);
      const lv = await verifyLog(await storage.entries(0, await storage.size()), await svc.ctx.ledger.treeHeads(), svc.ctx.ledger.jwks());
      assert.ok(lv.ok, JSON.stringify(lv.problems));
    });

    test('correction: terms wait for the requester, who accepts; approximate path audited', async () => {
      const tok = await svc.token('requester', ['cps/10']);
      const { id } = (await (await svc.api('/v1/deletion-requests', { method: 'POST', token: tok, body: { subject: 'cps/10', purpose: 'correction', models: ['plain'] } })).json()) as { id: string };
      const planned = await waitFor(async () => {
        const s = await status(id, tok);
        return s.status === 'planned' && s;
      }, 'planned');
      assert.ok(planned.terms.inWords.startsWith('approximate'));
      assert.equal(planned.plans.length, 1);
      const acc = await svc.api(`/v1/deletion-requests/${id}/accept`, { method: 'POST', token: tok });
      assert.equal(acc.status, 200, await acc.clone().text());
      const done = await waitFor(async () => {
        const s = await status(id, tok);
        return ['completed', 'refused'].includes(s.status) && s;
      }, 'completion', 90_000);
      assert.equal(done.status, 'completed');
      const again = await svc.api(`/v1/deletion-requests/${id}/accept`, { method: 'POST', token: tok });
      assert.equal(again.status, 409, 'accepting a completed request is illegal');
    });

    test('no data of the subject anywhere: completed with a certificate saying so', async () => {
      const tok = await svc.token('requester', ['nobody@example.org']);
      const { id } = (await (await svc.api('/v1/deletion-requests', { method: 'POST', token: tok, body: { subject: 'nobody@example.org', purpose: 'privacy' } })).json()) as { id: string };
      const s = await waitFor(async () => {
        const x = await status(id, tok);
        return x.status === 'completed' && x;
      }, 'no-data completion');
      assert.equal(s.plans.length, 0);
      const cert = (await (await svc.api(`/v1/deletion-requests/${id}/certificate`, { token: tok })).json()) as { certificate: string };
      const v = await verifyCertificate(cert.certificate, svc.ctx.ledger.jwks());
      assert.ok(v.ok, v.problems.join('; '));
      assert.equal(v.claims!.outcome, 'no-data');
    });

    test('race: two requests for one subject end consistently (one version without the subject)', async () => {
      const tok = await svc.token('requester', ['cps/20']);
      const ids = await Promise.all([0, 1].map(async () => ((await (await svc.api('/v1/deletion-requests', { method: 'POST', token: tok, body: { subject: 'cps/20', purpose: 'security', models: ['plain'] } })).json()) as { id: string }).id));
      const finals = await Promise.all(ids.map((id) => waitFor(async () => {
        const s = await status(id, tok);
        return ['completed', 'refused', 'rejected'].includes(s.status) && s;
      }, 'both done', 90_000)));
      assert.deepEqual(finals.map((f) => f.status), ['completed', 'completed']);
      const subj = (await (await svc.api('/v1/subjects/cps%2F20/models', { token: op })).json()) as any;
      const live = subj.versions.filter((v: any) => v.model === 'plain' && v.supersededBy === null);
      assert.equal(live.length, 0, 'no current plain version holds the subject');
    });

    test('race: a request against a model registration ends with the subject out of every registered version', async () => {
      const tok = await svc.token('requester', ['cps/30']);
      const other = join(m.dir, `plain-seed2-${leg.name}`);
      await trainWorkflow({ dataset: 'cps-wages', kind: 'mlp', hidden: [8], recipe: { epochs: 2, batchSize: 64, seed: 2 }, out: other, quiet: true });
      const [reg, req] = await Promise.all([
        svc.api('/v1/models', { method: 'POST', token: op, body: { id: 'plain-2', dir: other } }),
        svc.api('/v1/deletion-requests', { method: 'POST', token: tok, body: { subject: 'cps/30', purpose: 'security' } }),
      ]);
      const { id } = (await req.json()) as { id: string };
      await waitFor(async () => ['completed', 'refused'].includes((await status(id, tok)).status), 'race completion', 90_000);
      if (reg.status === 201) {
        // Registered: the copy must have been unlearned as well (planned, or re-planned after registration).
        await waitFor(async () => {
          const subj = (await (await svc.api('/v1/subjects/cps%2F30/models', { token: op })).json()) as any;
          return subj.versions.every((v: any) => v.supersededBy !== null);
        }, 'every version holding the subject superseded', 90_000);
      } else {
        assert.equal(reg.status, 409, `else the registration was refused because the subject was deleted: ${await reg.text()}`);
      }
    });
  });
}
