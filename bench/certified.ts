/**
 * Certified removal benchmark (Guo et al., ICML 2020): per single removal, the Newton step vs
 * retraining the same certified model from scratch, side by side in one run.
 *
 *   npm run bench:certified                 # emails (hashed, d = 1024 + bias) and digits features
 *   npm run bench:certified -- --removals 30 --budget-cap 300
 *
 * For each data set and λ ∈ {1e-3, 1e-2}: train the certified model (ε = 1, δ = 1e-5, σ = 1) and
 * the unperturbed one (σ = 0); remove `removals` random training examples one at a time (Newton
 * steps; a step whose bound would exceed the budget retrains instead and is counted apart);
 * retrain the certified model exactly on the remaining data with the same noise b (the minimiser
 * the Newton steps approximate), and report time per removal vs retrain time, the relative
 * parameter distance ‖w⁻ − w*‖/‖w*‖, test accuracy before/after, and how many single removals the
 * budget allows (continuing until the budget forces a retrain, at most `budget-cap` removals;
 * beyond the cap, an estimate from the mean bound).
 *
 * "digits features": the L2-normalised penultimate features (64 ReLU units) of an MLP trained on
 * the digits train split — the paper's head-on-frozen-features setting; the guarantee covers the
 * head only.
 */
import { hashIds } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/registry.js';
import { initEngine } from '../src/engine/backend.js';
import { Rng } from '../src/engine/rng.js';
import { accuracyOf } from '../src/train/predict.js';
import { fitFromScratch, specFor } from '../src/train/fit.js';
import { certifiedPredictor, featurise } from '../src/unlearn/certified/format.js';
import { penultimateExtractor } from '../src/unlearn/certified/head.js';
import { designFrom, norm } from '../src/unlearn/certified/linalg.js';
import { trainCertifiedLogistic, type CertifiedData, type CertifiedLogistic } from '../src/unlearn/certified/logistic.js';
import { removeCertified } from '../src/unlearn/certified/removal.js';
import type { DataSplit } from '../src/data/dataset.js';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const REMOVALS = arg('removals', 20);
const BUDGET_CAP = arg('budget-cap', 200);
const PARAMS = { epsilon: 1, delta: 1e-5, sigma: 1 };
const LAMBDAS = [1e-3, 1e-2];

interface Result {
  data: string;
  lambda: number;
  retrainsInRun: number;
  n: number;
  d: number;
  heads: number;
  trainSeconds: number;
  removalMs: number;
  retrainSeconds: number;
  speedup: number;
  relDist: number;
  taUnperturbed: number;
  taBefore: number;
  taAfter: number;
  taRetrained: number;
  budgetRemovals: string;
  meanBound: number;
  budget: number;
}

function testAccuracy(model: CertifiedLogistic, split: DataSplit): number {
  return accuracyOf(certifiedPredictor(model)(split.test, Int32Array.from({ length: split.test.labels.length }, (_, i) => i)));
}

function run(name: string, split: DataSplit, lambda: number, log: (s: string) => void): Result {
  const lp = { ...PARAMS, lambda };
  const n = split.train.labels.length;
  const rows = Int32Array.from({ length: n }, (_, i) => i);
  const data: CertifiedData = { X: designFrom(split.train, rows, true), labels: split.train.labels, numClasses: split.train.numClasses, active: new Uint8Array(n).fill(1) };
  let t = performance.now();
  const model = trainCertifiedLogistic(data, lp, 0);
  const trainSeconds = (performance.now() - t) / 1000;
  log(`${name}: trained certified model (n ${n}, d ${data.X.d}, ${model.heads} head(s), Newton iterations ${model.iterations.join('/')}) in ${trainSeconds.toFixed(2)} s`);
  const plain = trainCertifiedLogistic(data, { ...lp, sigma: 0 }, 0);
  const order = new Rng(`bench-certified/${name}`).permutation(n);
  let m = model;
  let active = data.active;
  let removalSeconds = 0;
  let newtonSteps = 0;
  let firstRetrain = 0;
  const bounds: number[] = [];
  for (let r = 0; r < REMOVALS; r++) {
    const o = removeCertified(m, { ...data, active }, [order[r]], 0);
    if (o.retrained) firstRetrain ||= r + 1;
    else (removalSeconds += o.seconds), newtonSteps++, bounds.push(o.bound);
    (m = o.model), (active = o.active);
  }
  t = performance.now();
  // The exact minimiser on the remaining data with the current noise b (same seed and retrain count).
  const exact = trainCertifiedLogistic({ ...data, active }, lp, 0, m.budget.retrains);
  const retrainSeconds = (performance.now() - t) / 1000;
  const relDist = norm(m.W.map((x, i) => x - exact.W[i])) / norm(exact.W);
  const taAfter = testAccuracy(m, split);
  // Count the single removals the budget allows from the fresh model (continuing until it forces a retrain).
  let budgetRemovals = firstRetrain ? String(firstRetrain - 1) : '';
  let count = REMOVALS;
  for (; !budgetRemovals && count < Math.min(BUDGET_CAP, n - 1); count++) {
    const o = removeCertified(m, { ...data, active }, [order[count]], 0);
    if (o.retrained) budgetRemovals = String(count);
    else bounds.push(o.bound);
    (m = o.model), (active = o.active);
  }
  const meanBound = bounds.reduce((a, b) => a + b, 0) / bounds.length;
  if (!budgetRemovals) budgetRemovals = `> ${count} (est. ${Math.floor((model.budget.total - model.trainResidual) / meanBound)})`;
  const removalMs = (1000 * removalSeconds) / newtonSteps;
  return {
    data: name,
    lambda,
    retrainsInRun: firstRetrain ? 1 : 0,
    n,
    d: data.X.d,
    heads: model.heads,
    trainSeconds,
    removalMs,
    retrainSeconds,
    speedup: retrainSeconds / (removalMs / 1000),
    relDist,
    taUnperturbed: testAccuracy(plain, split),
    taBefore: testAccuracy(model, split),
    taAfter,
    taRetrained: testAccuracy(exact, split),
    budgetRemovals,
    meanBound,
    budget: model.budget.total,
  };
}

async function main(): Promise<void> {
  const backend = await initEngine();
  const log = (s: string) => process.stderr.write(s + '\n');
  log(`backend ${backend}; ε = ${PARAMS.epsilon}, δ = ${PARAMS.delta}, σ = ${PARAMS.sigma}, λ ∈ {${LAMBDAS.join(', ')}}; ${REMOVALS} single removals`);
  const results: Result[] = [];
  const emails = await loadDataset('emails', { dim: 1024 });
  for (const l of LAMBDAS) results.push(run('emails (hashed, 1024)', emails, l, log));
  const digits = await loadDataset('digits');
  const fit = await fitFromScratch(digits, specFor(digits, 'mlp', { hidden: [64] }), { optimizer: 'adam', learningRate: 1e-3, epochs: 5, batchSize: 64, seed: 0 }, { quiet: true });
  log(`digits: trained the MLP feature extractor (784-64-10) in ${fit.seconds.toFixed(1)} s (ids ${hashIds(digits.train.ids).slice(0, 8)})`);
  const feats = featurise(digits, penultimateExtractor(fit.model));
  fit.model.dispose();
  for (const l of LAMBDAS) results.push(run('digits features (MLP penultimate, 64)', feats, l, log));
  const pct = (x: number) => (100 * x).toFixed(2);
  const header = ['data', 'λ', 'n', 'd', 'heads', 'train (s)', 'removal (ms)', 'retrain (s)', 'retrain / removal', '‖w⁻−w*‖/‖w*‖', 'TA unperturbed %', 'TA certified %', `TA after ${REMOVALS} removals %`, 'forced retrains in run', 'TA retrained %', 'mean bound', 'budget σε/c', 'removals within budget'];
  const rowsOut = results.map((r) => [r.data, r.lambda, r.n, r.d, r.heads, r.trainSeconds.toFixed(2), r.removalMs.toFixed(1), r.retrainSeconds.toFixed(2), `${r.speedup.toFixed(0)}×`, r.relDist.toExponential(2), pct(r.taUnperturbed), pct(r.taBefore), pct(r.taAfter), r.retrainsInRun, pct(r.taRetrained), r.meanBound.toExponential(2), r.budget.toExponential(3), r.budgetRemovals].map(String));
  console.log(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|\n${rowsOut.map((r) => `| ${r.join(' | ')} |`).join('\n')}`);
}

await main();
