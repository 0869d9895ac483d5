import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../engine/rng.js';
import { isUnlearnError } from '../errors.js';
import { auc, rocCurve, tprAtFpr } from './roc.js';

const close = (a: number, b: number, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps, `${a} vs ${b}`);

// Hand-computed, no ties. Sorted by score: + + − + − −
const S1 = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];
const M1 = [1, 1, 0, 1, 0, 0];

test('rocCurve without ties: one point per example, from (0,0) to (1,1)', () => {
  const r = rocCurve(S1, M1);
  assert.deepEqual(Array.from(r.fpr), [0, 0, 0, 1 / 3, 1 / 3, 2 / 3, 1]);
  assert.deepEqual(Array.from(r.tpr), [0, 1 / 3, 2 / 3, 2 / 3, 1, 1, 1]);
  assert.deepEqual(Array.from(r.thresholds), [Infinity, ...S1]);
  assert.equal(r.nPositive, 3);
  assert.equal(r.nNegative, 3);
});

test('auc without ties = fraction of (member, non-member) pairs ordered correctly', () => {
  close(auc(S1, M1), 8 / 9);
  // booleans work the same
  close(auc(S1, M1.map((m) => m === 1)), 8 / 9);
  // perfect, reversed
  close(auc([3, 2, 1, 0], [1, 1, 0, 0]), 1);
  close(auc([3, 2, 1, 0], [0, 0, 1, 1]), 0);
});

test('ties: a tied group is one diagonal ROC step and counts 1/2 in the AUC', () => {
  // scores 3(+) 2(+) 2(−) 1(−)
  const s = [2, 3, 1, 2];
  const m = [0, 1, 0, 1];
  const r = rocCurve(s, m);
  assert.deepEqual(Array.from(r.fpr), [0, 0, 0.5, 1]);
  assert.deepEqual(Array.from(r.tpr), [0, 0.5, 1, 1]);
  assert.deepEqual(Array.from(r.thresholds), [Infinity, 3, 2, 1]);
  // pairs: (3 vs 2) 1, (3 vs 1) 1, (2 vs 2) 1/2, (2 vs 1) 1  → 3.5 / 4
  close(auc(s, m), 0.875);
  // all tied → chance
  close(auc([5, 5, 5, 5, 5], [1, 0, 1, 0, 0]), 0.5);
  const flat = rocCurve([5, 5, 5], [1, 0, 0]);
  assert.deepEqual(Array.from(flat.fpr), [0, 1]);
  assert.deepEqual(Array.from(flat.tpr), [0, 1]);
});

test('auc equals the trapezoidal area under rocCurve and brute-force pair counting (random, many ties)', () => {
  const rng = new Rng(7);
  for (let rep = 0; rep < 20; rep++) {
    const n = 5 + rng.int(60);
    const s = Array.from({ length: n }, () => rng.int(6)); // heavy ties
    const m = Array.from({ length: n }, (_, i) => (i < 2 ? i : rng.int(2))); // both classes
    let pairs = 0;
    let wins = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++)
        if (m[i] === 1 && m[j] === 0) {
          pairs++;
          wins += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
        }
    const r = rocCurve(s, m);
    let trap = 0;
    for (let k = 1; k < r.fpr.length; k++) trap += ((r.fpr[k] - r.fpr[k - 1]) * (r.tpr[k] + r.tpr[k - 1])) / 2;
    close(auc(s, m), wins / pairs, 1e-12);
    close(trap, wins / pairs, 1e-12);
  }
});

test('tprAtFpr: best TPR among thresholds with FPR <= target', () => {
  close(tprAtFpr(S1, M1, 0), 2 / 3);
  close(tprAtFpr(S1, M1, 0.2), 2 / 3);
  close(tprAtFpr(S1, M1, 1 / 3), 1); // FPR exactly at the target is allowed
  close(tprAtFpr(S1, M1, 1), 1);
  // top score is a non-member: nothing at FPR 0 but the origin
  close(tprAtFpr([9, 8, 7, 6], [0, 1, 1, 0], 0), 0);
  close(tprAtFpr([9, 8, 7, 6], [0, 1, 1, 0], 0.5), 1);
  // ties cannot be split: the tied group at 2 has FPR 0.5
  close(tprAtFpr([3, 2, 2, 1], [1, 1, 0, 0], 0.49), 0.5);
  // low FPR on a large case: 1000 negatives, 1% budget = 10 false positives
  const s: number[] = [];
  const m: number[] = [];
  for (let i = 0; i < 1000; i++) {
    s.push(i); // negatives 0..999
    m.push(0);
  }
  for (let i = 0; i < 100; i++) {
    s.push(989.5 + (i < 30 ? 20 : -20)); // 30 positives above all negatives, 70 among them
    m.push(1);
  }
  // 30 positives at 1009.5 (above every negative), 70 at 969.5 (30 negatives, 970..999, above them)
  close(tprAtFpr(s, m, 0.001), 0.3); // ≤ 1 FP: the 30 top positives
  close(tprAtFpr(s, m, 0.01), 0.3); // ≤ 10 FPs: still only the 30
  close(tprAtFpr(s, m, 0.029), 0.3); // ≤ 29 FPs: not enough to reach 969.5
  close(tprAtFpr(s, m, 0.03), 1); // 30 FPs: threshold 969.5 takes all 100 positives
});

test('errors: length mismatch, one class, NaN, bad labels, bad target', () => {
  const is = (code: string) => (e: unknown) => isUnlearnError(e) && e.code === code;
  assert.throws(() => auc([1, 2], [1]), is('INVALID_PARAMS'));
  assert.throws(() => auc([1, 2], [1, 1]), is('INVALID_PARAMS'));
  assert.throws(() => rocCurve([], []), is('INVALID_PARAMS'));
  assert.throws(() => auc([1, NaN], [1, 0]), is('NUMERIC_ERROR'));
  assert.throws(() => auc([1, 2], [1, 2]), is('INVALID_PARAMS'));
  assert.throws(() => tprAtFpr([1, 2], [1, 0], 1.5), is('INVALID_PARAMS'));
  assert.throws(() => tprAtFpr([1, 2], [1, 0], NaN), is('INVALID_PARAMS'));
});
