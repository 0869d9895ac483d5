/**
 * L2-regularised logistic regression trained with loss perturbation, for certified removal
 * (Guo, Goldstein, Hannun, van der Maaten, "Certified Data Removal from Machine Learning Models",
 * ICML 2020; docs/methods.md).
 *
 * Objective of one binary model on the active rows A (n_A of them), labels t_i ∈ {−1, +1}:
 *
 *   J(w) = Σ_{i∈A} log(1 + exp(−t_i x_iᵀw)) + (λ·n_A/2)‖w‖² + bᵀw,   b ~ N(0, σ²I_d)
 *
 * i.e. n_A × (mean loss + (λ/2)‖w‖² + bᵀw/n_A). All gradient norms, residuals and the removal
 * budget are in the units of this sum form (as in the paper and its reference code). Binary data
 * (2 classes) train one model for class 1; K > 2 classes train K one-vs-rest models, each with its
 * own noise vector; together they are one model with K·d parameters and noise N(0, σ²I_{K·d}), so
 * the joint gradient residual is the ℓ2 norm of the per-class residuals.
 *
 * Solver: damped Newton (Armijo backtracking), gradients exact in float64, Hessians formed in float32
 * with tfjs and factorised by ml-matrix; iterates until ‖∇J‖ ≤ `tol` (the guarantee assumes the
 * exact minimiser: the converged norm is recorded and charged to the removal budget).
 */
import { z } from 'zod';
import { Rng, deriveSeed } from '../../engine/rng.js';
import { UnlearnError } from '../../errors.js';
import { activeRows, addRow, cholesky, cholSolve, norm, rowDot, rowNorm, spectralNormUpper, weightedGram, type Design } from './linalg.js';

/** Parameters of certified training and removal (validated with zod). */
export const CertifiedParamsSchema = z.strictObject({
  /** ε of the (ε, δ) certified-removal guarantee (dimensionless, > 0). Default 1. */
  epsilon: z.number().positive().default(1),
  /** δ of the guarantee, in (0, 1). Default 1e-5. */
  delta: z.number().gt(0).lt(1).default(1e-5),
  /** L2 regularisation λ of the mean-form objective (> 0). Default 1e-3. */
  lambda: z.number().positive().default(1e-3),
  /**
   * Standard deviation σ of each coordinate of the loss-perturbation vector b. Default 1. σ = 0
   * trains the unperturbed model: its budget σε/c is 0, so every removal retrains from scratch.
   */
  sigma: z.number().min(0).default(1),
  /** Append a constant-1 bias feature (regularised like the others). Default true. */
  bias: z.boolean().default(true),
  /** Newton stops when the sum-form gradient norm ‖∇J‖ ≤ tol. Default 1e-8. */
  tol: z.number().positive().default(1e-8),
  /** Newton iteration cap per class. Default 50. */
  maxIter: z.number().int().positive().default(50),
});
export type CertifiedParams = z.infer<typeof CertifiedParamsSchema>;

/** Validate params. @throws UnlearnError INVALID_PARAMS naming each bad field (e.g. λ ≤ 0). */
export function parseCertifiedParams(p: Record<string, unknown>): CertifiedParams {
  const r = CertifiedParamsSchema.safeParse(p);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(params)'}: ${i.message}`).join('; ');
    throw new UnlearnError('INVALID_PARAMS', `invalid certified-removal params: ${issues}`, 'epsilon > 0, 0 < delta < 1, lambda > 0, sigma >= 0');
  }
  return r.data;
}

/** c = √(2 ln(1.5/δ)) of Guo et al. Theorem 3. */
export function noiseConstant(delta: number): number {
  return Math.sqrt(2 * Math.log(1.5 / delta));
}

/** Total gradient-residual budget σ·ε/c (sum-form gradient units). */
export function residualBudget(p: Pick<CertifiedParams, 'sigma' | 'epsilon' | 'delta'>): number {
  return (p.sigma * p.epsilon) / noiseConstant(p.delta);
}

/** The removal budget of a certified model: what has been charged against σ·ε/c. */
export interface RemovalBudget {
  /** σ·ε/c. */
  total: number;
  /** Sum of the gradient-residual bounds charged so far (training residual included). */
  used: number;
  /** Removal steps (Newton updates) since the last (re)training. */
  removals: number;
  /** Number of retrains the budget has forced since the first training. */
  retrains: number;
}

/** The data a certified model is trained on: a design matrix, labels, and which rows are active. */
export interface CertifiedData {
  X: Design;
  /** Class index per row (int32), length X.n. */
  labels: Int32Array;
  numClasses: number;
  /** 1 for rows in the current training set D (0 once removed), length X.n. */
  active: Uint8Array;
}

/** A trained certified logistic-regression model (host arrays; nothing on the tfjs backend). */
export interface CertifiedLogistic {
  kind: 'logreg';
  numClasses: number;
  /** Binary models: 1; one-vs-rest: numClasses. */
  heads: number;
  /** Columns of the design (features + bias). */
  d: number;
  bias: boolean;
  params: CertifiedParams;
  /** Weights, heads × d float64 (row k = model of class k, or of class 1 when binary). */
  W: Float64Array;
  /** Seed the noise b (heads × d, N(0, σ²)) was drawn from; see {@link drawNoise}. */
  noiseSeed: number;
  /** Cholesky factors (heads × d × d, float32) of the Hessians at the last full training: removal preconditioners. */
  precond: Float32Array;
  /** Certified upper bound on ‖X‖₂ over the rows at the last training (valid for every subset). */
  spectralNorm: number;
  /** max_i ‖x_i‖ over the rows at the last training. */
  rowNormMax: number;
  /** Joint ‖∇J(W)‖ at the end of training (charged to the budget). */
  trainResidual: number;
  budget: RemovalBudget;
  /** Newton iterations of the last training, per head. */
  iterations: number[];
}

/** b ∈ R^{heads×d}, b_j ~ N(0, σ²), from Rng(seed). */
export function drawNoise(seed: number, heads: number, d: number, sigma: number): Float64Array {
  const rng = new Rng(`certified-noise/${seed}`);
  const b = new Float64Array(heads * d);
  for (let i = 0; i < b.length; i++) b[i] = sigma * rng.normal();
  return b;
}

/**
 * The noise seed of the `retrain`-th training of a model with base `seed` (0 = first training).
 * The (ε, δ) guarantee assumes whoever sees the weights cannot know b: b is a function of this
 * seed, so when weights leave the operator, set `UNLEARN_NOISE_KEY` to a secret (it is mixed in
 * here and never written anywhere) — otherwise anyone who knows or guesses the seed rebuilds b.
 * The resulting noise seed is recorded in the (private) manifest, so removals stay reproducible.
 */
export function noiseSeedFor(seed: number, retrain: number): number {
  const key = process.env.UNLEARN_NOISE_KEY;
  return deriveSeed(seed, `certified-noise/${retrain}${key ? `/${key}` : ''}`);
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));
const softplus = (z: number) => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));

/** The ±1 target of row i for head k. */
export function target(data: CertifiedData, heads: number, k: number, i: number): number {
  const pos = heads === 1 ? 1 : k;
  return data.labels[i] === pos ? 1 : -1;
}

/** One binary problem: head k of the model on the active rows. */
export interface HeadProblem {
  data: CertifiedData;
  rows: Int32Array;
  heads: number;
  k: number;
  lambda: number;
  /** Noise b of this head (length d). */
  b: Float64Array;
}

/** J(w) of a head (sum form, nats). */
export function objective(pr: HeadProblem, w: Float64Array): number {
  const { data, rows } = pr;
  let f = 0;
  for (const i of rows) f += softplus(-target(data, pr.heads, pr.k, i) * rowDot(data.X, i, w));
  let ww = 0;
  let bw = 0;
  for (let j = 0; j < w.length; j++) (ww += w[j] * w[j]), (bw += pr.b[j] * w[j]);
  return f + (pr.lambda * rows.length * ww) / 2 + bw;
}

/** ∇J(w) = Σ −t_i σ(−t_i z_i) x_i + λ n_A w + b, and the Hessian weights s_i = σ(z_i)(1 − σ(z_i)) (indexed by row). */
export function gradient(pr: HeadProblem, w: Float64Array): { g: Float64Array; s: Float64Array } {
  const { data, rows } = pr;
  const d = w.length;
  const g = new Float64Array(d);
  const s = new Float64Array(data.X.n);
  for (const i of rows) {
    const t = target(data, pr.heads, pr.k, i);
    const z = rowDot(data.X, i, w);
    addRow(data.X, i, -t * sigmoid(-t * z), g);
    const p = sigmoid(z);
    s[i] = p * (1 - p);
  }
  const reg = pr.lambda * rows.length;
  for (let j = 0; j < d; j++) g[j] += reg * w[j] + pr.b[j];
  return { g, s };
}

/** Hessian-vector product H v = Σ_{rows} s_i x_i (x_iᵀv) + λ·|rows|·v, exact float64. */
export function hessianVector(X: Design, rows: Int32Array, s: Float64Array, lambda: number, v: Float64Array): Float64Array {
  const out = new Float64Array(v.length);
  for (const i of rows) {
    const a = s[i] * rowDot(X, i, v);
    if (a !== 0) addRow(X, i, a, out);
  }
  const reg = lambda * rows.length;
  for (let j = 0; j < v.length; j++) out[j] += reg * v[j];
  return out;
}

/**
 * Minimise J for one head by damped Newton from w = 0.
 * @returns the weights, the final gradient norm, the iterations, and the Cholesky factor of the
 *   (float32-formed) Hessian at the last iterate.
 * @throws UnlearnError NUMERIC_ERROR when the Hessian is singular (λ too small) or the iteration
 *   cap is hit before ‖∇J‖ ≤ tol.
 */
export function newtonSolve(pr: HeadProblem, tol: number, maxIter: number): { w: Float64Array; gradNorm: number; iterations: number; L: Float64Array } {
  const d = pr.data.X.d;
  let w = new Float64Array(d);
  let { g, s } = gradient(pr, w);
  let gn = norm(g);
  let L: Float64Array | undefined;
  let it = 0;
  for (; ; it++) {
    if (gn <= tol && L) break;
    if (it >= maxIter) {
      throw new UnlearnError('NUMERIC_ERROR', `Newton did not reach ‖∇J‖ ≤ ${tol} in ${maxIter} iterations (‖∇J‖ = ${gn.toExponential(3)})`, 'raise maxIter or tol, or lambda');
    }
    L = cholesky(weightedGram(pr.data.X, pr.rows, s, pr.lambda * pr.rows.length), d, 'the Hessian of the training objective');
    if (gn <= tol) break;
    const p = cholSolve(L, d, g).map((x) => -x);
    const f0 = objective(pr, w);
    let gp = 0;
    for (let j = 0; j < d; j++) gp += g[j] * p[j];
    let t = 1;
    let wNew = w;
    for (let ls = 0; ls < 40; ls++, t /= 2) {
      wNew = w.map((x, j) => x + t * p[j]);
      if (objective(pr, wNew) <= f0 + 1e-4 * t * gp + 1e-13 * Math.abs(f0)) break;
    }
    w = wNew;
    ({ g, s } = gradient(pr, w));
    gn = norm(g);
  }
  return { w, gradNorm: gn, iterations: it, L: L! };
}

/** Number of heads for a class count: 1 for binary, K for one-vs-rest. */
export function headsFor(numClasses: number): number {
  return numClasses === 2 ? 1 : numClasses;
}

/**
 * Train a certified logistic-regression model on the active rows of `data` with noise drawn
 * from {@link noiseSeedFor}(seed, retrains).
 * @param budget carry the retrain counter over when this is a retrain forced by the budget.
 * @throws UnlearnError INVALID_PARAMS (bad params, < 2 classes or no active rows), NUMERIC_ERROR.
 */
export function trainCertifiedLogistic(data: CertifiedData, paramsIn: Record<string, unknown>, seed: number, retrains = 0): CertifiedLogistic {
  const params = parseCertifiedParams(paramsIn);
  const rows = activeRows(data.active);
  if (rows.length === 0) throw new UnlearnError('INVALID_PARAMS', 'no training examples left', 'keep at least one example');
  if (data.numClasses < 2) throw new UnlearnError('INVALID_PARAMS', `need at least 2 classes, got ${data.numClasses}`);
  if (data.X.bias !== params.bias) throw new UnlearnError('INVALID_PARAMS', `design bias column (${data.X.bias}) differs from params.bias (${params.bias})`);
  const heads = headsFor(data.numClasses);
  const d = data.X.d;
  const noiseSeed = noiseSeedFor(seed, retrains);
  const b = drawNoise(noiseSeed, heads, d, params.sigma);
  const W = new Float64Array(heads * d);
  const precond = new Float32Array(heads * d * d);
  const iterations: number[] = [];
  let res2 = 0;
  for (let k = 0; k < heads; k++) {
    const pr: HeadProblem = { data, rows, heads, k, lambda: params.lambda, b: b.subarray(k * d, (k + 1) * d) };
    const r = newtonSolve(pr, params.tol, params.maxIter);
    W.set(r.w, k * d);
    precond.set(r.L, k * d * d);
    iterations.push(r.iterations);
    res2 += r.gradNorm ** 2;
  }
  let rowNormMax = 0;
  for (const i of rows) rowNormMax = Math.max(rowNormMax, rowNorm(data.X, i));
  const trainResidual = Math.sqrt(res2);
  return {
    kind: 'logreg',
    numClasses: data.numClasses,
    heads,
    d,
    bias: params.bias,
    params,
    W,
    noiseSeed,
    precond,
    spectralNorm: spectralNormUpper(data.X, rows),
    rowNormMax,
    trainResidual,
    budget: { total: residualBudget(params), used: trainResidual, removals: 0, retrains },
    iterations,
  };
}

/** The joint gradient norm ‖∇J(W)‖ of a model on the active rows of `data` (exact, float64). */
export function gradientNorm(model: Pick<CertifiedLogistic, 'W' | 'heads' | 'd' | 'params' | 'noiseSeed'>, data: CertifiedData): number {
  const rows = activeRows(data.active);
  const b = drawNoise(model.noiseSeed, model.heads, model.d, model.params.sigma);
  let s2 = 0;
  for (let k = 0; k < model.heads; k++) {
    const pr: HeadProblem = { data, rows, heads: model.heads, k, lambda: model.params.lambda, b: b.subarray(k * model.d, (k + 1) * model.d) };
    s2 += norm(gradient(pr, model.W.subarray(k * model.d, (k + 1) * model.d)).g) ** 2;
  }
  return Math.sqrt(s2);
}

/**
 * Scores (logits) of examples: binary → [0, wᵀx] (softmax of which is the logistic model);
 * one-vs-rest → [w_kᵀx]_k. Features come as a dense float32 row of length d − bias.
 */
export function logisticLogits(model: Pick<CertifiedLogistic, 'W' | 'heads' | 'd' | 'bias' | 'numClasses'>, x: Float32Array): Float64Array {
  const f = model.d - (model.bias ? 1 : 0);
  const out = new Float64Array(model.numClasses);
  for (let k = 0; k < model.heads; k++) {
    const o = k * model.d;
    let z = model.bias ? model.W[o + f] : 0;
    for (let j = 0; j < f; j++) if (x[j] !== 0) z += x[j] * model.W[o + j];
    if (model.heads === 1) out[1] = z;
    else out[k] = z;
  }
  return out;
}
