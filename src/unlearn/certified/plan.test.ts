import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { DataSplit } from '../../data/dataset.js';
import { initEngine } from '../../engine/backend.js';
import { isUnlearnError } from '../../errors.js';
import { smallDigits } from '../../testing/fixtures.js';
import { designFrom } from './linalg.js';
import { trainCertifiedLogistic, type CertifiedData } from './logistic.js';
import { planCertified } from './plan.js';
import { removeCertified } from './removal.js';
import { pooledDigits } from './testData.js';

let split: DataSplit;
before(async () => {
  await initEngine();
  const s = await smallDigits(300, 200);
  split = { ...s, train: pooledDigits(s.train, true), test: pooledDigits(s.test, true) };
});

test('the plan picks the most accurate feasible λ, its σ fits K removals, and K real removals then never retrain', () => {
  const K = 20;
  const p = planCertified(split, { removals: K, epsilon: 1, delta: 1e-5, lambdas: [1e-3, 1e-2, 1e-1], probes: 4, seed: 3 });
  const usable = p.candidates.filter((c) => !c.failed);
  assert.ok(usable.length >= 1);
  assert.equal(p.chosen.validationAccuracy, Math.max(...usable.map((c) => c.validationAccuracy)));
  for (const c of usable) {
    // σ fits the budget by construction: r₀ + S·β̄·margin ≤ σε/c.
    assert.ok(c.trainResidual + p.steps * c.meanStepBound * p.margin <= c.budget * (1 + 1e-9), `λ = ${c.lambda}`);
  }
  assert.equal(p.check.retrains, 0);
  assert.ok(p.check.projectedFraction < 1, `projected ${p.check.projectedFraction}`);
  // Today's defaults (λ = 1e-3, σ = 1) hold fewer than K single removals on this data.
  assert.ok(p.defaults && p.defaults.stepsThatFit < K, `defaults fit ${p.defaults?.stepsThatFit}`);

  // Independent check: train with the plan's (λ, σ) and remove K random rows one at a time under the real budget.
  const n = split.train.labels.length;
  const all = Int32Array.from({ length: n }, (_, i) => i);
  let data: CertifiedData = { X: designFrom(split.train, all, true), labels: split.train.labels, numClasses: 2, active: new Uint8Array(n).fill(1) };
  let model = trainCertifiedLogistic(data, { epsilon: 1, delta: 1e-5, lambda: p.chosen.lambda, sigma: p.final.sigma }, 11);
  for (let j = 0; j < K; j++) {
    const o = removeCertified(model, data, [(j * 37) % n], j);
    assert.equal(o.retrained, false, `removal ${j + 1} of ${K} retrained (used ${model.budget.used} of ${model.budget.total})`);
    model = o.model;
    data = { ...data, active: o.active };
  }
});

test('more expected removals need more noise at the same λ', () => {
  const few = planCertified(split, { removals: 5, epsilon: 1, delta: 1e-5, lambdas: [1e-1], probes: 3 });
  const many = planCertified(split, { removals: 100, epsilon: 1, delta: 1e-5, lambdas: [1e-1], probes: 3 });
  assert.ok(many.chosen.sigma > 5 * few.chosen.sigma, `σ ${few.chosen.sigma} → ${many.chosen.sigma}`);
  // A batch of 5 per step costs more budget than 5 single steps.
  const batched = planCertified(split, { removals: 100, batchSize: 5, epsilon: 1, delta: 1e-5, lambdas: [1e-1], probes: 3 });
  assert.equal(batched.steps, 20);
  assert.ok(batched.chosen.meanStepBound > 5 * many.chosen.meanStepBound);
});

test('bad plan parameters are INVALID_PARAMS', () => {
  const bad = [{ removals: 0 }, { removals: 2.5 }, { epsilon: 0 }, { delta: 1 }, { lambdas: [] }, { lambdas: [-1] }, { batchSize: 0 }, { margin: 0.5 }];
  for (const b of bad) {
    assert.throws(() => planCertified(split, { removals: 10, epsilon: 1, delta: 1e-5, ...b }), (e) => isUnlearnError(e, 'INVALID_PARAMS'), JSON.stringify(b));
  }
});
