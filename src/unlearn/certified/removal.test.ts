import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initEngine } from '../../engine/backend.js';
import { isUnlearnError } from '../../errors.js';
import { smallDigits } from '../../testing/fixtures.js';
import { designFrom, norm } from './linalg.js';
import { gradientNorm, noiseConstant, noiseSeedFor, trainCertifiedLogistic, type CertifiedData, type CertifiedLogistic } from './logistic.js';
import { removeCertified } from './removal.js';
import { guaranteeOf, logregCertificate } from './store.js';
import { pooledDigits } from './testData.js';

let binary: CertifiedData;
let multi: CertifiedData;
const PARAMS = { lambda: 1e-2, sigma: 1, epsilon: 1, delta: 1e-5 };

before(async () => {
  await initEngine();
  const split = await smallDigits(500, 10);
  const all = Int32Array.from({ length: 500 }, (_, i) => i);
  const b = pooledDigits(split.train, true);
  binary = { X: designFrom(b, all, true), labels: b.labels, numClasses: 2, active: new Uint8Array(500).fill(1) };
  const m = pooledDigits(split.train, false);
  multi = { X: designFrom(m, all, true), labels: m.labels, numClasses: 10, active: new Uint8Array(500).fill(1) };
});

const relDist = (a: Float64Array, b: Float64Array) => norm(a.map((x, i) => x - b[i])) / norm(b);

test('budget constants: c = √(2 ln(1.5/δ)), total = σε/c; training converges to the tolerance', () => {
  assert.ok(Math.abs(noiseConstant(1e-5) - Math.sqrt(2 * Math.log(1.5e5))) < 1e-12);
  const m = trainCertifiedLogistic(binary, PARAMS, 0);
  assert.ok(Math.abs(m.budget.total - 1 / noiseConstant(1e-5)) < 1e-12);
  assert.ok(m.trainResidual <= 1e-8, `train residual ${m.trainResidual}`);
  assert.ok(Math.abs(gradientNorm(m, binary) - m.trainResidual) < 1e-12);
  assert.equal(m.budget.used, m.trainResidual);
  assert.ok(m.rowNormMax <= Math.SQRT2 + 1e-6); // unit-norm features + bias column
});

test('Newton removal: close to the exact minimiser with the same b, residual never above the bound', (t) => {
  let model = trainCertifiedLogistic(binary, { ...PARAMS, epsilon: 1e6 }, 0); // huge ε: no retrain in this test
  let active = binary.active;
  const steps: Array<number[]> = [[3], [17], [40, 41, 42, 43], [99]]; // single removals and a batch of 4 in one step
  for (const rem of steps) {
    const o = removeCertified(model, { ...binary, active }, rem, 0);
    assert.equal(o.retrained, false);
    assert.ok(o.bound <= o.corollary1 + 1e-15, 'refined bound ≤ Corollary 1');
    model = o.model;
    active = o.active;
    const data = { ...binary, active };
    const measured = gradientNorm(model, data);
    assert.ok(measured <= model.budget.used, `measured residual ${measured} > summed bound ${model.budget.used}`);
    // Exact minimiser on the remaining data with the same noise b (same seed, first training).
    const exact = trainCertifiedLogistic(data, { ...PARAMS, epsilon: 1e6 }, 0);
    assert.equal(exact.noiseSeed, model.noiseSeed);
    const nRemain = active.reduce((a, x) => a + x, 0);
    // Strong convexity (modulus λ·n'): ‖w⁻ − w*‖ ≤ (‖∇J(w⁻)‖ + ‖∇J(w*)‖)/(λ n') ≤ (used + residual*)/(λ n').
    const tol = (model.budget.used + exact.trainResidual) / (PARAMS.lambda * nRemain);
    const dist = norm(model.W.map((x, i) => x - exact.W[i]));
    t.diagnostic(`removed ${rem.length}: ‖w⁻−w*‖/‖w*‖ = ${relDist(model.W, exact.W).toExponential(2)}, measured residual ${measured.toExponential(2)} ≤ bound ${model.budget.used.toExponential(2)}`);
    assert.ok(dist <= tol, `‖w⁻ − w*‖ = ${dist} above the bound-implied ${tol}`);
    assert.ok(relDist(model.W, exact.W) < 0.05);
  }
  assert.equal(model.budget.removals, 4);
});

test('the budget forces a retrain (fresh noise) at exactly the removal whose bound would exceed σε/c', () => {
  const seq = [5, 6, 7, 8, 9];
  // Record the bounds with a budget that never runs out (ε only sets the budget, not the model).
  const bounds: number[] = [];
  let m: CertifiedLogistic = trainCertifiedLogistic(binary, { ...PARAMS, epsilon: 1e6 }, 0);
  let act = binary.active;
  for (const i of seq) {
    const o = removeCertified(m, { ...binary, active: act }, [i], 0);
    bounds.push(o.bound);
    (m = o.model), (act = o.active);
  }
  const used3 = m.trainResidual + bounds[0] + bounds[1] + bounds[2];
  const c = noiseConstant(PARAMS.delta);
  const epsilon = ((used3 + bounds[3] / 2) * c) / PARAMS.sigma; // budget runs out in the middle of removal 4
  m = trainCertifiedLogistic(binary, { ...PARAMS, epsilon }, 0);
  act = binary.active;
  const retrained: boolean[] = [];
  for (const i of seq.slice(0, 4)) {
    const o = removeCertified(m, { ...binary, active: act }, [i], 0);
    retrained.push(o.retrained);
    (m = o.model), (act = o.active);
  }
  assert.deepEqual(retrained, [false, false, false, true]);
  assert.equal(m.budget.retrains, 1);
  assert.equal(m.budget.removals, 0);
  assert.equal(m.budget.used, m.trainResidual);
  const first = trainCertifiedLogistic(binary, PARAMS, 0);
  assert.notEqual(m.noiseSeed, first.noiseSeed);
  assert.ok(gradientNorm(m, { ...binary, active: act }) <= 1e-8); // an exact minimiser on the remaining data
});

test('σ = 0: the certificate says exact, and every removal retrains to the exact minimiser without the row', () => {
  const m0 = trainCertifiedLogistic(binary, { ...PARAMS, sigma: 0 }, 0);
  assert.equal(guaranteeOf(m0), 'exact');
  const c0 = logregCertificate(m0, 0, false);
  assert.equal(c0.guarantee, 'exact');
  assert.equal(c0.epsilon, undefined);
  assert.equal(guaranteeOf(trainCertifiedLogistic(binary, PARAMS, 0)), 'certified');
  const o = removeCertified(m0, binary, [3], 0);
  assert.equal(o.retrained, true);
  assert.ok(gradientNorm(o.model, { ...binary, active: o.active }) <= 1e-8);
});

test('one-vs-rest (10 classes): the joint bound (ℓ2 over heads) covers the joint residual', () => {
  const m0 = trainCertifiedLogistic(multi, { ...PARAMS, epsilon: 1e6 }, 0);
  assert.equal(m0.heads, 10);
  const o = removeCertified(m0, multi, [1, 2], 0);
  assert.ok(gradientNorm(o.model, { ...multi, active: o.active }) <= o.model.budget.used);
  assert.ok(Math.abs(o.bound - Math.sqrt(o.headBounds.reduce((a, b) => a + b * b, 0))) < 1e-15);
});

test('bad input: λ ≤ 0, δ ≥ 1, removing a removed row, a singular Hessian, NaN features', async () => {
  assert.throws(() => trainCertifiedLogistic(binary, { lambda: 0 }, 0), (e) => isUnlearnError(e, 'INVALID_PARAMS') && /lambda/.test(e.message));
  assert.throws(() => trainCertifiedLogistic(binary, { lambda: -1 }, 0), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
  assert.throws(() => trainCertifiedLogistic(binary, { delta: 1 }, 0), (e) => isUnlearnError(e, 'INVALID_PARAMS') && /delta/.test(e.message));
  const m = trainCertifiedLogistic(binary, PARAMS, 0);
  const o = removeCertified(m, binary, [0], 0);
  assert.throws(() => removeCertified(o.model, { ...binary, active: o.active }, [0], 0), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
  // Pixel (0,0) is 0 in every digit: with λ ≈ 0 its Hessian row is ≈ 0.
  assert.throws(() => trainCertifiedLogistic({ ...binary, active: binary.active }, { lambda: 1e-30 }, 0), (e) => isUnlearnError(e, 'NUMERIC_ERROR') && /singular/.test(e.message));
  const split = await smallDigits(20, 5);
  const bad = { ...split.train, features: Float32Array.from(split.train.features) };
  bad.features[784 * 3 + 100] = NaN;
  assert.throws(() => designFrom(bad, Int32Array.from({ length: 20 }, (_, i) => i), true), (e) => isUnlearnError(e, 'DATASET_INVALID') && e.message.includes(bad.ids[3]));
});

test('UNLEARN_NOISE_KEY changes the noise seed (b is not a function of the public seed alone)', () => {
  const saved = process.env.UNLEARN_NOISE_KEY;
  try {
    delete process.env.UNLEARN_NOISE_KEY;
    const plain = noiseSeedFor(0, 0);
    process.env.UNLEARN_NOISE_KEY = 'operator-secret';
    assert.notEqual(noiseSeedFor(0, 0), plain);
    assert.equal(noiseSeedFor(0, 0), noiseSeedFor(0, 0));
  } finally {
    if (saved === undefined) delete process.env.UNLEARN_NOISE_KEY;
    else process.env.UNLEARN_NOISE_KEY = saved;
  }
});
