/**
 * What a batch runs must not depend on the order of its plans (plans of one tick are ordered by
 * random id), nor, when asked, on how fast earlier jobs ran: the combined requirement, the path
 * chosen for the batch, and the planner's formula-only estimates.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Guarantee } from './evidence/policy.js';
import { candidatesFor, combineRequirements, pathForBatch, type Candidate } from './planner.js';
import { fixtureModels, testService } from './testing.js';

const correction: Guarantee = { kind: 'approximate', audits: { forgetAccuracy: 0.02 } };
const bias: Guarantee = { kind: 'approximate', audits: { forgetAccuracy: 0.05, miaAuc: 0.05 } };
const copyright: Guarantee = { kind: 'approximate', audits: { verbMem: 0.02, knowledgeParaphrase: 0.02 } };
const privacy: Guarantee = { kind: 'certified', epsilon: 1, delta: 1e-5 };

/** Every order of `xs`. */
function orders<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => orders([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));
}

test('combineRequirements: the strongest kind; every audit at its tightest margin; the same in every order', () => {
  for (const o of orders([correction, bias])) assert.deepEqual(combineRequirements(o), { kind: 'approximate', audits: { forgetAccuracy: 0.02, miaAuc: 0.05 } });
  for (const o of orders([correction, copyright])) assert.deepEqual(combineRequirements(o), { kind: 'approximate', audits: { forgetAccuracy: 0.02, knowledgeParaphrase: 0.02, verbMem: 0.02 } });
  for (const o of orders([correction, privacy, { kind: 'certified', epsilon: 0.5, delta: 1e-4 } as Guarantee])) assert.deepEqual(combineRequirements(o), { kind: 'certified', epsilon: 0.5, delta: 1e-5 });
  for (const o of orders([bias, privacy, { kind: 'exact' } as Guarantee])) assert.deepEqual(combineRequirements(o), { kind: 'exact' });
  assert.throws(() => combineRequirements([]), /no requirement/);
});

const cand = (path: Candidate['path'], method: string, guarantee: Guarantee, estimateSeconds: number, meets: boolean, chosen: boolean): Candidate => ({ path, method, guarantee, estimateSeconds, meets, chosen, why: '' });

test('pathForBatch: a privacy and a security request on the certified model run the exact retrain, whichever plan comes first', () => {
  // Fresh candidates for the batch's combined requirement (exact): the Newton step does not meet it.
  const fresh = [cand('certified-newton', 'certified', privacy, 1, false, false), cand('certified-retrain', 'certified-retrain', { kind: 'exact' }, 10, true, true)];
  for (const methods of orders(['certified', 'certified-retrain'])) assert.equal(pathForBatch(methods, fresh, fresh).path, 'certified-retrain', methods.join(','));
  // Privacy plans only: the Newton step, chosen and carried.
  const forPrivacy = [cand('certified-newton', 'certified', privacy, 1, true, true), cand('certified-retrain', 'certified-retrain', { kind: 'exact' }, 10, true, false)];
  assert.equal(pathForBatch(['certified', 'certified'], forPrivacy, forPrivacy).path, 'certified-newton');
});

test('pathForBatch: an escalated plan’s method wins over a cheaper fresh choice no plan carries; the fresh choice when none meets', () => {
  const fresh = [cand('sisa', 'sisa', { kind: 'exact' }, 5, true, true), cand('full-retrain', 'sisa-retrain', { kind: 'exact' }, 9, true, false)];
  for (const methods of orders(['sisa-retrain', 'retrain'])) assert.equal(pathForBatch(methods, fresh, fresh).method, 'sisa-retrain');
  assert.equal(pathForBatch(['finetune'], fresh, fresh).method, 'sisa');
  const fallback = [cand('full-retrain', 'retrain', { kind: 'exact' }, 9, true, true)];
  assert.equal(pathForBatch(['finetune'], [], fallback).method, 'retrain');
  assert.throws(() => pathForBatch(['x'], [], []), /no candidate path/);
});

test('estimates: recorded actual seconds replace the formula unless the context asks for formula estimates', async () => {
  const m = await fixtureModels();
  const svc = await testService({ noJobs: true });
  try {
    const op = await svc.token('operator');
    assert.equal((await svc.api('/v1/models', { method: 'POST', token: op, body: { id: 'sisa', dir: m.sisa } })).status, 201);
    const v = (await svc.ctx.store.version((await svc.ctx.store.model('sisa'))!.current_version!))!;
    const ids = (JSON.parse(v.manifest).lineage.trainIds as string[]).slice(0, 3);
    const formula = await candidatesFor(svc.ctx, v, ids, { kind: 'exact' }, svc.ctx.store.db);
    assert.deepEqual(formula.map((c) => [c.path, c.chosen]), [['sisa', true], ['full-retrain', false]]);
    // An earlier shard retrain on this model that took far longer than the formula says.
    const r = await svc.api('/v1/deletion-requests', { method: 'POST', token: op, body: { exampleIds: ids, purpose: 'security' } });
    assert.equal(r.status, 202, await r.clone().text());
    const { id } = (await r.json()) as { id: string };
    await svc.ctx.store.insertPlans([{ id: 'pl_slow', request_id: id, model_id: 'sisa', version_id: v.id, guarantee: 'exact', method: 'sisa', alternatives: '[]', estimate_seconds: 1, actual_seconds: 1e6, status: 'done', job_id: null, output_version: v.id, created_at: 0 }]);
    const measured = await candidatesFor(svc.ctx, v, ids, { kind: 'exact' }, svc.ctx.store.db);
    assert.equal(measured[0].estimateSeconds, 1e6);
    assert.deepEqual(measured.map((c) => [c.path, c.chosen]), [['sisa', false], ['full-retrain', true]]);
    svc.ctx.estimates = 'formula';
    const again = await candidatesFor(svc.ctx, v, ids, { kind: 'exact' }, svc.ctx.store.db);
    assert.deepEqual(again.map((c) => [c.path, c.estimateSeconds, c.chosen]), formula.map((c) => [c.path, c.estimateSeconds, c.chosen]));
  } finally {
    await svc.close();
  }
});
