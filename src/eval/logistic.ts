/**
 * A small L2-regularised logistic regression for attack classifiers with one or a few features
 * (e.g. the per-example loss of a membership-inference attack). Host-side, deterministic: Newton's
 * method (IRLS) with step halving, run to convergence; no randomness anywhere.
 *
 * Features are standardised (mean 0, standard deviation 1 on the training data) before fitting,
 * so the penalty does not depend on the feature's units; the returned coefficients are mapped back
 * to the original units. The intercept is not penalised. The default strength l2 = 1 matches
 * scikit-learn's `LogisticRegression()` default (C = 1) used by the NeurIPS 2023 Machine
 * Unlearning challenge starting kit, except that the kit fits unstandardised losses.
 */
import { UnlearnError } from '../errors.js';

/**
 * Feature matrix in column-major form: `features[j][i]` is feature j of example i.
 * Shape [d][n]; every column has the same length n. A single feature is `[values]`.
 */
export type FeatureColumns = ReadonlyArray<ArrayLike<number>>;

/** Options of {@link fitLogistic}. */
export interface LogisticOptions {
  /** L2 penalty λ on the standardised weights: objective = Σ log-loss + (λ/2)·‖w‖². Default 1. ≥ 0. */
  l2?: number;
  /** Maximum Newton iterations. Default 100. */
  maxIter?: number;
  /** Stop when the largest Newton step (standardised scale) is below this. Default 1e-10. */
  tol?: number;
}

/** A fitted model. P(y = 1 | x) = σ(intercept + Σ_j coef[j]·x_j), x in the original units. */
export interface LogisticModel {
  /** Weights in the original feature units, shape [d]. */
  coef: Float64Array;
  /** Intercept in the original units. */
  intercept: number;
  /** Training mean of each feature, shape [d] (used for standardisation). */
  mean: Float64Array;
  /** Training standard deviation of each feature, shape [d] (1 for a constant feature). */
  scale: Float64Array;
  /** The L2 strength used. */
  l2: number;
  /** Newton iterations run. */
  iterations: number;
  /** Whether the step-size tolerance was met within maxIter. */
  converged: boolean;
}

/** Numerically stable logistic sigmoid σ(t) = 1 / (1 + e^(−t)). */
export function sigmoid(t: number): number {
  if (t >= 0) return 1 / (1 + Math.exp(-t));
  const e = Math.exp(t);
  return e / (1 + e);
}

/** log(1 + e^t) without overflow. */
function softplus(t: number): number {
  return t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t));
}

/** Solve A x = b (A small, dense, row-major number[][]) by Gaussian elimination with pivoting. */
function solve(A: number[][], b: number[]): number[] {
  const m = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < m; c++) {
    let p = c;
    for (let r = c + 1; r < m; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    const piv = M[c][c];
    if (piv === 0 || !Number.isFinite(piv)) {
      throw new UnlearnError('NUMERIC_ERROR', 'logistic regression: singular Hessian', 'use l2 > 0');
    }
    for (let r = c + 1; r < m; r++) {
      const f = M[r][c] / piv;
      if (f === 0) continue;
      for (let k = c; k <= m; k++) M[r][k] -= f * M[c][k];
    }
  }
  const x = new Array<number>(m).fill(0);
  for (let r = m - 1; r >= 0; r--) {
    let s = M[r][m];
    for (let k = r + 1; k < m; k++) s -= M[r][k] * x[k];
    x[r] = s / M[r][r];
  }
  return x;
}

function checkColumns(features: FeatureColumns, n: number | undefined, what: string): number {
  if (features.length === 0) throw new UnlearnError('INVALID_PARAMS', `${what}: no feature columns`);
  const len = n ?? features[0].length;
  for (let j = 0; j < features.length; j++) {
    const col = features[j];
    if (col.length !== len) {
      throw new UnlearnError('INVALID_PARAMS', `${what}: feature column ${j} has length ${col.length}, expected ${len}`);
    }
    for (let i = 0; i < len; i++) {
      if (!Number.isFinite(col[i])) {
        throw new UnlearnError('NUMERIC_ERROR', `${what}: feature ${j} of example ${i} is ${col[i]}`);
      }
    }
  }
  return len;
}

/**
 * Fit P(y = 1 | x) = σ(b + w·x) by penalised maximum likelihood.
 *
 * @param features column-major features, shape [d][n] (see {@link FeatureColumns}); finite values.
 * @param labels   shape [n], each 0 or 1 (or false/true); both classes must be present.
 * @param options  see {@link LogisticOptions}.
 * @returns the model, coefficients in the original feature units.
 * @throws UnlearnError INVALID_PARAMS (shape mismatch, labels not 0/1, one class only, bad
 *         options); NUMERIC_ERROR (non-finite feature values, singular Hessian with l2 = 0).
 */
export function fitLogistic(
  features: FeatureColumns,
  labels: ArrayLike<number> | ArrayLike<boolean>,
  options: LogisticOptions = {},
): LogisticModel {
  const l2 = options.l2 ?? 1;
  const maxIter = options.maxIter ?? 100;
  const tol = options.tol ?? 1e-10;
  if (!(l2 >= 0) || !Number.isFinite(l2)) throw new UnlearnError('INVALID_PARAMS', `l2 must be finite and >= 0, got ${l2}`);
  if (!(maxIter >= 1)) throw new UnlearnError('INVALID_PARAMS', `maxIter must be >= 1, got ${maxIter}`);
  if (!(tol > 0)) throw new UnlearnError('INVALID_PARAMS', `tol must be > 0, got ${tol}`);
  const n = checkColumns(features, labels.length, 'fitLogistic');
  const d = features.length;

  const y = new Float64Array(n);
  let nPos = 0;
  for (let i = 0; i < n; i++) {
    const v = labels[i];
    if (v === 1 || v === true) {
      y[i] = 1;
      nPos++;
    } else if (!(v === 0 || v === false)) {
      throw new UnlearnError('INVALID_PARAMS', `fitLogistic: label ${i} is ${String(v)}; expected 0/1`);
    }
  }
  if (nPos === 0 || nPos === n) {
    throw new UnlearnError('INVALID_PARAMS', `fitLogistic: both classes are needed (${nPos} of ${n} positive)`);
  }

  // Standardise.
  const mean = new Float64Array(d);
  const scale = new Float64Array(d);
  const Z: Float64Array[] = [];
  for (let j = 0; j < d; j++) {
    const col = features[j];
    let s = 0;
    for (let i = 0; i < n; i++) s += col[i];
    const mu = s / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (col[i] - mu) ** 2;
    const sd = Math.sqrt(v / n);
    mean[j] = mu;
    scale[j] = sd > 0 ? sd : 1;
    const z = new Float64Array(n);
    for (let i = 0; i < n; i++) z[i] = (col[i] - mu) / scale[j];
    Z.push(z);
  }

  // θ = [b, w_1..w_d] on the standardised scale.
  const m = d + 1;
  let theta = new Array<number>(m).fill(0);
  const eta = (th: number[], i: number): number => {
    let t = th[0];
    for (let j = 0; j < d; j++) t += th[j + 1] * Z[j][i];
    return t;
  };
  const objective = (th: number[]): number => {
    let f = 0;
    for (let i = 0; i < n; i++) {
      const t = eta(th, i);
      f += softplus(t) - y[i] * t;
    }
    for (let j = 1; j < m; j++) f += 0.5 * l2 * th[j] * th[j];
    return f;
  };

  let f = objective(theta);
  let iterations = 0;
  let converged = false;
  while (iterations < maxIter) {
    iterations++;
    const g = new Array<number>(m).fill(0);
    const H = Array.from({ length: m }, () => new Array<number>(m).fill(0));
    for (let i = 0; i < n; i++) {
      const p = sigmoid(eta(theta, i));
      const r = p - y[i];
      const w = p * (1 - p);
      for (let a = 0; a < m; a++) {
        const xa = a === 0 ? 1 : Z[a - 1][i];
        g[a] += r * xa;
        for (let b = a; b < m; b++) H[a][b] += w * xa * (b === 0 ? 1 : Z[b - 1][i]);
      }
    }
    for (let a = 0; a < m; a++) for (let b = 0; b < a; b++) H[a][b] = H[b][a];
    for (let j = 1; j < m; j++) {
      g[j] += l2 * theta[j];
      H[j][j] += l2;
    }
    // A vanishing jitter keeps the system solvable when l2 = 0 and p(1-p) underflows.
    for (let a = 0; a < m; a++) H[a][a] += 1e-12 * n;
    const step = solve(H, g);
    // Step halving: accept the first step that does not increase the objective.
    let alpha = 1;
    let next = theta.map((t, a) => t - step[a]);
    let fNext = objective(next);
    while (!(fNext <= f) && alpha > 1e-10) {
      alpha /= 2;
      next = theta.map((t, a) => t - alpha * step[a]);
      fNext = objective(next);
    }
    const maxStep = Math.max(...step.map((s) => Math.abs(alpha * s)));
    if (!(fNext <= f)) {
      converged = maxStep < Math.sqrt(tol); // stuck at the optimum up to rounding
      break;
    }
    theta = next;
    f = fNext;
    if (maxStep < tol) {
      converged = true;
      break;
    }
  }

  // Back to the original units: w_j / s_j, b − Σ w_j μ_j / s_j.
  const coef = new Float64Array(d);
  let intercept = theta[0];
  for (let j = 0; j < d; j++) {
    coef[j] = theta[j + 1] / scale[j];
    intercept -= coef[j] * mean[j];
  }
  return { coef, intercept, mean, scale, l2, iterations, converged };
}

/**
 * P(y = 1 | x) for each example under a fitted model.
 *
 * @param model    from {@link fitLogistic}.
 * @param features column-major features in the original units, shape [d][n], d = model.coef.length.
 * @returns probabilities in [0, 1], shape [n].
 * @throws UnlearnError INVALID_PARAMS (wrong number of columns or ragged columns),
 *         NUMERIC_ERROR (non-finite feature values).
 */
export function predictLogistic(model: LogisticModel, features: FeatureColumns): Float64Array {
  const d = model.coef.length;
  if (features.length !== d) {
    throw new UnlearnError('INVALID_PARAMS', `predictLogistic: model has ${d} features, got ${features.length} columns`);
  }
  const n = checkColumns(features, undefined, 'predictLogistic');
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let t = model.intercept;
    for (let j = 0; j < d; j++) t += model.coef[j] * features[j][i];
    out[i] = sigmoid(t);
  }
  return out;
}
