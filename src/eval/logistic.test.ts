import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../engine/rng.js';
import { isUnlearnError } from '../errors.js';
import { fitLogistic, predictLogistic, sigmoid } from './logistic.js';

/** Synthetic data: x_j ~ N(mu_j, sd_j), y ~ Bernoulli(σ(b + w·x)). */
function synth(seed: number, n: number, b: number, w: number[], mu: number[], sd: number[]) {
  const rng = new Rng(seed);
  const X = w.map(() => new Float64Array(n));
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let t = b;
    for (let j = 0; j < w.length; j++) {
      X[j][i] = mu[j] + sd[j] * rng.normal();
      t += w[j] * X[j][i];
    }
    y[i] = rng.next() < sigmoid(t) ? 1 : 0;
  }
  return { X, y };
}

test('recovers known coefficients (one feature, original units)', () => {
  const { X, y } = synth(1, 20000, -0.5, [1.5], [1], [2]);
  const m = fitLogistic(X, y, { l2: 0 });
  assert.ok(m.converged);
  assert.ok(Math.abs(m.coef[0] - 1.5) < 0.08, `coef ${m.coef[0]}`);
  assert.ok(Math.abs(m.intercept + 0.5) < 0.08, `intercept ${m.intercept}`);
  // the default l2 = 1 barely matters at n = 20000
  const m1 = fitLogistic(X, y);
  assert.ok(Math.abs(m1.coef[0] - m.coef[0]) < 0.01);
});

test('recovers known coefficients (two features, different scales)', () => {
  const { X, y } = synth(2, 30000, 0.3, [-2, 0.05], [0, -10], [1, 20]);
  const m = fitLogistic(X, y, { l2: 0 });
  assert.ok(m.converged);
  assert.ok(Math.abs(m.coef[0] + 2) < 0.1, `coef0 ${m.coef[0]}`);
  assert.ok(Math.abs(m.coef[1] - 0.05) < 0.005, `coef1 ${m.coef[1]}`);
  assert.ok(Math.abs(m.intercept - 0.3) < 0.1, `intercept ${m.intercept}`);
  const p = predictLogistic(m, X);
  assert.equal(p.length, 30000);
  assert.ok(p.every((v) => v >= 0 && v <= 1));
});

test('gradient is zero at the optimum (hand check of the penalised score equations)', () => {
  const x = [0, 1, 2, 3, 4, 5];
  const y = [0, 0, 1, 0, 1, 1];
  const l2 = 0.5;
  const m = fitLogistic([x], y, { l2 });
  const p = predictLogistic(m, [x]);
  // on the standardised scale: Σ(p − y) = 0 and Σ(p − y)·z + l2·w_std = 0
  let g0 = 0;
  let g1 = 0;
  for (let i = 0; i < x.length; i++) {
    const z = (x[i] - m.mean[0]) / m.scale[0];
    g0 += p[i] - y[i];
    g1 += (p[i] - y[i]) * z;
  }
  g1 += l2 * m.coef[0] * m.scale[0];
  assert.ok(Math.abs(g0) < 1e-9 && Math.abs(g1) < 1e-9, `${g0} ${g1}`);
});

test('separable data stays finite with l2 > 0; stronger l2 shrinks the weight', () => {
  const x = [1, 2, 3, 4, 5, 6];
  const y = [0, 0, 0, 1, 1, 1];
  const a = fitLogistic([x], y, { l2: 0.1 });
  const b = fitLogistic([x], y, { l2: 10 });
  assert.ok(Number.isFinite(a.coef[0]) && a.coef[0] > b.coef[0] && b.coef[0] > 0);
  // symmetric data: the decision boundary sits at x = 3.5
  assert.ok(Math.abs(-a.intercept / a.coef[0] - 3.5) < 1e-9);
});

test('deterministic, and the constant feature does not break it', () => {
  const { X, y } = synth(3, 500, 0, [1], [0], [1]);
  const a = fitLogistic(X, y);
  const b = fitLogistic(X, y);
  assert.deepEqual(a, b);
  const c = fitLogistic([X[0], new Float64Array(500).fill(7)], y);
  assert.ok(Math.abs(c.coef[1]) < 1e-9);
});

test('errors', () => {
  const is = (code: string) => (e: unknown) => isUnlearnError(e) && e.code === code;
  assert.throws(() => fitLogistic([[1, 2, 3]], [1, 1, 1]), is('INVALID_PARAMS'));
  assert.throws(() => fitLogistic([[1, 2, 3]], [1, 0]), is('INVALID_PARAMS'));
  assert.throws(() => fitLogistic([[1, 2, 3]], [1, 0, 2]), is('INVALID_PARAMS'));
  assert.throws(() => fitLogistic([], [1, 0]), is('INVALID_PARAMS'));
  assert.throws(() => fitLogistic([[1, NaN, 3]], [1, 0, 1]), is('NUMERIC_ERROR'));
  assert.throws(() => fitLogistic([[1, 2, 3]], [1, 0, 1], { l2: -1 }), is('INVALID_PARAMS'));
  const m = fitLogistic([[1, 2, 3, 4]], [0, 1, 0, 1]);
  assert.throws(() => predictLogistic(m, [[1], [2]]), is('INVALID_PARAMS'));
});
