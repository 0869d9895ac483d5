/**
 * The calibration reference of the approximate path and the SISA full-retrain alternative:
 * the hold-out choice, the reweighted reference accuracy, a verification that passes against
 * the reference and one that fails and escalates (nothing unverified is published), and the
 * planner listing the ensemble's full retrain beside the shard retrain.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { loadDataset } from '../data/registry.js';
import { candidatesFor, nextCandidate } from './planner.js';
import { verifyOutput } from './pipeline.js';
import { chooseHoldout, holdoutSize, referenceAccuracyFor, referencePath, type ReferenceFigures } from './reference.js';
import { verifyCertificate } from './evidence/certificate.js';
import { runUnlearn } from './unlearnTask.js';
import { FAST_POLICY, fixtureModels, testService, waitFor } from './testing.js';

const FIG: ReferenceFigures = { version: 1, kind: 'calibration-reference', model: 'm', root: 'r'.repeat(64), trainedFrom: 'r'.repeat(64), seed: 7, holdout: { n: 100, idsSha256: 'x', classCounts: [60, 40] }, accuracy: 0.9, perClassAccuracy: [0.95, 0.825], miaAuc: 0.52, miaN: 100, seconds: 3, createdAt: '2026-01-01T00:00:00Z' };

test('hold-out set: stratified to the class mix, seeded, sized 2% of n within [100, 10% of n]', async () => {
  const split = await loadDataset('cps-wages');
  const ids = [...split.train.ids];
  assert.equal(holdoutSize(10_000), 200);
  assert.equal(holdoutSize(2_000), 100);
  assert.equal(holdoutSize(ids.length), Math.floor(0.1 * ids.length));
  const h = chooseHoldout(split, ids, 40, 3);
  assert.equal(h.length, 40);
  assert.deepEqual(chooseHoldout(split, ids, 40, 3), h, 'same seed, same set');
  assert.notDeepEqual(chooseHoldout(split, ids, 40, 4), h);
  const pos = new Map(ids.map((id, i) => [id, i]));
  const frac = (xs: string[]) => xs.filter((id) => split.train.labels[pos.get(id)!] === 1).length / xs.length;
  assert.ok(Math.abs(frac(h) - frac(ids)) <= 1 / 40 + 1e-9, `class mix ${frac(h)} vs ${frac(ids)}`);
});

test('reference accuracy is reweighted to the forget set’s classes', () => {
  assert.equal(referenceAccuracyFor(FIG, [10, 0]), 0.95);
  assert.equal(referenceAccuracyFor(FIG, [0, 4]), 0.825);
  assert.ok(Math.abs(referenceAccuracyFor(FIG, [1, 1]) - 0.8875) < 1e-12);
  assert.equal(referenceAccuracyFor(FIG, [0, 0]), 0.9);
});

test('verifyOutput: approximate audits pass within the margin of the reference and fail outside it; no reference fails', () => {
  const cand = { path: 'approximate', method: 'finetune', guarantee: { kind: 'approximate', audits: { forgetAccuracy: 0.05 } }, estimateSeconds: 1, meets: true, chosen: true, why: '' } as const;
  const required = { kind: 'approximate', audits: { forgetAccuracy: 0.05, miaAuc: 0.05 } } as const;
  const res = (FA: number, miaAuc: number) => ({ manifest: { format: 'unlearn-model/1', lineage: { trainIds: ['a', 'b'], trainIdsSha256: 'h' } }, evaluation: { RA: 1, FA, TA: 0.9, miaAuc, forgetN: 20, miaN: 20 }, notes: [], seconds: 1 });
  const ref = { figures: FIG, accuracy: referenceAccuracyFor(FIG, [20, 0]), forgetClassCounts: [20, 0] };
  const ok = verifyOutput(required, cand, ['c'], res(0.97, 0.55), ref);
  assert.ok(ok.ok, ok.failures.join('; '));
  const audits = ok.figures.audits as any;
  assert.equal(audits.measured.forgetAccuracy.reference, 0.95);
  assert.equal(audits.measured.miaAuc.reference, 0.52);
  assert.equal(audits.reference.kind, 'calibration');
  assert.equal(audits.reference.holdoutN, 100);
  const bad = verifyOutput(required, cand, ['c'], res(1, 0.7), ref);
  assert.ok(!bad.ok);
  assert.equal(bad.failures.length, 2, bad.failures.join('; '));
  assert.match(bad.failures[0], /forgetAccuracy: 1 against the reference's 0\.95 \(n = 20\)/);
  assert.ok(!verifyOutput(required, cand, ['c'], res(0.95, 0.52)).ok, 'without a reference nothing passes');
  assert.ok(!verifyOutput(required, cand, ['a'], res(0.95, 0.52), ref).ok, 'an id still in the lineage fails');
});

test('SISA: the planner lists the ensemble full retrain and escalates to it; the full retrain retrains every shard', async () => {
  const m = await fixtureModels();
  const svc = await testService();
  try {
    const op = await svc.token('operator');
    assert.equal((await svc.api('/v1/models', { method: 'POST', token: op, body: { id: 'sisa', dir: m.sisa } })).status, 201);
    const v = (await svc.ctx.store.version((await svc.ctx.store.model('sisa'))!.current_version!))!;
    const ids = (JSON.parse(v.manifest).lineage.trainIds as string[]).slice(0, 3);
    const c = await candidatesFor(svc.ctx, v, ids, { kind: 'exact' }, svc.ctx.store.db);
    assert.deepEqual(c.map((x) => [x.path, x.method, x.chosen]), [['sisa', 'sisa', true], ['full-retrain', 'sisa-retrain', false]]);
    assert.ok(c[1].estimateSeconds > c[0].estimateSeconds && c[1].estimateSeconds > 0);
    assert.equal(nextCandidate(c.map((x) => (x.path === 'sisa' ? { ...x, failed: true } : x)))?.path, 'full-retrain');
    assert.equal(nextCandidate(c.map((x) => ({ ...x, failed: true }))), undefined);
    const out = join(svc.dataRoot, 'full');
    const r = await runUnlearn({ modelDir: m.sisa, ids, params: c[1].params, seed: 1, out });
    const shards = r.manifest.shards as { origin: { kind: string; fromSlice?: number } }[];
    assert.ok(shards.every((s) => s.origin.kind === 'trained' && s.origin.fromSlice === 0), JSON.stringify(shards.map((s) => s.origin)));
    assert.ok(!(r.manifest.lineage.trainIds as string[]).some((id) => ids.includes(id)));
  } finally {
    await svc.close();
  }
});

describe('approximate path against the calibration reference, end to end', () => {
  let m: Awaited<ReturnType<typeof fixtureModels>>;
  before(async () => {
    m = await fixtureModels();
  });
  const run = async (policy: string, purpose: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'unlearn-ref-policy-'));
    const policyPath = join(dir, 'policy.yaml');
    writeFileSync(policyPath, policy);
    const svc = await testService({ policyPath });
    try {
      const op = await svc.token('operator');
      assert.equal((await svc.api('/v1/models', { method: 'POST', token: op, body: { id: 'plain', dir: m.plain } })).status, 201);
      const v = (await svc.ctx.store.version((await svc.ctx.store.model('plain'))!.current_version!))!;
      const exampleIds = (JSON.parse(v.manifest).lineage.trainIds as string[]).slice(0, 24);
      const { id } = (await (await svc.api('/v1/deletion-requests', { method: 'POST', token: op, body: { exampleIds, purpose } })).json()) as { id: string };
      await waitFor(async () => (await svc.ctx.store.request(id))?.status === 'planned', 'planned');
      assert.equal((await svc.api(`/v1/deletion-requests/${id}/accept`, { method: 'POST', token: op })).status, 200);
      const done = await waitFor(async () => {
        const r = await svc.ctx.store.request(id);
        return r && ['completed', 'refused'].includes(r.status) && r;
      }, 'completion', 120_000);
      const plan = (await svc.ctx.store.plansOf(id))[0];
      const claims = done.certificate ? (await verifyCertificate(done.certificate, svc.ctx.ledger.jwks())) : undefined;
      const refFile = referencePath(svc.dataRoot, 'plain', v.id);
      return { done, plan, alts: JSON.parse(plan.alternatives) as any[], claims, ref: existsSync(refFile) ? (JSON.parse(readFileSync(refFile, 'utf8')) as ReferenceFigures) : undefined };
    } finally {
      await svc.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };

  test('passing verification: published on the approximate path, certificate names the reference and N', { timeout: 180_000 }, async () => {
    const policy = FAST_POLICY.replace('audits: { forgetAccuracy: 0.1 } }', 'audits: { forgetAccuracy: 1 } }');
    assert.notEqual(policy, FAST_POLICY);
    const r = await run(policy, 'correction');
    assert.equal(r.done.status, 'completed');
    assert.ok(r.ref, 'the reference figures were recorded');
    assert.equal(r.ref!.holdout.n, holdoutSize(JSON.parse(readFileSync(join(m.plain, 'manifest.json'), 'utf8')).lineage.trainIds.length));
    const approx = r.alts.find((a) => a.path === 'approximate');
    assert.equal(approx.verification.reference, 'calibration');
    assert.ok(approx.verification.shareSeconds > 0 && approx.verification.amortisedOver >= 10);
    assert.ok(r.claims!.ok, r.claims!.problems.join('; '));
    const claim = r.claims!.claims!.models[0];
    assert.equal(claim.path, 'approximate');
    assert.equal(claim.figures['audits.reference.kind'], 'calibration');
    assert.equal(claim.figures['audits.reference.holdoutN'], r.ref!.holdout.n);
    assert.equal(claim.figures['audits.measured.forgetAccuracy.n'], 24);
    assert.equal(typeof claim.figures['audits.measured.forgetAccuracy.reference'], 'number');
  });

  test('failing verification: escalates to the full retrain; the unverified model is not published', { timeout: 180_000 }, async () => {
    const policy = FAST_POLICY.replace('audits: { forgetAccuracy: 0.1, miaAuc: 0.2 } }', 'audits: { forgetAccuracy: 0, miaAuc: 0 } }');
    assert.notEqual(policy, FAST_POLICY);
    const r = await run(policy, 'bias');
    assert.equal(r.done.status, 'completed');
    const approx = r.alts.find((a) => a.path === 'approximate');
    assert.equal(approx.failed, true);
    assert.match(approx.why, /verification failed: .*against the reference's/);
    assert.equal(r.plan.method, 'retrain');
    assert.ok(r.claims!.ok);
    const claim = r.claims!.claims!.models[0];
    assert.equal(claim.path, 'full-retrain');
    assert.equal(claim.guarantee.kind, 'exact');
    assert.ok(r.ref, 'the reference was trained for the failed audit');
  });
});
