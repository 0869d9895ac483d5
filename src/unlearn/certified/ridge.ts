/**
 * Ridge regression with exact removal (docs/methods.md).
 *
 * Model: w = argmin ½Σ_{i∈A}(x_iᵀw − y_i)² + (λ/2)‖w‖² = A⁻¹ Xᵀy with A = XᵀX + λI. λ is a
 * fixed total (not scaled by n), so removing row i changes A by the rank-one term −x_i x_iᵀ and
 * the inverse is downdated exactly by Sherman–Morrison:
 *
 *   (A − x xᵀ)⁻¹ = A⁻¹ + (A⁻¹x)(A⁻¹x)ᵀ / (1 − xᵀA⁻¹x),   Xᵀy ← Xᵀy − y_i x_i.
 *
 * The result equals a fresh fit on the remaining data (guarantee `exact`). Safeguard: when
 * 1 − xᵀA⁻¹x (one minus the point's leverage) falls below `minPivot`, the downdate would lose
 * about log10(1/(1 − h)) digits, so A⁻¹ is recomputed from the remaining rows instead (ml-matrix
 * Cholesky). Memory: d² float64 for A⁻¹; time O(d²) per removed row, O(n·d² + d³) per recompute.
 */
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { z } from 'zod';
import { UnlearnError } from '../../errors.js';
import { activeRows, addRow, rowDot, type Design } from './linalg.js';

export const RidgeParamsSchema = z.strictObject({
  /** L2 penalty λ (> 0), in units of squared target per squared weight. Default 1. */
  lambda: z.number().positive().default(1),
  /** Append a constant-1 bias feature (regularised). Default true. */
  bias: z.boolean().default(true),
  /** Recompute A⁻¹ when 1 − leverage < minPivot. Default 1e-6. */
  minPivot: z.number().positive().lt(1).default(1e-6),
});
export type RidgeParams = z.infer<typeof RidgeParamsSchema>;

/** Validate ridge params. @throws UnlearnError INVALID_PARAMS (e.g. λ ≤ 0). */
export function parseRidgeParams(p: Record<string, unknown>): RidgeParams {
  const r = RidgeParamsSchema.safeParse(p);
  if (!r.success) throw new UnlearnError('INVALID_PARAMS', `invalid ridge params: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, 'lambda > 0, 0 < minPivot < 1');
  return r.data;
}

/** The regression data: design, targets, active rows. */
export interface RidgeData {
  X: Design;
  /** Target per row (float64). */
  y: Float64Array;
  active: Uint8Array;
}

/** A ridge model with the state exact removal needs. */
export interface RidgeModel {
  kind: 'ridge';
  d: number;
  bias: boolean;
  params: RidgeParams;
  /** Weights (float64, length d). */
  w: Float64Array;
  /** A⁻¹ = (XᵀX + λI)⁻¹, d × d row-major float64. */
  Ainv: Float64Array;
  /** Xᵀy over the active rows (float64, length d). */
  Xty: Float64Array;
}

function checkTargets(data: RidgeData): void {
  for (let i = 0; i < data.y.length; i++) {
    if (!Number.isFinite(data.y[i])) throw new UnlearnError('DATASET_INVALID', `non-finite regression target at row ${i}`, 'remove or impute NaN/∞ targets');
  }
}

/** (XᵀX + λI)⁻¹ of the active rows (float64; ml-matrix for the product and the Cholesky solve). */
export function ridgeInverse(X: Design, rows: Int32Array, lambda: number): Float64Array {
  const d = X.d;
  const dense = new Matrix(rows.length, d);
  rows.forEach((i, k) => {
    for (let p = X.rowPtr[i]; p < X.rowPtr[i + 1]; p++) dense.set(k, X.col[p], X.val[p]);
  });
  const A = dense.transpose().mmul(dense);
  for (let a = 0; a < d; a++) {
    for (let b = 0; b < a; b++) A.set(a, b, A.get(b, a)); // exact symmetry for the Cholesky check
    A.set(a, a, A.get(a, a) + lambda);
  }
  const ch = new CholeskyDecomposition(A);
  if (!ch.isPositiveDefinite()) throw new UnlearnError('NUMERIC_ERROR', 'XᵀX + λI is not positive definite', 'raise --lambda');
  return Float64Array.from(ch.solve(Matrix.eye(d)).to1DArray());
}

function solveW(Ainv: Float64Array, Xty: Float64Array, d: number): Float64Array {
  const w = new Float64Array(d);
  for (let a = 0; a < d; a++) {
    let s = 0;
    for (let b = 0; b < d; b++) s += Ainv[a * d + b] * Xty[b];
    w[a] = s;
  }
  return w;
}

/**
 * Fit ridge regression on the active rows.
 * @throws UnlearnError INVALID_PARAMS (λ ≤ 0, no rows), DATASET_INVALID (NaN targets), NUMERIC_ERROR.
 */
export function fitRidge(data: RidgeData, paramsIn: Record<string, unknown>): RidgeModel {
  const params = parseRidgeParams(paramsIn);
  checkTargets(data);
  const rows = activeRows(data.active);
  if (rows.length === 0) throw new UnlearnError('INVALID_PARAMS', 'no training examples', 'keep at least one example');
  const d = data.X.d;
  const Ainv = ridgeInverse(data.X, rows, params.lambda);
  const Xty = new Float64Array(d);
  for (const i of rows) addRow(data.X, i, data.y[i], Xty);
  return { kind: 'ridge', d, bias: data.X.bias, params, w: solveW(Ainv, Xty, d), Ainv, Xty };
}

/** What an exact removal did. */
export interface RidgeRemoval {
  model: RidgeModel;
  active: Uint8Array;
  /** Rows handled by a Sherman–Morrison downdate. */
  downdates: number;
  /** True when A⁻¹ was recomputed from the remaining rows (ill-conditioned downdate). */
  recomputed: boolean;
  /** Smallest 1 − leverage met. */
  minPivot: number;
  seconds: number;
}

/**
 * Remove rows exactly: one Sherman–Morrison downdate per row, or a recompute of A⁻¹ when a
 * downdate is ill-conditioned (1 − h < params.minPivot). Inputs are not modified.
 * @throws UnlearnError INVALID_PARAMS when a row is not active or nothing would remain.
 */
export function removeRidge(model: RidgeModel, data: RidgeData, remove: ArrayLike<number>): RidgeRemoval {
  const t0 = performance.now();
  const d = model.d;
  const active = Uint8Array.from(data.active);
  const Ainv = Float64Array.from(model.Ainv);
  const Xty = Float64Array.from(model.Xty);
  let recomputed = false;
  let downdates = 0;
  let minPivot = Infinity;
  for (let j = 0; j < remove.length; j++) {
    const i = remove[j];
    if (!(i >= 0 && i < data.X.n) || !active[i]) throw new UnlearnError('INVALID_PARAMS', `row ${i} is not in the model's training set`, 'remove only examples the model was trained on');
    active[i] = 0;
    addRow(data.X, i, -data.y[i], Xty);
    if (recomputed) continue;
    const u = new Float64Array(d);
    for (let a = 0; a < d; a++) u[a] = rowDot(data.X, i, Ainv, a * d); // A⁻¹ symmetric: row a of A⁻¹ · x
    const h = rowDot(data.X, i, u);
    const pivot = 1 - h;
    minPivot = Math.min(minPivot, pivot);
    if (!(pivot >= model.params.minPivot)) {
      recomputed = true;
      continue;
    }
    for (let a = 0; a < d; a++) {
      const ua = u[a] / pivot;
      for (let b = 0; b < d; b++) Ainv[a * d + b] += ua * u[b];
    }
    downdates++;
  }
  const rows = activeRows(active);
  if (rows.length === 0) throw new UnlearnError('INVALID_PARAMS', 'the removal would leave no training data', 'keep at least one example');
  const inv = recomputed ? ridgeInverse(data.X, rows, model.params.lambda) : Ainv;
  const next: RidgeModel = { ...model, Ainv: inv, Xty, w: solveW(inv, Xty, d) };
  return { model: next, active, downdates, recomputed, minPivot, seconds: (performance.now() - t0) / 1000 };
}

/** ŷ = xᵀw for a dense float32 feature row (length d − bias). */
export function ridgePredict(model: Pick<RidgeModel, 'w' | 'd' | 'bias'>, x: Float32Array): number {
  const f = model.d - (model.bias ? 1 : 0);
  let s = model.bias ? model.w[f] : 0;
  for (let j = 0; j < f; j++) s += x[j] * model.w[j];
  return s;
}
