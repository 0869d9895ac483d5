import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../engine/rng.js';
import { isUnlearnError } from '../errors.js';
import { lossMembershipInference, lossMia } from './lossMia.js';
import { auc } from './roc.js';

/** Log-normal losses (nats): exp(mu + sigma·N(0,1)). */
function losses(rng: Rng, n: number, mu: number, sigma = 0.7): Float64Array {
  return Float64Array.from({ length: n }, () => Math.exp(mu + sigma * rng.normal()));
}

test('same distribution for members and non-members: AUC ≈ accuracy ≈ 0.5', () => {
  const rng = new Rng(11);
  const forget = losses(rng, 1000, -1);
  const testL = losses(rng, 1000, -1);
  const r = lossMembershipInference({ forgetLosses: forget, testLosses: testL, seed: 5 });
  const a = r.aggregate;
  assert.equal(a.nPerSide, 1000);
  assert.equal(a.folds, 5);
  assert.equal(a.foldAccuracies.length, 5);
  assert.ok(Math.abs(a.auc - 0.5) <= 0.07, `auc ${a.auc}`);
  assert.ok(Math.abs(a.lossAuc - 0.5) <= 0.07, `lossAuc ${a.lossAuc}`);
  assert.ok(Math.abs(a.accuracy - 0.5) <= 0.07, `accuracy ${a.accuracy}`);
});

test('members with clearly lower loss: AUC and accuracy well above 0.9', () => {
  const rng = new Rng(12);
  const forget = losses(rng, 1000, -3); // median loss 0.05 nats
  const testL = losses(rng, 1000, 0); // median loss 1 nat
  const r = lossMembershipInference({ forgetLosses: forget, testLosses: testL, seed: 1 });
  assert.ok(r.aggregate.auc > 0.9, `auc ${r.aggregate.auc}`);
  assert.ok(r.aggregate.lossAuc > 0.9, `lossAuc ${r.aggregate.lossAuc}`);
  assert.ok(r.aggregate.accuracy > 0.9, `accuracy ${r.aggregate.accuracy}`);
  // the per-example probabilities are the classifier's out-of-fold output: low loss → high prob
  const p = r.perExample.memberProbability;
  assert.equal(p.length, 1000);
  assert.ok(p.every((v) => v > 0 && v < 1));
  let above = 0;
  for (const v of p) if (v > 0.5) above++;
  assert.ok(above / 1000 > 0.9);
  // every fold model is monotone (decreasing) in the loss, so the out-of-fold AUC ≈ the raw-loss AUC
  assert.ok(Math.abs(r.aggregate.auc - r.aggregate.lossAuc) < 0.01);
});

test('balancing: min(nForget, nTest) per side, whichever side is larger', () => {
  const rng = new Rng(13);
  const r1 = lossMembershipInference({ forgetLosses: losses(rng, 300, -1), testLosses: losses(rng, 1000, -1), seed: 2 });
  assert.equal(r1.aggregate.nPerSide, 300);
  assert.equal(r1.aggregate.nForget, 300);
  assert.equal(r1.aggregate.nTest, 1000);
  assert.equal(r1.perExample.inBalancedSample.reduce((a, b) => a + b, 0), 300);

  const forget = losses(rng, 1000, -2);
  const r2 = lossMembershipInference({ forgetLosses: forget, testLosses: losses(rng, 200, 0), seed: 2 });
  assert.equal(r2.aggregate.nPerSide, 200);
  const inS = r2.perExample.inBalancedSample;
  assert.equal(inS.length, 1000);
  assert.equal(inS.reduce((a, b) => a + b, 0), 200);
  // every forget example, sampled or not, gets a finite probability
  assert.ok(r2.perExample.memberProbability.every((v) => v > 0 && v < 1));
  // fold accuracies are over 2·200/5 = 80 examples each
  for (const acc of r2.aggregate.foldAccuracies) assert.equal(Math.round(acc * 80), acc * 80);
});

test('few examples: fewer folds; two per side is the minimum', () => {
  const r = lossMembershipInference({ forgetLosses: [0.1, 0.2, 0.3], testLosses: [1, 2, 3, 4, 5, 6], seed: 0 });
  assert.equal(r.aggregate.nPerSide, 3);
  assert.equal(r.aggregate.folds, 3);
  const r2 = lossMembershipInference({ forgetLosses: [0.1, 0.2], testLosses: [1, 2], folds: 10 });
  assert.equal(r2.aggregate.folds, 2);
  assert.equal(r2.aggregate.lossAuc, 1);
});

test('deterministic for the same seed; the seed matters when subsampling', () => {
  const rng = new Rng(14);
  const input = { forgetLosses: losses(rng, 500, -1), testLosses: losses(rng, 200, -0.8), seed: 42 };
  const a = lossMembershipInference(input);
  const b = lossMembershipInference({ ...input });
  assert.deepEqual(a, b);
  const c = lossMembershipInference({ ...input, seed: 43 });
  assert.notDeepEqual(a.perExample.inBalancedSample, c.perExample.inBalancedSample);
  assert.equal(c.aggregate.seed, 43);
});

test('does not mutate its input', () => {
  const f = [0.3, 0.1, 0.2, 0.5, 0.4];
  const t = [1, 0.9, 0.8, 1.2, 0.7, 1.1, 2];
  lossMembershipInference({ forgetLosses: f, testLosses: t, seed: 3 });
  assert.deepEqual(f, [0.3, 0.1, 0.2, 0.5, 0.4]);
  assert.deepEqual(t, [1, 0.9, 0.8, 1.2, 0.7, 1.1, 2]);
});

test('errors: empty side, NaN, infinite, bad folds', () => {
  const is = (code: string) => (e: unknown) => isUnlearnError(e) && e.code === code;
  assert.throws(() => lossMembershipInference({ forgetLosses: [], testLosses: [1, 2] }), is('INVALID_PARAMS'));
  assert.throws(() => lossMembershipInference({ forgetLosses: [1, 2], testLosses: [] }), is('INVALID_PARAMS'));
  assert.throws(() => lossMembershipInference({ forgetLosses: [1, NaN], testLosses: [1, 2] }), is('NUMERIC_ERROR'));
  assert.throws(() => lossMembershipInference({ forgetLosses: [1, 2], testLosses: [NaN, 2] }), is('NUMERIC_ERROR'));
  assert.throws(() => lossMembershipInference({ forgetLosses: [1, Infinity], testLosses: [1, 2] }), is('NUMERIC_ERROR'));
  assert.throws(() => lossMembershipInference({ forgetLosses: [1], testLosses: [1, 2] }), is('INVALID_PARAMS'));
  assert.throws(() => lossMembershipInference({ forgetLosses: [1, 2], testLosses: [1, 2], folds: 1 }), is('INVALID_PARAMS'));
});

test('the metric object computes the same thing', () => {
  assert.equal(lossMia.id, 'loss-mia');
  assert.ok(lossMia.description.length > 0);
  const input = { forgetLosses: [0.1, 0.3, 0.2, 0.05], testLosses: [0.9, 0.4, 1.5, 0.25], seed: 9 };
  assert.deepEqual(lossMia.compute(input), lossMembershipInference(input));
  // the raw-loss AUC is the AUC of −loss on the balanced (here: complete) data
  const s = [...input.forgetLosses, ...input.testLosses].map((v) => -v);
  const m = [1, 1, 1, 1, 0, 0, 0, 0];
  assert.equal(lossMia.compute(input).aggregate.lossAuc, auc(s, m));
});
