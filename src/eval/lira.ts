/**
 * LiRA, the likelihood-ratio membership inference attack (Carlini, Chien, Nasr, Song, Terzis,
 * Tramèr, "Membership Inference Attacks From First Principles", IEEE S&P 2022; DESIGN.md §7).
 *
 * The attacker trains K shadow models on random halves of a data pool (each pool example is in
 * exactly ⌊K/2⌋ of them, as in the authors' code), and records the statistic
 * φ = ln p_y − ln(1 − p_y) of every pool example under every shadow. Per example it fits one
 * Gaussian to the φ of the shadows that trained on it ("in") and one to those that did not
 * ("out"): location = median, scale = population standard deviation (the authors' code), or, with
 * `globalVariance`, one standard deviation over all in (resp. out) values of all examples — which
 * the paper recommends when K is small. A target model's φ on example x is then scored:
 * - online:  log N(φ; μ_in, σ_in²) − log N(φ; μ_out, σ_out²);
 * - offline: log Pr[Z < φ], Z ~ N(μ_out, σ_out²) (the paper's one-sided test; "in" not needed).
 * Higher score = "member". Scores are compared with the ground truth by ROC: AUC and TPR at 0.1%
 * and 1% FPR.
 *
 * A per-example scale falls back to the global one when fewer than 2 values exist, and the online
 * score falls back to the offline one for an example with no "in" value.
 *
 * U-LiRA (ulira.ts) reuses this machinery with "in" = shadows trained on x and then unlearned.
 */
import { UnlearnError } from '../errors.js';
import type { Metric, MetricResult } from './metric.js';
import { auc, rocCurve, tprAtFpr } from './roc.js';

/** Added to every scale, as in the authors' code (avoids division by 0). */
const SCALE_FLOOR = 1e-30;

/**
 * Shadow statistics: φ of each pool example under each shadow model and its role there.
 * `role[k][x]`: 1 = "in" (counts toward the in-Gaussian), 0 = "out", −1 = ignored.
 */
export interface ShadowStats {
  /** φ per shadow, K rows of shape [poolSize]. */
  phi: ArrayLike<number>[];
  /** Role per shadow, K rows of shape [poolSize] (1 in, 0 out, −1 ignore). */
  role: ArrayLike<number>[];
}

/** Per-example Gaussians fitted on shadow φ (NaN where a side has no value). */
export interface ExampleGaussians {
  muIn: Float64Array;
  sigmaIn: Float64Array;
  muOut: Float64Array;
  sigmaOut: Float64Array;
  /** Number of in / out values per example. */
  nIn: Int32Array;
  nOut: Int32Array;
  /** Population std over all in (resp. out) values of all examples. */
  globalSigmaIn: number;
  globalSigmaOut: number;
}

function medianOf(v: number[]): number {
  const s = v.slice().sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}
function stdOf(v: number[]): number {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
}

/**
 * Fit the in and out Gaussians of every pool example (median, population std).
 * @throws UnlearnError INVALID_PARAMS when there are no shadows or the rows differ in length;
 *   NUMERIC_ERROR on a NaN φ with a role.
 */
export function fitShadowGaussians(stats: ShadowStats): ExampleGaussians {
  const K = stats.phi.length;
  if (K === 0 || stats.role.length !== K) throw new UnlearnError('INVALID_PARAMS', `LiRA needs shadow models (got ${K} φ rows, ${stats.role.length} role rows)`);
  const n = stats.phi[0].length;
  for (let k = 0; k < K; k++) {
    if (stats.phi[k].length !== n || stats.role[k].length !== n) throw new UnlearnError('INVALID_PARAMS', `shadow ${k} covers ${stats.phi[k].length} examples, expected ${n}`);
  }
  const g: ExampleGaussians = {
    muIn: new Float64Array(n).fill(NaN),
    sigmaIn: new Float64Array(n).fill(NaN),
    muOut: new Float64Array(n).fill(NaN),
    sigmaOut: new Float64Array(n).fill(NaN),
    nIn: new Int32Array(n),
    nOut: new Int32Array(n),
    globalSigmaIn: NaN,
    globalSigmaOut: NaN,
  };
  const allIn: number[] = [];
  const allOut: number[] = [];
  for (let x = 0; x < n; x++) {
    const vin: number[] = [];
    const vout: number[] = [];
    for (let k = 0; k < K; k++) {
      const r = stats.role[k][x];
      if (r !== 1 && r !== 0) continue;
      const v = stats.phi[k][x];
      if (Number.isNaN(v)) throw new UnlearnError('NUMERIC_ERROR', `shadow ${k}: φ of example ${x} is NaN`);
      (r === 1 ? vin : vout).push(v);
    }
    g.nIn[x] = vin.length;
    g.nOut[x] = vout.length;
    if (vin.length) ((g.muIn[x] = medianOf(vin)), (g.sigmaIn[x] = stdOf(vin)), allIn.push(...vin));
    if (vout.length) ((g.muOut[x] = medianOf(vout)), (g.sigmaOut[x] = stdOf(vout)), allOut.push(...vout));
  }
  g.globalSigmaIn = allIn.length ? stdOf(allIn) : NaN;
  g.globalSigmaOut = allOut.length ? stdOf(allOut) : NaN;
  return g;
}

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
/** log N(x; μ, σ²). */
export function normalLogPdf(x: number, mu: number, sigma: number): number {
  const z = (x - mu) / sigma;
  return -0.5 * z * z - Math.log(sigma) - LOG_SQRT_2PI;
}

/**
 * log erfc(x) for x ≥ 0 (Numerical Recipes' Chebyshev fit, fractional error < 1.2e-7), in log
 * space so it stays finite for any x.
 */
function logErfc(x: number): number {
  const t = 1 / (1 + 0.5 * x);
  const poly =
    -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return Math.log(t) - x * x + poly;
}

/** log Φ(z), the standard normal log-CDF, finite for every finite z (relative error < 1.2e-7). */
export function normalLogCdf(z: number): number {
  if (z < 0) return Math.log(0.5) + logErfc(-z / Math.SQRT2);
  return Math.log1p(-0.5 * Math.exp(logErfc(z / Math.SQRT2)));
}

/** Options of {@link liraScores}. */
export interface LiraOptions {
  /** 'online' (in and out Gaussians) or 'offline' (out only). Default 'online'. */
  mode?: 'online' | 'offline';
  /** Use one global scale per side instead of per-example scales. Default false. */
  globalVariance?: boolean;
}

/**
 * Score target observations: `targetPhi[j]` is φ of pool example `targetExample[j]` under some
 * target model. Returns the LiRA score per observation (higher = more likely a member).
 * @throws UnlearnError INVALID_PARAMS when lengths differ or an index is outside the pool, or when
 *   an example has no "out" value.
 */
export function liraScores(g: ExampleGaussians, targetPhi: ArrayLike<number>, targetExample: ArrayLike<number>, opts: LiraOptions = {}): Float64Array {
  const mode = opts.mode ?? 'online';
  if (targetPhi.length !== targetExample.length) throw new UnlearnError('INVALID_PARAMS', `${targetPhi.length} target φ vs ${targetExample.length} example indices`);
  const n = g.muOut.length;
  const out = new Float64Array(targetPhi.length);
  for (let j = 0; j < targetPhi.length; j++) {
    const x = targetExample[j];
    if (!(x >= 0 && x < n)) throw new UnlearnError('INVALID_PARAMS', `target example index ${x} outside the pool [0, ${n})`);
    if (g.nOut[x] === 0) throw new UnlearnError('INVALID_PARAMS', `example ${x} has no "out" shadow`, 'train more shadow models');
    const sOut = (opts.globalVariance || g.nOut[x] < 2 ? g.globalSigmaOut : g.sigmaOut[x]) + SCALE_FLOOR;
    const phi = targetPhi[j];
    if (mode === 'offline' || g.nIn[x] === 0) {
      out[j] = normalLogCdf((phi - g.muOut[x]) / sOut);
    } else {
      const sIn = (opts.globalVariance || g.nIn[x] < 2 ? g.globalSigmaIn : g.sigmaIn[x]) + SCALE_FLOOR;
      out[j] = normalLogPdf(phi, g.muIn[x], sIn) - normalLogPdf(phi, g.muOut[x], sOut);
    }
  }
  return out;
}

/** Input of the LiRA metric. */
export interface LiraInput extends LiraOptions {
  /** Shadow statistics (role 1 = trained on the example). */
  shadows: ShadowStats;
  /** Target observations: φ, pool index of the example, and ground truth (1 = member). */
  targetPhi: ArrayLike<number>;
  targetExample: ArrayLike<number>;
  isMember: ArrayLike<number>;
  /** Points kept in the reported ROC curve (evenly spaced in log FPR). Default 200. */
  rocPoints?: number;
}

/** ROC summary of an attack. */
export interface AttackAggregate {
  auc: number;
  /** TPR at FPR ≤ 0.1% and ≤ 1%. */
  tprAt01pct: number;
  tprAt1pct: number;
  nPositive: number;
  nNegative: number;
  /** A thinned ROC curve for plotting: parallel arrays, FPR increasing. */
  roc: { fpr: number[]; tpr: number[] };
  mode: 'online' | 'offline';
  globalVariance: boolean;
}

/** A ROC curve thinned to about `k` points, keeping the low-FPR end (log-spaced) and both ends. */
export function thinRoc(scores: ArrayLike<number>, isMember: ArrayLike<number>, k = 200): { fpr: number[]; tpr: number[] } {
  const roc = rocCurve(scores, isMember);
  const fpr: number[] = [];
  const tpr: number[] = [];
  let nextLog = -Infinity;
  const minLog = Math.log10(1 / Math.max(roc.nNegative, 1));
  const stepLog = -minLog / k;
  for (let i = 0; i < roc.fpr.length; i++) {
    const f = roc.fpr[i];
    const lf = f > 0 ? Math.log10(f) : -Infinity;
    const last = i === roc.fpr.length - 1;
    if (i === 0 || last || lf >= nextLog) {
      fpr.push(f);
      tpr.push(roc.tpr[i]);
      nextLog = (lf === -Infinity ? minLog : lf) + stepLog;
    }
  }
  return { fpr, tpr };
}

/** ROC summary of any attack's scores. */
export function summariseAttack(scores: ArrayLike<number>, isMember: ArrayLike<number>, mode: 'online' | 'offline', globalVariance: boolean, rocPoints = 200): AttackAggregate {
  let nPositive = 0;
  for (let i = 0; i < isMember.length; i++) if (isMember[i] === 1) nPositive++;
  return {
    auc: auc(scores, isMember),
    tprAt01pct: tprAtFpr(scores, isMember, 0.001),
    tprAt1pct: tprAtFpr(scores, isMember, 0.01),
    nPositive,
    nNegative: isMember.length - nPositive,
    roc: thinRoc(scores, isMember, rocPoints),
    mode,
    globalVariance,
  };
}

/**
 * The held-out examples a membership attack should contrast with a forget set: the test examples
 * of the classes present in D_f. For a random forget set this is (nearly) the whole test set; for
 * a class forget it is the held-out examples of that class — against every class, LiRA separates
 * "the forgotten class" from "the other classes" instead of members from non-members (an AUC near
 * 0.05 on class forgets, an inverted separation), because a retrained model is unconfident on a
 * class it never saw.
 * @param trainLabels labels of the training set; forgetIdx indices into it
 * @param testLabels labels of the held-out set
 * @returns sorted indices into the held-out set (int32)
 */
export function sameClassHeldOut(trainLabels: ArrayLike<number>, forgetIdx: ArrayLike<number>, testLabels: ArrayLike<number>): Int32Array {
  const classes = new Set(Array.from(forgetIdx, (i) => trainLabels[i]));
  const out: number[] = [];
  for (let t = 0; t < testLabels.length; t++) if (classes.has(testLabels[t])) out.push(t);
  return Int32Array.from(out);
}

/**
 * Run LiRA: fit the shadow Gaussians, score the target observations, summarise by ROC.
 * @returns aggregate (AUC, TPR@0.1%/1% FPR, thinned ROC) and per-observation scores.
 * @throws UnlearnError as {@link fitShadowGaussians}, {@link liraScores} and the ROC functions.
 */
export function lira(input: LiraInput): MetricResult<AttackAggregate> & { perExample: { score: Float64Array } } {
  const g = fitShadowGaussians(input.shadows);
  const mode = input.mode ?? 'online';
  const score = liraScores(g, input.targetPhi, input.targetExample, input);
  return { aggregate: summariseAttack(score, input.isMember, mode, !!input.globalVariance, input.rocPoints), perExample: { score } };
}

/** LiRA as a registered {@link Metric} (id 'lira'). Source: Carlini et al., IEEE S&P 2022. */
export const liraMetric: Metric<LiraInput, AttackAggregate> = {
  id: 'lira',
  description: 'LiRA (Carlini et al., S&P 2022): per-example Gaussians of φ under shadow models trained with/without the example; likelihood-ratio test; AUC and TPR at 0.1%/1% FPR.',
  compute: lira,
};
