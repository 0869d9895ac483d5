/** The certified rows of the demo comparison (`unlearn demo`). */
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { hashIds, type DataSplit } from '../data/dataset.js';
import { loadDataset } from '../data/registry.js';
import { row, withGap, type Comparison } from './compare.js';
import { evaluatePredictor } from '../eval/evaluate.js';
import { selectForgetSet } from '../data/forgetSet.js';
import { certifiedPredictor, fitCertified, removeFromCertified } from '../unlearn/certified/format.js';
import type { CertifiedLogistic } from '../unlearn/certified/logistic.js';
import { logregCertificate, saveCertified, type Certificate, type CertifiedModel } from '../unlearn/certified/store.js';

/**
 * Demo settings: certified L2 logistic regression on the emails hashed to 1,024 features (the
 * split's train/test ids are those of the demo's 16,384-feature split for the same seed), with
 * ε = 1, δ = 1e-5, λ = 3e-3, σ = 10. Measured on the demo's sender (67 emails, one batch): at
 * λ = 1e-3, σ = 1 (TA 95.3%) the residual bound 1.08 exceeds the budget σε/c = 0.20 and the removal
 * becomes a retrain; at λ = 3e-3, σ = 10 the bound 0.72 fits the budget 2.05 (TA 89.1%). The demo
 * shows the certified step itself, at that price in accuracy.
 */
export const DEMO_CERTIFIED = { dim: 1024, params: { epsilon: 1, delta: 1e-5, lambda: 3e-3, sigma: 10 } };

async function save(dir: string, model: CertifiedModel, split: DataSplit, ids: string[], seed: number, method: { id: string; guarantee: 'exact' | 'certified' }, seconds: number, parent: string | null, removed: string[], bound: number, retrained: boolean) {
  return saveCertified(dir, model, {
    dataset: { name: split.name, options: split.options, fingerprint: split.fingerprint },
    lineage: { trainIds: ids, trainIdsSha256: hashIds(ids), numExamples: ids.length, numSubjects: new Set(ids).size },
    seed,
    parent,
    method: { ...method, params: { ...model.params } },
    ...(removed.length && { removed: { ids: removed, idsSha256: hashIds(removed), subjects: [], request: { ids: removed } } }),
    timings: { wallSeconds: seconds },
    metrics: {},
    certificate: logregCertificate(model as CertifiedLogistic, bound, retrained),
    backend: tf.getBackend(),
    createdAt: new Date().toISOString(),
  });
}

/**
 * Train the demo's certified model on all training emails, remove the forget set (`forgetIds`) in
 * one Newton step (or a budget-forced retrain), and train the honest reference: the same certified
 * model class retrained exactly on the retain set (same recipe and noise seed). Appends two rows to
 * `comparison`: `certified-retrain` (guarantee exact; its gaps against the network's `retrain`
 * row, i.e. the price of the model class) and `certified` (its gaps and cost against
 * `certified-retrain`). Models are saved under `<dir>/certified-original`, `certified`,
 * `certified-retrain`. Returns lines for the report.
 */
export async function appendCertifiedRows(comparison: Comparison, o: { seed: number; forgetIds: string[]; dir: string; log?: (line: string) => void }): Promise<string[]> {
  const split = await loadDataset('emails', { seed: o.seed, dim: DEMO_CERTIFIED.dim });
  const all = Int32Array.from({ length: split.train.labels.length }, (_, i) => i);
  const fs = selectForgetSet(split.train, split.train.ids, { ids: o.forgetIds });
  const p = DEMO_CERTIFIED.params;
  let t = performance.now();
  const original = fitCertified(split, all, 'logreg', p, o.seed) as CertifiedLogistic;
  const trainSeconds = (performance.now() - t) / 1000;
  const om = await save(join(o.dir, 'certified-original'), original, split, [...split.train.ids], o.seed, { id: 'certified-train', guarantee: 'certified' }, trainSeconds, null, [], 0, false);
  o.log?.(`trained the certified logistic regression (${DEMO_CERTIFIED.dim} hashed features) in ${trainSeconds.toFixed(1)} s (not counted in its row)`);
  const r = removeFromCertified(original, split, all, fs.forgetIdx, o.seed);
  const retainIds = Array.from(fs.retainIdx, (i) => split.train.ids[i]);
  const um = await save(join(o.dir, 'certified'), r.model, split, retainIds, o.seed, { id: r.methodId, guarantee: 'certified' }, r.seconds, om.modelHash, fs.forgetIds, r.certificate.residualBound, r.certificate.retrained);
  t = performance.now();
  const reference = fitCertified(split, fs.retainIdx, 'logreg', p, o.seed);
  const refSeconds = (performance.now() - t) / 1000;
  const rm = await save(join(o.dir, 'certified-retrain'), reference, split, retainIds, o.seed, { id: 'certified-train', guarantee: 'exact' }, refSeconds, null, [], 0, false);
  const evU = evaluatePredictor(certifiedPredictor(r.model), split, fs, o.seed);
  const evR = evaluatePredictor(certifiedPredictor(reference), split, fs, o.seed);
  const netRetrain = comparison.rows.find((x) => x.method === 'retrain')!;
  const refRaw = row('certified-retrain', 'exact', evR, refSeconds, rm.modelHash, { ...p, dim: DEMO_CERTIFIED.dim });
  const c: Certificate = r.certificate;
  const uRaw = row('certified', 'certified', evU, r.seconds, um.modelHash, { ...p, dim: DEMO_CERTIFIED.dim, step: r.methodId, residualBound: c.residualBound, budgetLeft: c.budget?.left, retrained: c.retrained });
  comparison.rows.push(withGap(refRaw, netRetrain), withGap(uRaw, refRaw));
  comparison.evaluations['certified-retrain'] = evR;
  comparison.evaluations.certified = evU;
  return [
    `\`certified\`: L2 logistic regression (ε = ${p.epsilon}, δ = ${p.delta}, λ = ${p.lambda}, σ = ${p.sigma}) on the same emails hashed to ${DEMO_CERTIFIED.dim} features, trained with loss perturbation; the sender's ${fs.forgetIdx.length} emails removed in one step. ${r.notes.join(' ')}`,
    '`certified` Δ columns and cost are against `certified-retrain` — the same certified model class retrained exactly on the retain set with the same noise seed — not against the network\'s `retrain`; `certified-retrain`\'s own Δ columns are against the network\'s `retrain` (the price of the linear model class).',
  ];
}
