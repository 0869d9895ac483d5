/**
 * Choosing λ and σ for certified removal (Guo et al., ICML 2020) so that K expected removals fit
 * the budget at the best accuracy (`unlearn certified plan`).
 *
 * The budget is fixed by the guarantee: removals stay Newton steps while the summed
 * gradient-residual bounds stay ≤ σ·ε/c, c = √(2 ln(1.5/δ)) (Theorem 3). The bound of one step
 * shrinks fast with λ (the Hessian grows like λ·n, so the step v = H⁻¹Δ shrinks like 1/λ and the
 * bound, quadratic in v, like 1/λ²), while accuracy falls as λ grows (more regularisation) and as
 * σ grows (the perturbation bᵀw, b ~ N(0, σ²I), pulls w off the data's minimiser). So for each λ
 * the smallest σ that fits the budget is
 *
 *   σ(λ) = c/ε · (r₀ + S · β̄(λ, σ) · margin)
 *
 * with r₀ the training residual, S = ⌈K / batch⌉ Newton steps and β̄ the mean bound of one step,
 * measured by running `probes` real steps (random rows of the fit part, budget not enforced).
 * β̄ depends on σ through w (more noise, larger weights, larger steps), so σ is found by
 * iterating σ ← need(σ) from σ = 1: train at σ, measure β̄, recompute the need; stop at a σ
 * that fits (need ≤ σ, within 5 %), at most 8 rounds. When the need outruns σ (the bound grows
 * with σ as fast as the budget) or passes σ = 10⁴, or Newton does not converge, the λ is
 * reported as infeasible.
 * Every λ of the grid is scored by validation accuracy (a seeded holdout of the train side, never
 * the test split) at its σ(λ); the best wins (ties: the smaller σ). Its σ is then searched again on
 * the whole train side (the model that is deployed; per-row bounds are heavy-tailed, so fresh rows
 * are probed), and a check runs min(S, 2·probes) further fresh steps under the real budget,
 * reporting the retrains that forced (expected 0), the projected use of the budget by S steps and
 * the test accuracy.
 *
 * Batched removals cost more budget than single ones: a step removing m rows has a bound roughly
 * m² times one row's, so the plan assumes the batch size it is given (default 1).
 */
import { subset, type DataSplit } from '../../data/dataset.js';
import { deriveSeed, Rng } from '../../engine/rng.js';
import { UnlearnError } from '../../errors.js';
import { activeRows, designFrom } from './linalg.js';
import { logisticLogits, noiseConstant, trainCertifiedLogistic, type CertifiedData, type CertifiedLogistic } from './logistic.js';
import { removeCertified } from './removal.js';

/** Default λ grid (mean-form L2 regularisation), log-spaced. */
export const LAMBDA_GRID = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1];
/** Rounds of the σ search per λ, and the largest σ tried. */
const MAX_ROUNDS = 8;
const MAX_SIGMA = 1e4;
/** Today's training defaults (src/unlearn/certified/logistic.ts), reported for comparison. */
export const DEFAULT_LAMBDA = 1e-3;
export const DEFAULT_SIGMA = 1;

/** Options of {@link planCertified}. */
export interface CertifiedPlanOptions {
  /** K: removals expected over the model's life (before a retrain is acceptable). */
  removals: number;
  epsilon: number;
  delta: number;
  /** Rows removed per Newton step (the batching of deletion requests). Default 1. */
  batchSize?: number;
  /** λ values tried. Default {@link LAMBDA_GRID}. */
  lambdas?: number[];
  /** Newton steps actually run per λ to measure the per-step bound. Default min(steps, 16). */
  probes?: number;
  /** Safety factor on the estimated total bound (> 1 leaves room for steps above the mean). Default 1.25. */
  margin?: number;
  /** Fraction of the train side held out for validation accuracy. Default 0.2. */
  validationFraction?: number;
  seed?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** One λ of the grid, at the σ that fits its budget. */
export interface PlanCandidate {
  lambda: number;
  /** σ that makes S steps fit (NaN when training failed). */
  sigma: number;
  /** Mean and max gradient-residual bound of one Newton step (sum-form units). */
  meanStepBound: number;
  maxStepBound: number;
  /** Training residual r₀ charged to the budget. */
  trainResidual: number;
  /** σ·ε/c at the chosen σ. */
  budget: number;
  /** Validation accuracy in [0, 1] at (λ, σ). */
  validationAccuracy: number;
  /** Fixed-point rounds used for σ. */
  rounds: number;
  /** Why this λ was not usable (training did not converge), if so. */
  failed?: string;
}

/** The outcome of {@link planCertified}. */
export interface CertifiedPlan {
  removals: number;
  batchSize: number;
  /** S = ⌈K / batch⌉ Newton steps. */
  steps: number;
  epsilon: number;
  delta: number;
  /** c = √(2 ln(1.5/δ)). */
  c: number;
  margin: number;
  /** Train rows used to fit / validate during the search. */
  fitRows: number;
  validationRows: number;
  candidates: PlanCandidate[];
  /** The candidate with the best validation accuracy (searched on the fit part). */
  chosen: PlanCandidate;
  /** The chosen λ with σ searched again on the whole train side: the values to train with. */
  final: Omit<PlanCandidate, 'validationAccuracy' | 'failed'>;
  /** Today's defaults (λ = 1e-3, σ = 1): their budget, step bound and how many steps fit. */
  defaults: { lambda: number; sigma: number; budget: number; meanStepBound: number; stepsThatFit: number; validationAccuracy: number } | null;
  /** The final (λ, σ) model on the whole train side, run for min(S, 2·probes) fresh steps under the real budget. */
  check: { stepsRun: number; retrains: number; budgetUsedFraction: number; projectedFraction: number; trainAccuracy: number; testAccuracy: number };
}

const accuracy = (model: CertifiedLogistic, ds: DataSplit['train'], rows: Int32Array) => {
  const f = ds.shape.reduce((a, b) => a * b, 1);
  let right = 0;
  for (const i of rows) {
    const z = logisticLogits(model, ds.features.subarray(i * f, (i + 1) * f));
    let arg = 0;
    for (let k = 1; k < z.length; k++) if (z[k]! > z[arg]!) arg = k;
    if (arg === ds.labels[i]) right++;
  }
  return rows.length ? right / rows.length : NaN;
};

/**
 * Run `steps` Newton removals of `batch` random active rows each on `model`, returning each step's
 * bound. `enforce` false: the budget is lifted for measuring (no step retrains).
 */
function probe(model: CertifiedLogistic, data: CertifiedData, steps: number, batch: number, seed: number, enforce: boolean): { bounds: number[]; retrains: number; model: CertifiedLogistic } {
  const rng = new Rng(`certified-plan/probe/${seed}`);
  let m: CertifiedLogistic = enforce ? model : { ...model, budget: { ...model.budget, total: Infinity } };
  let active = data.active;
  const bounds: number[] = [];
  let retrains = 0;
  for (let s = 0; s < steps; s++) {
    const rows = activeRows(active);
    if (rows.length <= batch) break;
    const pick = rng.shuffle(Array.from(rows)).slice(0, batch);
    const o = removeCertified(m, { ...data, active }, pick, deriveSeed(seed, `step/${s}`));
    bounds.push(o.bound);
    if (o.retrained) retrains++;
    m = o.model;
    active = o.active;
  }
  return { bounds, retrains, model: m };
}

/**
 * Choose λ and σ for certified logistic regression on `split` so that K removals fit the budget
 * σε/c at the best validation accuracy (see the module comment for the search).
 * @throws UnlearnError INVALID_PARAMS for K < 1, ε ≤ 0, δ ∉ (0, 1), a bad grid, or when no λ of
 *   the grid trains (Newton does not converge).
 */
export function planCertified(split: DataSplit, o: CertifiedPlanOptions): CertifiedPlan {
  const K = o.removals;
  const batch = o.batchSize ?? 1;
  const lambdas = o.lambdas ?? LAMBDA_GRID;
  const margin = o.margin ?? 1.25;
  const vf = o.validationFraction ?? 0.2;
  const seed = o.seed ?? 0;
  const bad = (m: string, hint: string) => new UnlearnError('INVALID_PARAMS', m, hint);
  if (!Number.isInteger(K) || K < 1) throw bad(`--removals ${K} is not a positive integer`, 'give the number of removals expected, e.g. --removals 100');
  if (!(o.epsilon > 0)) throw bad(`--epsilon ${o.epsilon} is not positive`, 'e.g. --epsilon 1');
  if (!(o.delta > 0 && o.delta < 1)) throw bad(`--delta ${o.delta} is not in (0, 1)`, 'e.g. --delta 1e-5');
  if (!Number.isInteger(batch) || batch < 1) throw bad(`batch size ${batch} is not a positive integer`, 'e.g. --batch-size 1');
  if (!lambdas.length || lambdas.some((l) => !(l > 0))) throw bad('every λ of the grid must be positive', 'e.g. --lambdas 1e-3,1e-2,1e-1');
  if (!(margin >= 1)) throw bad(`margin ${margin} is below 1`, 'give a safety factor ≥ 1, e.g. 1.25');
  if (!(vf > 0 && vf < 1)) throw bad(`validation fraction ${vf} is not in (0, 1)`, 'e.g. 0.2');
  const n = split.train.labels.length;
  const nVal = Math.round(n * vf);
  if (n - nVal < 2 * batch + 2 || nVal < 1) throw bad(`${n} training examples are too few to plan for`, 'use a larger dataset');
  const steps = Math.ceil(K / batch);
  const probes = Math.max(1, Math.min(o.probes ?? 16, steps));
  const c = noiseConstant(o.delta);
  const perm = new Rng(`certified-plan/split/${seed}`).permutation(n);
  const valRows = Int32Array.from(perm.subarray(0, nVal)).sort();
  const fitRows = Int32Array.from(perm.subarray(nVal)).sort();
  const fitDs = subset(split.train, fitRows);
  const X = designFrom(fitDs, Int32Array.from({ length: fitRows.length }, (_, i) => i), true);
  const data: CertifiedData = { X, labels: fitDs.labels, numClasses: fitDs.numClasses, active: new Uint8Array(fitRows.length).fill(1) };
  const params = (lambda: number, sigma: number) => ({ epsilon: o.epsilon, delta: o.delta, lambda, sigma });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

  /**
   * The smallest σ that fits S steps for `lambda` on `d`: σ ← need(σ) from σ = 1 (the smallest
   * fixed point when the step bound grows with σ). A string says why there is none.
   */
  const searchSigma = (d: CertifiedData, lambda: number, probeSeed: number): { model: CertifiedLogistic; bounds: number[]; rounds: number } | string => {
    let sigma = DEFAULT_SIGMA;
    let fitted: { model: CertifiedLogistic; bounds: number[]; rounds: number } | undefined;
    try {
      for (let round = 1; round <= MAX_ROUNDS; round++) {
        const model = trainCertifiedLogistic(d, params(lambda, sigma), seed);
        const bounds = probe(model, d, probes, batch, probeSeed, false).bounds;
        const need = (c / o.epsilon) * (model.trainResidual + steps * mean(bounds) * margin);
        if (need <= sigma) {
          fitted = { model, bounds, rounds: round };
          if (need >= 0.95 * sigma) return fitted;
          sigma = need / 0.97; // move down, staying just above the need
        } else {
          if (!Number.isFinite(need) || need > MAX_SIGMA) break;
          sigma = need * 1.02;
        }
      }
    } catch (e) {
      if (!(e instanceof UnlearnError) || e.code !== 'NUMERIC_ERROR') throw e;
      return e.message;
    }
    return fitted ?? `no σ ≤ ${MAX_SIGMA} fits ${steps} steps: the step bound grows with σ as fast as the budget σε/c`;
  };
  const summary = (lambda: number, r: { model: CertifiedLogistic; bounds: number[]; rounds: number }) => ({
    lambda,
    sigma: r.model.params.sigma,
    meanStepBound: mean(r.bounds),
    maxStepBound: Math.max(...r.bounds),
    trainResidual: r.model.trainResidual,
    budget: r.model.budget.total,
    rounds: r.rounds,
  });

  const candidates: PlanCandidate[] = [];
  for (const lambda of lambdas) {
    const r = searchSigma(data, lambda, seed);
    if (typeof r === 'string') {
      candidates.push({ lambda, sigma: NaN, meanStepBound: NaN, maxStepBound: NaN, trainResidual: NaN, budget: NaN, validationAccuracy: NaN, rounds: 0, failed: r });
      o.log?.(`λ = ${lambda}: ${r}`);
      continue;
    }
    const cand: PlanCandidate = { ...summary(lambda, r), validationAccuracy: accuracy(r.model, split.train, valRows) };
    candidates.push(cand);
    o.log?.(`λ = ${lambda}: step bound ${cand.meanStepBound.toExponential(2)}, σ = ${cand.sigma.toPrecision(3)}, validation accuracy ${(100 * cand.validationAccuracy).toFixed(1)}%`);
  }
  const usable = candidates.filter((x) => !x.failed);
  if (!usable.length) {
    const diverged = candidates.filter((x) => /Newton/.test(x.failed ?? '')).map((x) => x.lambda);
    throw bad(
      `no λ of the grid fits ${steps} Newton steps of ${batch} removal${batch === 1 ? '' : 's'} with σ ≤ ${MAX_SIGMA}${diverged.length ? ` (Newton did not converge at λ = ${diverged.join(', ')})` : ''}`,
      'try larger λ (e.g. --lambdas 1,3,10), fewer removals between retrains, or a larger --epsilon',
    );
  }
  const chosen = usable.reduce((best, x) => (x.validationAccuracy > best.validationAccuracy || (x.validationAccuracy === best.validationAccuracy && x.sigma < best.sigma) ? x : best));

  // The model that will be deployed is trained on the whole train side: search σ again there.
  const n1 = Int32Array.from({ length: n }, (_, i) => i);
  const full: CertifiedData = { X: designFrom(split.train, n1, true), labels: split.train.labels, numClasses: split.train.numClasses, active: new Uint8Array(n).fill(1) };
  const fr = searchSigma(full, chosen.lambda, deriveSeed(seed, 'final'));
  if (typeof fr === 'string') throw bad(`λ = ${chosen.lambda} fits on the fit part but not on the whole train side: ${fr}`, 'raise --margin or choose another λ with --lambdas');
  const final = summary(chosen.lambda, fr);
  o.log?.(`whole train side, λ = ${chosen.lambda}: step bound ${final.meanStepBound.toExponential(2)}, σ = ${final.sigma.toPrecision(3)}`);

  // Today's defaults, for comparison: how many steps their budget holds.
  let defaults: CertifiedPlan['defaults'] = null;
  try {
    const m = trainCertifiedLogistic(data, params(DEFAULT_LAMBDA, DEFAULT_SIGMA), seed);
    const bounds = probe(m, data, probes, batch, seed, false).bounds;
    const stepsThatFit = Math.max(0, Math.floor((m.budget.total - m.trainResidual) / mean(bounds)));
    defaults = { lambda: DEFAULT_LAMBDA, sigma: DEFAULT_SIGMA, budget: m.budget.total, meanStepBound: mean(bounds), stepsThatFit, validationAccuracy: accuracy(m, split.train, valRows) };
  } catch (e) {
    if (!(e instanceof UnlearnError) || e.code !== 'NUMERIC_ERROR') throw e;
  }

  // Check: the final model, fresh rows, the real budget.
  const run = probe(fr.model, full, Math.min(steps, 2 * probes), batch, deriveSeed(seed, 'check'), true);
  const testRows = Int32Array.from({ length: split.test.labels.length }, (_, i) => i);
  const check = {
    stepsRun: run.bounds.length,
    retrains: run.retrains,
    budgetUsedFraction: run.model.budget.used / run.model.budget.total,
    projectedFraction: (fr.model.trainResidual + steps * mean(run.bounds)) / fr.model.budget.total,
    trainAccuracy: accuracy(fr.model, split.train, n1),
    testAccuracy: accuracy(fr.model, split.test, testRows),
  };
  return { removals: K, batchSize: batch, steps, epsilon: o.epsilon, delta: o.delta, c, margin, fitRows: fitRows.length, validationRows: nVal, candidates, chosen, final, defaults, check };
}
