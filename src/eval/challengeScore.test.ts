import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../engine/rng.js';
import { isUnlearnError } from '../errors.js';
import {
  binPoints,
  challengeBins,
  challengeScore,
  exampleEpsilon,
  intervalEpsilon,
  logitScaledConfidence,
  PHI_CLAMP,
  ruleEpsilon,
  singleThresholdEpsilon,
} from './challengeScore.js';

const D = 1e-5;
const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('φ = ln p_y − ln(1 − p_y) from logits, stable and clamped', () => {
  const logits = [2, 0, -1, /* */ 0, 0, 0, /* */ 1000, -1000, 0, /* */ -1000, 1000, 0];
  const phi = logitScaledConfidence(logits, [0, 1, 0, 0], 3);
  const p = Math.exp(2) / (Math.exp(2) + 1 + Math.exp(-1));
  close(phi[0], Math.log(p) - Math.log(1 - p), 1e-12);
  close(phi[1], Math.log(1 / 3) - Math.log(2 / 3), 1e-12);
  assert.equal(phi[2], PHI_CLAMP); // p_y ≈ 1: odds saturate like the organisers' 1e-45 floor
  assert.equal(phi[3], -PHI_CLAMP);
  assert.throws(() => logitScaledConfidence([NaN, 0], [0], 2), (e) => isUnlearnError(e, 'NUMERIC_ERROR'));
  assert.throws(() => logitScaledConfidence([0, 0, 0], [0], 2), (e) => isUnlearnError(e, 'SHAPE_MISMATCH'));
});

test('rule ε: both rates 0 → ∞, one 0 → discarded, NaN terms ignored, floored at 0', () => {
  assert.equal(ruleEpsilon(0, 0, 4), Infinity);
  assert.ok(Number.isNaN(ruleEpsilon(0, 2, 4)));
  assert.ok(Number.isNaN(ruleEpsilon(2, 0, 4)));
  close(ruleEpsilon(1, 1, 4), Math.log(0.75 - D) - Math.log(0.25));
  close(ruleEpsilon(2, 1, 4), Math.max(Math.log(0.5 - D) - Math.log(0.25), Math.log(0.75 - D) - Math.log(0.5)));
  assert.equal(ruleEpsilon(2, 2, 4), 0); // ln(.5−δ) − ln(.5) < 0 → 0
  assert.equal(ruleEpsilon(4, 1, 4), 0); // first term ln(−δ) is NaN, second negative → 0
  assert.ok(Number.isNaN(ruleEpsilon(4, 4, 4))); // both terms NaN → discarded
});

test('hand-computed example: the interval family beats the single threshold', () => {
  // Retrained φ spread out, unlearned φ peaky inside it (ranges 6 and 1.5: no collapse).
  const retrained = [0, 3.2, 5, 6];
  const unlearned = [2.5, 3, 3.5, 4];
  // Medians 4.1 > 3.25: positive = retrained. Best single threshold t ∈ (3, 3.2]: FNR 1/4, FPR 2/4.
  const single = singleThresholdEpsilon(retrained, unlearned, D);
  close(single.epsilon, Math.log(0.5 - D) - Math.log(0.25));
  // Best interval [3, 4]: holds 3 of 4 unlearned and 1 of 4 retrained: FNR = FPR = 1/4.
  const interval = intervalEpsilon(retrained, unlearned, D);
  close(interval.epsilon, Math.log(0.75 - D) - Math.log(0.25));
  assert.equal(interval.rules, 400 * 400); // right grid spans exactly 4 units
  const e = exampleEpsilon(unlearned, retrained, D);
  close(e.epsilon, Math.log(3 - 4 * D)); // ≈ 1.0986
  assert.equal(e.collapsed, false);
  // N = 4: bins up to ⌈ln 3⌉ = 2; ε ∈ [1, 1.5) → H = 0.25.
  const r = challengeScore({ unlearnedPhi: unlearned.map((v) => [v]), retrainedPhi: retrained.map((v) => [v]), unlearnedRA: [1, 1, 1, 1], unlearnedTA: [0.9, 0.9, 0.9, 0.9], retrainedRA: [1, 1, 1, 1], retrainedTA: [0.9, 0.9, 0.9, 0.9] });
  assert.equal(r.aggregate.F, 0.25);
  assert.equal(r.aggregate.score, 0.25);
  assert.deepEqual(r.aggregate.histogram, [0, 0, 1, 0, 0]);
});

test('overlapping shifted samples: both families give ln(3 − 4δ)', () => {
  const e = exampleEpsilon([0, 1, 2, 3], [1.5, 2.5, 3.5, 4.5], D);
  close(e.single, Math.log(0.75 - D) - Math.log(0.25));
  close(e.interval, Math.log(0.75 - D) - Math.log(0.25));
});

test('fully separated distributions → ε = cap, F = 0; accuracy ratios enter the final score', () => {
  const rng = new Rng(1);
  const N = 16;
  const S = 20;
  const U = Array.from({ length: N }, () => Array.from({ length: S }, () => 10 + rng.normal()));
  const R = Array.from({ length: N }, () => Array.from({ length: S }, () => rng.normal() * 0.5));
  const r = challengeScore({ unlearnedPhi: U, retrainedPhi: R, unlearnedRA: Array(N).fill(0.9), unlearnedTA: Array(N).fill(0.8), retrainedRA: Array(N).fill(1), retrainedTA: Array(N).fill(0.9) });
  assert.equal(r.aggregate.F, 0);
  assert.ok(r.perExample.epsilon.every((e) => e === 50));
  close(r.aggregate.raRatio, 0.9);
  close(r.aggregate.taRatio, 0.8 / 0.9);
  assert.equal(r.aggregate.score, 0);
});

test('collapse rule: an unlearned range < 1% of the retrained one gets the cap', () => {
  const retrained = [0, 0.5, 1, 1.5, 2];
  const unlearned = [1, 1.001, 1.002, 1.003, 1.004]; // range 0.004 / 2 = 0.2% < 1%
  const e = exampleEpsilon(unlearned, retrained, D);
  assert.deepEqual([e.epsilon, e.collapsed], [50, true]);
  // 2% is not collapsed (and overlaps, so a finite ε).
  const e2 = exampleEpsilon([1, 1.01, 1.02, 1.03, 1.04], retrained, D);
  assert.equal(e2.collapsed, false);
  assert.ok(e2.epsilon < 50);
  // Both constant and equal: every rule discarded → 0 (the organisers' code asserts here).
  assert.equal(exampleEpsilon([3, 3], [3, 3], D).epsilon, 0);
});

test('separation rule: different constants are perfectly separable at any gap, below and above the grid spacing (2/399, 0.0099, 0.01)', () => {
  for (const gap of [1e-6, 0.005, 0.00501, 0.00502, 0.0098, 0.0099, 0.01, 0.5]) {
    for (const [u, r] of [[[3, 3, 3], [3 + gap, 3 + gap, 3 + gap]], [[3 + gap, 3 + gap, 3 + gap], [3, 3, 3]]]) {
      const e = exampleEpsilon(u, r, D);
      assert.deepEqual([e.epsilon, e.collapsed, e.separable], [50, false, true], `constants ${gap} apart`);
    }
  }
  // Non-constant samples with a gap below the grid spacing are separable too.
  assert.equal(exampleEpsilon([1, 1.2, 1.4], [1.405, 1.6, 1.8], D).epsilon, 50);
  // Touching or overlapping samples are left to the grids: finite ε.
  const touching = exampleEpsilon([1, 1.2, 1.4], [1.4, 1.6, 1.8], D);
  assert.equal(touching.separable, false);
  assert.ok(touching.epsilon < 50);
  // Identical constants remain indistinguishable.
  assert.equal(exampleEpsilon([3, 3, 3], [3, 3, 3], D).epsilon, 0);
});

test('bins for N = 16, 64, 512: last edge ⌈ln(N − 1)⌉, H = 2/2^n', () => {
  const b16 = challengeBins(16);
  assert.equal(b16.lastEdge, 3);
  assert.deepEqual(b16.starts, [0, 0.5, 1, 1.5, 2, 2.5]);
  assert.deepEqual(b16.points, [1, 0.5, 0.25, 0.125, 0.0625, 0.03125]);
  const b64 = challengeBins(64);
  assert.equal(b64.lastEdge, 5);
  assert.equal(b64.starts.length, 10);
  assert.equal(b64.points[9], 2 / 2 ** 10);
  const b512 = challengeBins(512);
  assert.equal(b512.lastEdge, 7);
  assert.equal(b512.starts.length, 14);
  assert.equal(binPoints(0, b16), 1);
  assert.equal(binPoints(0.4999, b16), 1);
  assert.equal(binPoints(0.5, b16), 0.5);
  assert.equal(binPoints(2.99, b16), 0.03125);
  assert.equal(binPoints(3, b16), 0);
  assert.equal(binPoints(3, b64), 2 / 2 ** 7);
  assert.throws(() => challengeBins(1), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
});

test('finite-N bias kept: same distribution gives F well below 1; F falls as the distributions separate', () => {
  const N = 32;
  const S = 150;
  const rng = new Rng(7);
  const base = () => Array.from({ length: N }, () => Array.from({ length: S }, () => rng.normal()));
  const R = base();
  const U0 = base();
  const ones = Array(N).fill(1);
  const F = [0, 0.5, 1, 2, 4].map((shift) => challengeScore({ unlearnedPhi: U0.map((row) => row.map((v) => v + shift)), retrainedPhi: R, unlearnedRA: ones, unlearnedTA: ones, retrainedRA: ones, retrainedTA: ones }).aggregate);
  // The organisers' estimator at N = 32: identical distributions score F ≈ 0.1–0.25, not 1.
  assert.ok(F[0].F > 0.08 && F[0].F < 0.3, `F(same) = ${F[0].F}`);
  assert.ok(F[0].medianEpsilon > 0.8 && F[0].medianEpsilon < 2, `median ε = ${F[0].medianEpsilon}`);
  for (let k = 1; k < F.length; k++) assert.ok(F[k].F < F[k - 1].F, `F not decreasing: ${F.map((f) => f.F)}`);
  assert.ok(F[4].F < 0.01);
  close(F[0].maxResolvableEpsilon, Math.log(31 - 32 * D));
  assert.equal(F[0].lastBinEdge, 4);
});

test('bad shapes are rejected', () => {
  const ones = [1, 1];
  assert.throws(() => challengeScore({ unlearnedPhi: [[1], [2]], retrainedPhi: [[1]], unlearnedRA: ones, unlearnedTA: ones, retrainedRA: ones, retrainedTA: ones }), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
  assert.throws(() => challengeScore({ unlearnedPhi: [[1], [2, 3]], retrainedPhi: [[1], [2]], unlearnedRA: ones, unlearnedTA: ones, retrainedRA: ones, retrainedTA: ones }), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
});
