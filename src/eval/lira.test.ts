import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../engine/rng.js';
import { isUnlearnError } from '../errors.js';
import { fitShadowGaussians, lira, normalLogCdf, normalLogPdf, sameClassHeldOut } from './lira.js';
import { getMetric, listMetrics } from './registry.js';
import { auc } from './roc.js';
import { ulira } from './ulira.js';

const close = (a: number, b: number, tol: number) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('normal log-pdf and log-CDF against reference values, stable in the tails', () => {
  close(normalLogPdf(1, 0, 1), -0.5 - 0.5 * Math.log(2 * Math.PI), 1e-12);
  close(normalLogPdf(3, 1, 2), -0.5 - Math.log(2) - 0.5 * Math.log(2 * Math.PI), 1e-12);
  close(Math.exp(normalLogCdf(0)), 0.5, 1e-7);
  close(Math.exp(normalLogCdf(1.959963985)), 0.975, 1e-7);
  close(Math.exp(normalLogCdf(-1.959963985)), 0.025, 1e-8);
  close(normalLogCdf(-40), -804.608442013754, 1e-3); // log Φ(−40) (mpmath)
  assert.ok(Number.isFinite(normalLogCdf(-1e3)) && normalLogCdf(50) === 0);
});

/**
 * A synthetic world: pool of P examples; example x has out-mean m_x (spread widely, so a global
 * threshold is weak) and in-mean m_x + effect. Shadows: each example in exactly K/2 of K.
 */
function world(seed: number, P: number, K: number, effect: number) {
  const rng = new Rng(seed);
  const m = Array.from({ length: P }, () => 4 * rng.normal());
  const role = Array.from({ length: K }, () => new Int8Array(P));
  for (let x = 0; x < P; x++) {
    const perm = rng.permutation(K);
    for (let j = 0; j < K / 2; j++) role[perm[j]][x] = 1;
  }
  const phi = role.map((r) => Array.from(r, (inn, x) => m[x] + (inn ? effect : 0) + 0.5 * rng.normal()));
  /** φ of every example under a target model that trained on the first half of the pool, with a given effect. */
  const target = (targetEffect: number) => {
    const member = Array.from({ length: P }, (_, x) => (x < P / 2 ? 1 : 0));
    return { phi: m.map((mx, x) => mx + (member[x] ? targetEffect : 0) + 0.5 * rng.normal()), member };
  };
  return { shadows: { phi, role }, target, m };
}

test('LiRA recovers the ranking of leakage strengths and beats a global threshold', () => {
  const P = 600;
  const K = 16;
  const w = world(3, P, K, 2);
  const idx = Array.from({ length: P }, (_, x) => x);
  const aucs = [0, 0.5, 2].map((eff) => {
    const t = w.target(eff);
    return lira({ shadows: w.shadows, targetPhi: t.phi, targetExample: idx, isMember: t.member }).aggregate;
  });
  assert.ok(Math.abs(aucs[0].auc - 0.5) < 0.07, `no leakage: ${aucs[0].auc}`);
  assert.ok(aucs[0].auc < aucs[1].auc && aucs[1].auc < aucs[2].auc, aucs.map((a) => a.auc).join(' < '));
  assert.ok(aucs[2].auc > 0.95);
  assert.ok(aucs[2].tprAt1pct > 0.5 && aucs[2].tprAt1pct >= aucs[2].tprAt01pct);
  assert.equal(aucs[2].nPositive, P / 2);
  // A single global threshold on φ is much weaker here (per-example difficulty varies).
  const t = w.target(2);
  assert.ok(auc(t.phi, t.member) < aucs[2].auc - 0.2);
  // Offline and global-variance variants also rank the strong target high.
  const off = lira({ shadows: w.shadows, targetPhi: t.phi, targetExample: idx, isMember: t.member, mode: 'offline' }).aggregate;
  const glob = lira({ shadows: w.shadows, targetPhi: t.phi, targetExample: idx, isMember: t.member, globalVariance: true }).aggregate;
  assert.ok(off.auc > 0.85 && glob.auc > 0.95, `${off.auc} ${glob.auc}`);
  assert.equal(off.mode, 'offline');
  assert.equal(glob.globalVariance, true);
  // ROC curve thinned, monotone, from (0,0) to (1,1).
  const roc = aucs[2].roc;
  assert.ok(roc.fpr.length <= 260 && roc.fpr[0] === 0 && roc.fpr.at(-1) === 1 && roc.tpr.at(-1) === 1);
  for (let i = 1; i < roc.fpr.length; i++) assert.ok(roc.fpr[i] >= roc.fpr[i - 1] && roc.tpr[i] >= roc.tpr[i - 1]);
});

test('shadow Gaussians: medians, population std, global std, counts', () => {
  const g = fitShadowGaussians({ phi: [[1, 5], [3, 6], [2, 7]], role: [[1, 0], [1, 0], [0, -1]] });
  assert.deepEqual([g.muIn[0], g.nIn[0], g.muOut[0], g.nOut[0]], [2, 2, 2, 1]);
  close(g.sigmaIn[0], 1, 1e-12);
  assert.deepEqual([g.muOut[1], g.nOut[1], g.nIn[1]], [5.5, 2, 0]);
  close(g.globalSigmaOut, Math.sqrt(((2 - 13 / 3) ** 2 + (5 - 13 / 3) ** 2 + (6 - 13 / 3) ** 2) / 3), 1e-12);
  assert.throws(() => fitShadowGaussians({ phi: [], role: [] }), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
});

test('U-LiRA: an unlearning that leaves a trace is detected, one that matches retraining is not', () => {
  const S = 300;
  const K = 16;
  const N = 8;
  const rng = new Rng(11);
  const m = Array.from({ length: S }, () => 3 * rng.normal());
  const role = Array.from({ length: K }, () => new Int8Array(S));
  for (let x = 0; x < S; x++) {
    const perm = rng.permutation(K);
    for (let j = 0; j < K / 2; j++) role[perm[j]][x] = 1;
  }
  const run = (trace: number) => {
    const shadowPhi = role.map((r) => Array.from(r, (u, x) => m[x] + (u ? trace : 0) + 0.4 * rng.normal()));
    const unlearnedPhi = Array.from({ length: N }, () => m.map((mx) => mx + trace + 0.4 * rng.normal()));
    const retrainedPhi = Array.from({ length: N }, () => m.map((mx) => mx + 0.4 * rng.normal()));
    return ulira({ shadowPhi, shadowUnlearned: role, unlearnedPhi, retrainedPhi }).aggregate;
  };
  const leaky = run(1.5);
  const exact = run(0);
  assert.ok(leaky.auc > 0.9, `leaky ${leaky.auc}`);
  assert.ok(Math.abs(exact.auc - 0.5) < 0.05, `exact ${exact.auc}`);
  assert.equal(leaky.nPositive, N * S);
  assert.throws(() => ulira({ shadowPhi: [[1, 2]], shadowUnlearned: [[1, 0]], unlearnedPhi: [[1]], retrainedPhi: [[1, 2]] }), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
});

test('challenge score, LiRA and U-LiRA are registered metrics', () => {
  for (const id of ['challenge-score', 'lira', 'ulira', 'loss-mia']) assert.ok(listMetrics().includes(id), id);
  assert.equal(getMetric('lira').id, 'lira');
});

test('sameClassHeldOut: a class forget is contrasted with held-out examples of that class only', () => {
  const trainLabels = [0, 1, 2, 1, 0, 2];
  const testLabels = [2, 0, 1, 1, 2, 0, 1];
  assert.deepEqual([...sameClassHeldOut(trainLabels, [1, 3], testLabels)], [2, 3, 6], 'forget = class 1');
  assert.deepEqual([...sameClassHeldOut(trainLabels, [0, 2], testLabels)], [0, 1, 4, 5], 'classes 0 and 2');
  assert.deepEqual([...sameClassHeldOut(trainLabels, [0, 1, 2], testLabels)], [0, 1, 2, 3, 4, 5, 6], 'every class: the whole test set');
});
