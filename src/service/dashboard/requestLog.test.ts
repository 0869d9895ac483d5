// A requester's view of the log: GET /v1/deletion-requests/{id}/log returns the request's own
// records with inclusion proofs in the current signed tree head and the consistency proof from the
// certificate's tree head; another requester's id is a 404. The page's verifier (static/verify.js,
// run here in Node: same WebCrypto and jose) accepts it and rejects every tampering. SQLite by
// default; also PostgreSQL (own schema) when UNLEARN_TEST_POSTGRES is set.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { consistencyProof, fromHex } from '../evidence/merkle.js';
import { testService, waitFor } from '../testing.js';
import type { RequestLog } from './routes.js';
// @ts-expect-error plain browser JavaScript without types
import { verifyAgainstLog, verifyCertificate, verifyConsistency, fromB64u } from './static/verify.js';

const PG = process.env.UNLEARN_TEST_POSTGRES;
const backends: [string, string | undefined, string | false][] = [
  ['sqlite', undefined, false],
  ['postgres', PG, PG ? false : 'UNLEARN_TEST_POSTGRES is not set: PostgreSQL variant skipped'],
];

for (const [name, postgres, skip] of backends) {
  describe(`requester-scoped log records (${name})`, { skip }, () => {
    let svc: Awaited<ReturnType<typeof testService>>;
    before(async () => {
      svc = await testService(postgres ? { postgres } : {});
    });
    after(async () => {
      await svc?.close();
    });

    const fileNoData = async (tok: string, subject: string) => {
      const { id } = (await (await svc.api('/v1/deletion-requests', { method: 'POST', token: tok, body: { subject, purpose: 'privacy' } })).json()) as { id: string };
      await waitFor(async () => ((await (await svc.api(`/v1/deletion-requests/${id}`, { token: tok })).json()) as { status: string }).status === 'completed', 'completion');
      return id;
    };

    test('own records with proofs that verify; another requester gets 404; the page verifier rejects tampering', async () => {
      const alice = await svc.token('requester', ['alice@example.org']);
      const bob = await svc.token('requester', ['bob@example.org']);
      const a = await fileNoData(alice, 'alice@example.org');
      const b = await fileNoData(bob, 'bob@example.org');
      // Later entries: the certificate's tree head is now older than the log's.
      await fileNoData(await svc.token('requester', ['carol@example.org']), 'carol@example.org');

      const res = await svc.api(`/v1/deletion-requests/${a}/log`, { token: alice });
      assert.equal(res.status, 200, await res.clone().text());
      const live = (await res.json()) as RequestLog;
      assert.equal(live.requestId, a);
      assert.ok(live.records.length >= 2, 'received, …, completed');
      for (const r of live.records) assert.equal(JSON.parse(r.record).requestId, a, 'only this request’s records');
      assert.ok(live.consistency, 'a completed request has a consistency proof');

      // Another requester's id: 404 (the same answer as an id that does not exist), for both directions.
      for (const [id, tok] of [[a, bob], [b, alice], ['dr_00000000000000000000000000000000', alice], ['not-an-id', alice]] as const) {
        const r = await svc.api(`/v1/deletion-requests/${id}/log`, { token: tok });
        assert.equal(r.status, 404, `${id}: ${await r.text()}`);
      }
      // Operators and auditors see any request's records.
      for (const role of ['operator', 'auditor']) assert.equal((await svc.api(`/v1/deletion-requests/${a}/log`, { token: await svc.token(role) })).status, 200, role);
      assert.equal((await svc.api(`/v1/deletion-requests/${a}/log`)).status, 401, 'no token');

      // The page's verification: offline (bundled record, proof, tree head), then against the live log.
      const jwks = svc.ctx.ledger.jwks();
      const { certificate } = (await (await svc.api(`/v1/deletion-requests/${a}/certificate`, { token: alice })).json()) as { certificate: string };
      const offline = await verifyCertificate(certificate, jwks);
      assert.ok(offline.ok, JSON.stringify(offline.checks));
      assert.ok(live.consistency!.from <= live.consistency!.to);
      const ok = await verifyAgainstLog(offline.claims, live, jwks);
      assert.ok(ok.ok, JSON.stringify(ok.checks));
      assert.ok(ok.checks.length >= 4);

      const bad = async (what: string, f: (l: RequestLog) => void) => {
        const copy = JSON.parse(JSON.stringify(live)) as RequestLog;
        f(copy);
        const r = await verifyAgainstLog(offline.claims, copy, jwks);
        assert.equal(r.ok, false, `${what} must fail`);
      };
      const certIdx = offline.claims.logEntry.index as number;
      await bad('edited record', (l) => {
        const r = l.records.find((x) => x.index === certIdx)!;
        r.record = r.record.replace('"type":"', '"type":"x');
      });
      await bad('record missing from the live log', (l) => (l.records = l.records.filter((x) => x.index !== certIdx)));
      await bad('wrong audit path', (l) => (l.records.find((x) => x.index === certIdx)!.proof[0] = '_'.repeat(43)));
      await bad('tree head not signed by the service', (l) => (l.treeHead.rootHash = '_'.repeat(43)));
      await bad('no consistency proof', (l) => (l.consistency = null));
      await bad('consistency from another tree', (l) => (l.consistency!.fromRoot = '_'.repeat(43)));
    });
  });
}

test('verify.js RFC 9162 consistency proofs agree with the service’s for every pair of sizes up to 12', async () => {
  const leaves = Array.from({ length: 12 }, (_, i) => fromHex(i.toString(16).padStart(2, '0').repeat(32)));
  const { rootFromLeafHashes } = await import('../evidence/merkle.js');
  for (let n = 1; n <= 12; n++) {
    for (let m = 1; m <= n; m++) {
      const proof = consistencyProof(leaves.slice(0, n), m);
      const ok = await verifyConsistency(m, n, rootFromLeafHashes(leaves.slice(0, m)), rootFromLeafHashes(leaves.slice(0, n)), proof);
      assert.ok(ok, `${m} → ${n}`);
      if (m < n) {
        const other = rootFromLeafHashes([...leaves.slice(0, m - 1), fromB64u('_'.repeat(43))]);
        assert.equal(await verifyConsistency(m, n, other, rootFromLeafHashes(leaves.slice(0, n)), proof), false, `${m} → ${n} with another old tree`);
      }
    }
  }
});
