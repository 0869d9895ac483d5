import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { DataSplit } from '../../data/dataset.js';
import { loadDataset } from '../../data/registry.js';
import { isUnlearnError } from '../../errors.js';
import { designFrom } from './linalg.js';
import { fitRidge, removeRidge, ridgePredict, type RidgeData } from './ridge.js';

let split: DataSplit;
let data: RidgeData;
before(async () => {
  split = await loadDataset('cps-wages');
  const n = split.train.labels.length;
  data = { X: designFrom(split.train, Int32Array.from({ length: n }, (_, i) => i), true), y: split.train.targets!, active: new Uint8Array(n).fill(1) };
});

const maxDiff = (a: Float64Array, b: Float64Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

test('ridge on cps-wages: a sensible wage equation (education raises ln wage), test RMSE below the mean predictor', () => {
  const m = fitRidge(data, { lambda: 1 });
  assert.ok(m.w[0] > 0.3 && m.w[0] < 1.5, `education/10 coefficient ${m.w[0]}`); // ≈ 7% per year in the literature
  const rmse = (f: (i: number) => number) => Math.sqrt(split.test.targets!.reduce((s, y, i) => s + (f(i) - y) ** 2, 0) / split.test.labels.length);
  const mean = split.train.targets!.reduce((a, b) => a + b, 0) / split.train.labels.length;
  const model = rmse((i) => ridgePredict(m, split.test.features.subarray(i * 15, i * 15 + 15)));
  assert.ok(model < 0.9 * rmse(() => mean), `RMSE ${model} vs mean predictor ${rmse(() => mean)}`);
});

test('exact removal (Sherman–Morrison) equals a fresh fit on the remaining data to 1e-8, singly and in a batch', () => {
  let m = fitRidge(data, { lambda: 1 });
  let active = data.active;
  for (const rem of [[0], [7], [100, 101, 102, 250, 300], [426]]) {
    const o = removeRidge(m, { ...data, active }, rem);
    assert.equal(o.recomputed, false);
    assert.equal(o.downdates, rem.length);
    (m = o.model), (active = o.active);
    const fresh = fitRidge({ ...data, active }, { lambda: 1 });
    assert.ok(maxDiff(m.w, fresh.w) <= 1e-8, `max |w − w_fresh| = ${maxDiff(m.w, fresh.w)}`);
    assert.ok(maxDiff(m.Ainv, fresh.Ainv) <= 1e-8);
  }
});

test('safeguard: an ill-conditioned downdate (leverage ≈ 1) recomputes the inverse and stays exact', (t) => {
  // 40 people of race ≠ 'other' plus one of race 'other' (feature 7), λ = 1e-7: that person is the
  // only one in the direction of feature 7, so the fit interpolates them: leverage h ≈ 1, 1 − h ≈ 0.
  const f = split.train.shape[0];
  const race = (i: number) => split.train.features[i * f + 7];
  const active = new Uint8Array(data.X.n);
  let others = 0;
  for (let i = 0; i < data.X.n && others < 40; i++) if (race(i) === 0) (active[i] = 1), others++;
  const lone = Array.from({ length: data.X.n }, (_, i) => i).find((i) => race(i) === 1)!;
  active[lone] = 1;
  const small = { ...data, active };
  const m = fitRidge(small, { lambda: 1e-7 });
  const o = removeRidge(m, small, [lone]);
  assert.equal(o.recomputed, true);
  assert.ok(o.minPivot < 1e-6);
  const fresh = fitRidge({ ...data, active: o.active }, { lambda: 1e-7 });
  assert.ok(maxDiff(o.model.w, fresh.w) <= 1e-8);
  // Without the safeguard (threshold ~0) the downdate alone misses the fresh fit by more than 1e-8.
  const unsafe = removeRidge({ ...m, params: { ...m.params, minPivot: 1e-300 } }, small, [lone]);
  assert.ok(maxDiff(unsafe.model.w, fresh.w) > 1e-8, 'the unguarded downdate should lose precision here');
  t.diagnostic(`1 − h = ${o.minPivot.toExponential(2)}; unguarded downdate error ${maxDiff(unsafe.model.w, fresh.w).toExponential(2)}, recompute error ${maxDiff(o.model.w, fresh.w).toExponential(2)}`);
});

test('ridge bad input: λ ≤ 0, NaN targets, removing twice', () => {
  assert.throws(() => fitRidge(data, { lambda: 0 }), (e) => isUnlearnError(e, 'INVALID_PARAMS') && /lambda/.test(e.message));
  const y = Float64Array.from(data.y);
  y[3] = NaN;
  assert.throws(() => fitRidge({ ...data, y }, {}), (e) => isUnlearnError(e, 'DATASET_INVALID'));
  const m = fitRidge(data, {});
  const o = removeRidge(m, data, [2]);
  assert.throws(() => removeRidge(o.model, { ...data, active: o.active }, [2]), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
});
