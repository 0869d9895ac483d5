/**
 * The NeurIPS 2023 Machine Unlearning challenge score (Triantafillou, Pedregosa et al., the
 * organisers' metric document and scoring code `metric.py` / `main.py` of
 * google-deepmind/unlearning_evaluation; DESIGN.md §7), implemented as the organisers' estimator,
 * finite-sample bias included.
 *
 * Inputs: the logit-scaled confidence φ (see {@link logitScaledConfidence}) of every forget example
 * under N models produced by running the unlearning method N times from one original model θ_o,
 * and under N models retrained from scratch on the retain set.
 *
 * Per forget example:
 * 1. Positive side = whichever of the two samples (retrained, unlearned) has the larger median.
 * 2. Collapse rule: when the smaller of the two ranges (max − min) is < 1% of the larger one, the
 *    example gets ε = the cap (50). (0/0 when both ranges are 0 is not < 0.01: no collapse.)
 * 2b. Separation rule: when the two samples do not overlap (max of one < min of the other), some
 *    threshold has FPR = FNR = 0, so ε = ∞ → the cap (50). See "Differences" below.
 * 3. Two families of decision rules, each giving a false positive rate FPR and false negative rate
 *    FNR over the N + N models:
 *    - single thresholds: "positive iff φ ≥ t", t on a grid of ⌈100·(max − min)⌉ points spanning the
 *      joint range (torch.linspace);
 *    - intervals: "positive iff l ≤ φ ≤ r", where positive is now the peakier sample (smaller range,
 *      width w; ties: the retrained/unlearned sample chosen negative in step 1 becomes positive),
 *      r on a grid of ⌈100·(max_r − min_r)⌉ points from min_p + w − 2 to max_p + 2, and for each r,
 *      l on 400 points from r − w − 2 to r − w + 2 (numpy.linspace).
 * 4. Per rule, with δ = 1e-5: FPR = FNR = 0 → ε = ∞; exactly one of them 0 → rule discarded;
 *    otherwise ε = max(ln(1 − δ − FPR) − ln FNR, ln(1 − δ − FNR) − ln FPR), a NaN term (log of a
 *    negative number) ignored, the rule discarded when both are NaN, and floored at 0.
 * 5. The example's ε = max over the surviving rules, clipped to [0, 50].
 *
 * Then H(ε) = 2/2^n with n the 1-based index of the 0.5-wide bin holding ε — [0, 0.5) → 1,
 * [0.5, 1) → 0.5, … — for the bins whose right edge is ≤ ⌈ln(N − 1)⌉; ε beyond the last bin → 0.
 * F = mean H over the forget set; final score = F × (mean RA_u / mean RA_r) × (mean TA_u / mean TA_r).
 *
 * Known properties of this estimator (not corrected here, on purpose): it is biased at finite N —
 * two samples of the same distribution give ε ≈ 1–1.5 per example (the extreme thresholds see
 * count ratios like 3:1), so retrain vs. independent retrain scores F ≈ 0.1–0.25 at N = 32–512;
 * and the largest finite ε N models can show is ln(N − 1 − Nδ) ≈ ln(N − 1).
 *
 * Differences from the organisers' code, all without effect on any score except as stated:
 * rates are exact count ratios in float64 (theirs are float32 means, which moves ε by < 1e-6 and
 * can change a bin only when ε lies within 1e-6 of a bin edge); the separation rule 2b; and when
 * every rule is discarded (after 2b only possible when both samples are the same constant) their
 * code stops on an assertion while we give ε = 0 (two identical point masses cannot be told apart).
 *
 * Why 2b: the grids are ≈ 0.01 φ-units apart, so two samples separated by a smaller gap — e.g. two
 * different constants, whose ranges are both 0 and so escape the collapse rule (0/0) — could get
 * no separating rule: the single-threshold grid has one point (⌈100·gap⌉ = 1 for gaps < 0.01) and
 * the interval grid (spacing 4/399) misses gaps below 2/399 ≈ 0.0050, so every rule was discarded
 * and ε came out 0, the *best* score, for a pair an attacker separates perfectly, while slightly
 * larger gaps got ε = ∞ → 50. The estimator means the supremum over thresholds, which is ∞ for any positive
 * gap; 2b gives that value whatever the gap, and only identical constants score ε = 0. Samples
 * that overlap are untouched (the grids decide, as in the organisers' code).
 */
import { UnlearnError } from '../errors.js';
import type { Metric, MetricResult } from './metric.js';

/** δ of the (ε, δ) conversion of every decision rule. */
export const CHALLENGE_DELTA = 1e-5;
/** Cap on a per-example ε (also the ε of a collapsed example). */
export const EPSILON_CAP = 50;
/** Threshold grid density, points per unit of φ. */
export const THRESHOLDS_PER_UNIT = 100;
/** Half-width of the search around the peaky sample for the interval rules, φ units. */
const INTERVAL_BUFFER = 2;
/** Width of the ε bins. */
export const BIN_WIDTH = 0.5;
/**
 * φ is clamped to ±ln(1e45) ≈ ±103.616: the organisers add 1e-45 to both probabilities before the
 * logs, which bounds φ by that value; clamping gives the same saturation without their underflow.
 */
export const PHI_CLAMP = Math.log(1e45);

/**
 * Logit-scaled confidence φ = ln p_y − ln(1 − p_y) from raw logits, computed without forming
 * probabilities: φ = z_y − logsumexp_{j≠y} z_j (exact; stable for any finite logits). Clamped to
 * ±{@link PHI_CLAMP} (i.e. p_y is kept within [1e-45, 1 − 1e-45] in odds), as the organisers'
 * `compute_logit_scaled_confidence` saturates there. Also LiRA's statistic (Carlini et al. 2022).
 *
 * @param logits float32/float64 row-major logits, shape [n, numClasses].
 * @param labels int class indices, shape [n], each in [0, numClasses).
 * @param numClasses ≥ 2.
 * @returns φ per example, float64, shape [n] (nats of odds).
 * @throws UnlearnError SHAPE_MISMATCH when the sizes disagree or a label is out of range;
 *   NUMERIC_ERROR when a logit is NaN or infinite.
 */
export function logitScaledConfidence(logits: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): Float64Array {
  const n = labels.length;
  if (!(numClasses >= 2) || logits.length !== n * numClasses) {
    throw new UnlearnError('SHAPE_MISMATCH', `logits have ${logits.length} values, expected ${n} × ${numClasses}`);
  }
  const phi = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= numClasses) throw new UnlearnError('SHAPE_MISMATCH', `label ${y} of example ${i} outside [0, ${numClasses})`);
    const o = i * numClasses;
    let m = -Infinity;
    for (let j = 0; j < numClasses; j++) {
      const z = logits[o + j];
      if (!Number.isFinite(z)) throw new UnlearnError('NUMERIC_ERROR', `logit ${j} of example ${i} is ${z}`, 'the model diverged; lower the learning rate');
      if (j !== y && z > m) m = z;
    }
    let s = 0;
    for (let j = 0; j < numClasses; j++) if (j !== y) s += Math.exp(logits[o + j] - m);
    const v = logits[o + y] - (m + Math.log(s));
    phi[i] = Math.max(-PHI_CLAMP, Math.min(PHI_CLAMP, v));
  }
  return phi;
}

/** numpy.linspace(start, stop, num): start + i·step, the last point exactly `stop`. */
function linspaceNumpy(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(Math.max(0, num));
  if (num === 1) out[0] = start;
  if (num < 2) return out;
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = start + i * step;
  out[num - 1] = stop;
  return out;
}

/** torch.linspace(start, end, steps): first half from start, second half from end. */
function linspaceTorch(start: number, end: number, steps: number): Float64Array {
  const out = new Float64Array(Math.max(0, steps));
  if (steps === 1) out[0] = start;
  if (steps < 2) return out;
  const step = (end - start) / (steps - 1);
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) out[i] = i < half ? start + step * i : end - step * (steps - i - 1);
  return out;
}

/**
 * The ε of one decision rule from its error counts out of n models per side (rules of step 4 in
 * the module comment). Returns NaN for a discarded rule, +∞ for perfect separation.
 * @param fp false positives (negatives predicted positive), 0..n
 * @param fn false negatives, 0..n
 */
export function ruleEpsilon(fp: number, fn: number, n: number, delta = CHALLENGE_DELTA): number {
  if (fp === 0 && fn === 0) return Infinity;
  if (fp === 0 || fn === 0) return NaN;
  const fpr = fp / n;
  const fnr = fn / n;
  const e1 = Math.log(1 - delta - fpr) - Math.log(fnr);
  const e2 = Math.log(1 - delta - fnr) - Math.log(fpr);
  if (Number.isNaN(e1) && Number.isNaN(e2)) return NaN;
  const e = Number.isNaN(e1) ? e2 : Number.isNaN(e2) ? e1 : Math.max(e1, e2);
  return Math.max(e, 0);
}

/** Table of {@link ruleEpsilon} for all counts: index fp·(n+1) + fn. */
function epsilonTable(n: number, delta: number): Float64Array {
  const t = new Float64Array((n + 1) * (n + 1));
  for (let fp = 0; fp <= n; fp++) for (let fn = 0; fn <= n; fn++) t[fp * (n + 1) + fn] = ruleEpsilon(fp, fn, n, delta);
  return t;
}

const sorted = (a: ArrayLike<number>) => Float64Array.from(a).sort();
const rangeOf = (s: Float64Array) => s[s.length - 1] - s[0];
/** Number of entries of sorted `s` that are < x, starting the scan at `from` (a lower bound). */
function countBelow(s: Float64Array, x: number, from: number): number {
  let k = from;
  while (k < s.length && s[k] < x) k++;
  return k;
}
/** Number of entries of sorted `s` that are ≤ x, scanning from `from`. */
function countAtMost(s: Float64Array, x: number, from: number): number {
  let k = from;
  while (k < s.length && s[k] <= x) k++;
  return k;
}
/** First index of sorted `s` with s[i] ≥ x (binary search). */
function lowerBound(s: Float64Array, x: number): number {
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (s[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Best ε of one rule family; NaN when every rule of the family was discarded. */
export interface FamilyEpsilon {
  epsilon: number;
  /** Number of rules evaluated (discarded ones included). */
  rules: number;
}

/**
 * The single-threshold family: "positive iff φ ≥ t" on ⌈100·(joint range)⌉ thresholds.
 * @param pos φ of the positive side (larger median), shape [n]
 * @param neg φ of the other side, shape [n]
 */
export function singleThresholdEpsilon(pos: ArrayLike<number>, neg: ArrayLike<number>, delta = CHALLENGE_DELTA): FamilyEpsilon {
  const n = pos.length;
  const p = sorted(pos);
  const q = sorted(neg);
  const table = epsilonTable(n, delta);
  const min = Math.min(p[0], q[0]);
  const max = Math.max(p[n - 1], q[n - 1]);
  const thresholds = linspaceTorch(min, max, Math.ceil((max - min) * THRESHOLDS_PER_UNIT));
  let best = NaN;
  let kp = 0;
  let kq = 0;
  for (const t of thresholds) {
    kp = countBelow(p, t, kp); // positives below t: false negatives
    kq = countBelow(q, t, kq); // negatives at or above t: false positives = n − kq
    const e = table[(n - kq) * (n + 1) + kp];
    if (!Number.isNaN(e) && !(e <= best)) best = e;
  }
  return { epsilon: best, rules: thresholds.length };
}

/**
 * The interval family: "positive iff l ≤ φ ≤ r", positive = the peakier sample (see the module
 * comment for the grids). Arguments as {@link singleThresholdEpsilon} (which side is positive
 * there does not matter here: ε is symmetric in FPR and FNR).
 */
export function intervalEpsilon(pos: ArrayLike<number>, neg: ArrayLike<number>, delta = CHALLENGE_DELTA): FamilyEpsilon {
  const n = pos.length;
  let p = sorted(pos);
  let q = sorted(neg);
  if (rangeOf(p) >= rangeOf(q)) [p, q] = [q, p];
  const table = epsilonTable(n, delta);
  const width = rangeOf(p);
  const minR = p[0] + width - INTERVAL_BUFFER;
  const maxR = p[n - 1] + INTERVAL_BUFFER;
  const rights = linspaceNumpy(minR, maxR, Math.ceil((maxR - minR) * THRESHOLDS_PER_UNIT));
  const numLeft = Math.ceil(2 * INTERVAL_BUFFER * THRESHOLDS_PER_UNIT);
  let best = NaN;
  let pr = 0;
  let qr = 0;
  for (const r of rights) {
    pr = countAtMost(p, r, pr);
    qr = countAtMost(q, r, qr);
    const lefts = linspaceNumpy(r - width - INTERVAL_BUFFER, r - width + INTERVAL_BUFFER, numLeft);
    let pl = lowerBound(p, lefts[0]);
    let ql = lowerBound(q, lefts[0]);
    for (const l of lefts) {
      pl = countBelow(p, l, pl);
      ql = countBelow(q, l, ql);
      const inP = Math.max(0, pr - pl);
      const inQ = Math.max(0, qr - ql);
      const e = table[inQ * (n + 1) + (n - inP)];
      if (!Number.isNaN(e) && !(e <= best)) best = e;
    }
  }
  return { epsilon: best, rules: rights.length * numLeft };
}

const median = (s: Float64Array) => {
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

/** The ε of one forget example and how it was reached. */
export interface ExampleEpsilon {
  /** ε in [0, {@link EPSILON_CAP}]. */
  epsilon: number;
  /** True when the collapse rule set ε to the cap. */
  collapsed: boolean;
  /** True when the two samples do not overlap (every value of one below every value of the other): ε = the cap. */
  separable: boolean;
  /** Best ε of the single-threshold family (NaN when collapsed or all discarded). */
  single: number;
  /** Best ε of the interval family (NaN when collapsed or all discarded). */
  interval: number;
}

/**
 * ε of one forget example from its φ under the N unlearned and the N retrained models.
 * @param unlearned φ under each unlearned model, shape [N]
 * @param retrained φ under each retrained model, shape [N]
 * @throws UnlearnError INVALID_PARAMS when the sizes differ or N < 2; NUMERIC_ERROR on NaN φ.
 */
export function exampleEpsilon(unlearned: ArrayLike<number>, retrained: ArrayLike<number>, delta = CHALLENGE_DELTA): ExampleEpsilon {
  const n = unlearned.length;
  if (retrained.length !== n || n < 2) {
    throw new UnlearnError('INVALID_PARAMS', `challenge score needs the same number N ≥ 2 of unlearned and retrained models (got ${n} and ${retrained.length})`);
  }
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(unlearned[i]) || Number.isNaN(retrained[i])) throw new UnlearnError('NUMERIC_ERROR', 'φ is NaN', 'check the model outputs');
  }
  const u = sorted(unlearned);
  const r = sorted(retrained);
  const ru = rangeOf(u);
  const rr = rangeOf(r);
  const largest = ru > rr ? ru : rr;
  const smallest = ru > rr ? rr : ru;
  if (smallest / largest < 0.01) return { epsilon: EPSILON_CAP, collapsed: true, separable: false, single: NaN, interval: NaN };
  // Perfectly separable by a threshold (FPR = FNR = 0 for any t in the gap): ε = ∞, capped. The
  // grids below would find it only when the gap holds a grid point (≈ 0.01 apart).
  if (u[n - 1] < r[0] || r[n - 1] < u[0]) return { epsilon: EPSILON_CAP, collapsed: false, separable: true, single: Infinity, interval: NaN };
  const retrainPositive = median(r) > median(u);
  const pos = retrainPositive ? r : u;
  const neg = retrainPositive ? u : r;
  // The interval family swaps to "peakier is positive" with ties going to the negative side.
  const single = singleThresholdEpsilon(pos, neg, delta).epsilon;
  const interval = intervalEpsilon(pos, neg, delta).epsilon;
  let e = Math.max(Number.isNaN(single) ? -Infinity : single, Number.isNaN(interval) ? -Infinity : interval);
  if (e === -Infinity) e = 0; // every rule discarded: identical point masses (see module comment)
  return { epsilon: Math.min(Math.max(e, 0), EPSILON_CAP), collapsed: false, separable: false, single, interval };
}

/**
 * The smallest number of models per side whose attacks can resolve any ε > 0: the largest finite
 * ε N models can show is ln(N − 1 − Nδ), positive only when N − 1 − Nδ > 1, i.e. N > 2 / (1 − δ)
 * (3 for δ = 1e-5). Below it every ε is 0 and every method scores F = 0.
 */
export function minResolvingModels(delta = CHALLENGE_DELTA): number {
  return Math.floor(2 / (1 - delta)) + 1;
}

/** The score bins for N models: left edges, points, and the last right edge ⌈ln(N − 1)⌉. */
export interface ChallengeBins {
  /** Left edge of each bin: 0, 0.5, 1, … */
  starts: number[];
  /** H of each bin: 1, 0.5, 0.25, … (= 2/2^n, n 1-based). */
  points: number[];
  /** Right edge of the last bin, ⌈ln(N − 1)⌉; ε at or beyond it scores 0. */
  lastEdge: number;
}

/**
 * The organisers' bins for N models: 0.5-wide buckets while their right edge ≤ ⌈ln(N − 1)⌉.
 * @throws UnlearnError INVALID_PARAMS when N < 2.
 */
export function challengeBins(numModels: number): ChallengeBins {
  if (!Number.isInteger(numModels) || numModels < 2) throw new UnlearnError('INVALID_PARAMS', `the challenge score needs N ≥ 2 models, got ${numModels}`);
  const lastEdge = Math.ceil(Math.log(numModels - 1));
  const starts: number[] = [];
  const points: number[] = [];
  let start = 0;
  let pts = 1;
  while (start + BIN_WIDTH <= lastEdge) {
    starts.push(start);
    points.push(pts);
    pts /= 2;
    start += BIN_WIDTH;
  }
  return { starts, points, lastEdge };
}

/** H(ε): the points of the first bin with ε < its right edge, else 0. */
export function binPoints(epsilon: number, bins: ChallengeBins): number {
  for (let k = 0; k < bins.starts.length; k++) if (epsilon < bins.starts[k] + BIN_WIDTH) return bins.points[k];
  return 0;
}

/** Input of the challenge score: φ matrices and the accuracies of each model. */
export interface ChallengeScoreInput {
  /** φ of the forget examples under each unlearned model: N rows, each shape [S]. */
  unlearnedPhi: ArrayLike<number>[];
  /** φ under each retrained model: N rows of shape [S] (same example order). */
  retrainedPhi: ArrayLike<number>[];
  /** Retain / test accuracy of each unlearned model, in [0, 1], shape [N] each. */
  unlearnedRA: number[];
  unlearnedTA: number[];
  /** Retain / test accuracy of each retrained model, shape [N] each. */
  retrainedRA: number[];
  retrainedTA: number[];
  /** δ; default 1e-5. */
  delta?: number;
}

/** Aggregate of the challenge score. */
export interface ChallengeScoreAggregate {
  /** Forgetting quality F = mean H, in [0, 1]. */
  F: number;
  /** mean RA_u / mean RA_r. */
  raRatio: number;
  /** mean TA_u / mean TA_r. */
  taRatio: number;
  /** F × raRatio × taRatio. */
  score: number;
  /** Models per side. */
  numModels: number;
  /** Forget examples scored. */
  numExamples: number;
  /** ⌈ln(N − 1)⌉: ε at or beyond it scores 0. */
  lastBinEdge: number;
  /** ln(N − 1 − Nδ): the largest finite ε N models per side can show. */
  maxResolvableEpsilon: number;
  /** Mean and median per-example ε. */
  meanEpsilon: number;
  medianEpsilon: number;
  /** Examples whose ε came from the collapse rule. */
  collapsed: number;
  /** Count of examples per bin (last entry: beyond the last bin). */
  histogram: number[];
  delta: number;
}

/** Result of {@link challengeScore}: aggregate plus per-example ε and H (forget-set order). */
export interface ChallengeScoreResult extends MetricResult<ChallengeScoreAggregate> {
  perExample: { epsilon: Float64Array; H: Float64Array };
}

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

/**
 * The NeurIPS 2023 unlearning challenge score (see the module comment).
 * @throws UnlearnError INVALID_PARAMS when the matrices are ragged, differ in shape, N < 2, or an
 *   accuracy list has the wrong length; NUMERIC_ERROR on NaN φ.
 */
export function challengeScore(input: ChallengeScoreInput): ChallengeScoreResult {
  const { unlearnedPhi: U, retrainedPhi: R } = input;
  const delta = input.delta ?? CHALLENGE_DELTA;
  const n = U.length;
  if (R.length !== n) throw new UnlearnError('INVALID_PARAMS', `${n} unlearned vs ${R.length} retrained models; the score needs N of each`);
  const bins = challengeBins(n);
  const s = U[0].length;
  if (s === 0) throw new UnlearnError('INVALID_PARAMS', 'the forget set is empty');
  for (const row of [...U, ...R]) if (row.length !== s) throw new UnlearnError('INVALID_PARAMS', 'every φ row must cover the same forget examples');
  for (const [name, a] of Object.entries({ unlearnedRA: input.unlearnedRA, unlearnedTA: input.unlearnedTA, retrainedRA: input.retrainedRA, retrainedTA: input.retrainedTA })) {
    if (a.length !== n) throw new UnlearnError('INVALID_PARAMS', `${name} has ${a.length} entries, expected ${n}`);
  }
  const epsilon = new Float64Array(s);
  const H = new Float64Array(s);
  const histogram = new Array(bins.starts.length + 1).fill(0);
  const u = new Float64Array(n);
  const r = new Float64Array(n);
  let collapsed = 0;
  for (let j = 0; j < s; j++) {
    for (let i = 0; i < n; i++) ((u[i] = U[i][j]), (r[i] = R[i][j]));
    const e = exampleEpsilon(u, r, delta);
    if (e.collapsed) collapsed++;
    epsilon[j] = e.epsilon;
    H[j] = binPoints(e.epsilon, bins);
    const k = bins.starts.findIndex((st) => e.epsilon < st + BIN_WIDTH);
    histogram[k === -1 ? bins.starts.length : k]++;
  }
  const F = H.reduce((a, b) => a + b, 0) / s;
  const raRatio = mean(input.unlearnedRA) / mean(input.retrainedRA);
  const taRatio = mean(input.unlearnedTA) / mean(input.retrainedTA);
  const sortedEps = Float64Array.from(epsilon).sort();
  return {
    aggregate: {
      F,
      raRatio,
      taRatio,
      score: F * raRatio * taRatio,
      numModels: n,
      numExamples: s,
      lastBinEdge: bins.lastEdge,
      maxResolvableEpsilon: Math.log(n - 1 - n * delta),
      meanEpsilon: epsilon.reduce((a, b) => a + b, 0) / s,
      medianEpsilon: median(sortedEps),
      collapsed,
      histogram,
      delta,
    },
    perExample: { epsilon, H },
  };
}

/**
 * The challenge score as a registered {@link Metric} (id 'challenge-score'). Source: NeurIPS 2023
 * Machine Unlearning challenge, organisers' metric document and scoring code.
 */
export const challengeScoreMetric: Metric<ChallengeScoreInput, ChallengeScoreAggregate> & { compute(input: ChallengeScoreInput): ChallengeScoreResult } = {
  id: 'challenge-score',
  description:
    'NeurIPS 2023 unlearning challenge score: per-example ε from threshold and interval attacks on φ under N unlearned vs N retrained models, ' +
    'binned into forgetting quality F; final score = F × RA ratio × TA ratio.',
  compute: challengeScore,
};
