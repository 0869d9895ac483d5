/**
 * Linear algebra for certified removal (Guo et al., ICML 2020), float64 on host arrays.
 *
 * - The design matrix X (n × d, the examples' features plus an optional constant bias column) is
 *   held sparse (CSR, float64 values): hashed bag-of-words and ReLU features are mostly zeros, and
 *   every matrix-vector product of the removal path is O(nnz).
 * - Weighted Gram matrices Xᵀ diag(s) X (Hessians, d × d) are formed with TensorFlow.js `matMul`
 *   (float32, on the active backend) in row chunks; they serve as Newton directions during training
 *   and as preconditioners for removal, where float32 precision is enough: the quantities the
 *   guarantee depends on (gradients, Hessian-vector products, residuals) are exact float64.
 * - Cholesky factorisation: `ml-matrix` (CholeskyDecomposition); the O(d²) triangular solves with its
 *   factor run on flat Float64Arrays.
 *
 * Cost and memory vs d (n examples, nnz non-zeros): a Gram matrix costs 2·n·d² flops on the tfjs
 * backend plus d² float64 (8·d² bytes: 8 MiB at d = 1024, 128 MiB at d = 4096); a Cholesky factor
 * d³/3 flops in JS (≈ 0.25 s at d = 785, 0.55 s at d = 1024, ≈ 35 s at d = 4096 on one core; measured
 * by bench/certified.ts) and another 8·d² bytes; a matrix-vector product 2·nnz flops.
 */
import * as tf from '@tensorflow/tfjs-core';
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { featureSize, type Dataset } from '../../data/dataset.js';
import { UnlearnError } from '../../errors.js';

/** A design matrix in CSR form: row i's non-zeros are `col/val[rowPtr[i] .. rowPtr[i+1])`. */
export interface Design {
  /** Rows (examples). */
  n: number;
  /** Columns: feature size, plus 1 when `bias` (the last column is the constant 1). */
  d: number;
  bias: boolean;
  rowPtr: Int32Array;
  col: Int32Array;
  val: Float64Array;
}

/**
 * Build the design matrix of examples `rows` of `ds` (in that order), appending a constant-1 bias
 * column when `bias`.
 * @throws UnlearnError DATASET_INVALID when a feature is NaN or ±∞ (names the example id).
 */
export function designFrom(ds: Dataset, rows: ArrayLike<number>, bias: boolean): Design {
  const f = featureSize(ds);
  const d = f + (bias ? 1 : 0);
  const n = rows.length;
  let nnz = 0;
  for (let k = 0; k < n; k++) {
    const o = rows[k] * f;
    for (let j = 0; j < f; j++) {
      const v = ds.features[o + j];
      if (v !== 0) {
        if (!Number.isFinite(v)) throw new UnlearnError('DATASET_INVALID', `non-finite feature ${j} in example ${ds.ids[rows[k]]}`, 'remove or impute NaN/∞ features before training');
        nnz++;
      }
    }
  }
  if (bias) nnz += n;
  const rowPtr = new Int32Array(n + 1);
  const col = new Int32Array(nnz);
  const val = new Float64Array(nnz);
  let p = 0;
  for (let k = 0; k < n; k++) {
    const o = rows[k] * f;
    for (let j = 0; j < f; j++) {
      const v = ds.features[o + j];
      if (v !== 0) (col[p] = j), (val[p++] = v);
    }
    if (bias) (col[p] = f), (val[p++] = 1);
    rowPtr[k + 1] = p;
  }
  return { n, d, bias, rowPtr, col, val };
}

/** x_iᵀ v for row i. */
export function rowDot(X: Design, i: number, v: Float64Array, vOffset = 0): number {
  let s = 0;
  for (let p = X.rowPtr[i]; p < X.rowPtr[i + 1]; p++) s += X.val[p] * v[vOffset + X.col[p]];
  return s;
}

/** out += a · x_i. */
export function addRow(X: Design, i: number, a: number, out: Float64Array, outOffset = 0): void {
  for (let p = X.rowPtr[i]; p < X.rowPtr[i + 1]; p++) out[outOffset + X.col[p]] += a * X.val[p];
}

/** ‖x_i‖₂. */
export function rowNorm(X: Design, i: number): number {
  let s = 0;
  for (let p = X.rowPtr[i]; p < X.rowPtr[i + 1]; p++) s += X.val[p] * X.val[p];
  return Math.sqrt(s);
}

/** Indices of the set entries of a 0/1 mask. */
export function activeRows(mask: Uint8Array): Int32Array {
  let m = 0;
  for (let i = 0; i < mask.length; i++) m += mask[i];
  const out = new Int32Array(m);
  for (let i = 0, k = 0; i < mask.length; i++) if (mask[i]) out[k++] = i;
  return out;
}

/**
 * G = Σ_{i ∈ rows} s_i x_i x_iᵀ (+ `ridge`·I), d × d row-major float64, symmetric. Computed as
 * (√s ⊙ X)ᵀ(√s ⊙ X) with tfjs `matMul` (float32) in chunks of `chunk` rows, then symmetrised.
 * `s` is indexed by row (length ≥ X.n), s_i ≥ 0; pass undefined for s ≡ 1.
 * Memory: chunk·d float32 + d² float32 on the backend, d² float64 on the host.
 */
export function weightedGram(X: Design, rows: Int32Array, s: Float64Array | undefined, ridge = 0, chunk = 4096): Float64Array {
  const d = X.d;
  let acc = tf.zeros([d, d]);
  for (let c = 0; c < rows.length; c += chunk) {
    const m = Math.min(chunk, rows.length - c);
    const dense = new Float32Array(m * d);
    for (let k = 0; k < m; k++) {
      const i = rows[c + k];
      const w = s ? Math.sqrt(s[i]) : 1;
      for (let p = X.rowPtr[i]; p < X.rowPtr[i + 1]; p++) dense[k * d + X.col[p]] = w * X.val[p];
    }
    const next = tf.tidy(() => {
      const x = tf.tensor2d(dense, [m, d]);
      return tf.add(acc, tf.matMul(x, x, true, false));
    });
    acc.dispose();
    acc = next;
  }
  const g32 = acc.dataSync();
  acc.dispose();
  const G = new Float64Array(d * d);
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = (g32[a * d + b] + g32[b * d + a]) / 2;
      G[a * d + b] = v;
      G[b * d + a] = v;
    }
    G[a * d + a] += ridge;
  }
  return G;
}

/**
 * Cholesky factor L (lower triangular, row-major d × d float64, A = L Lᵀ) of a symmetric matrix,
 * by ml-matrix's CholeskyDecomposition.
 * @throws UnlearnError NUMERIC_ERROR when A is not (numerically) positive definite: a pivot ≤ 0
 *   or smaller than 1e-13 × the largest diagonal entry. `what` names the matrix in the message.
 */
export function cholesky(A: Float64Array, d: number, what = 'matrix'): Float64Array {
  const M = Matrix.from1DArray(d, d, A);
  const ch = new CholeskyDecomposition(M);
  let maxDiag = 0;
  for (let i = 0; i < d; i++) maxDiag = Math.max(maxDiag, A[i * d + i]);
  const Lm = ch.lowerTriangularMatrix;
  const L = new Float64Array(d * d);
  let minPivot = Infinity;
  for (let i = 0; i < d; i++) {
    const row = Lm.getRow(i);
    for (let j = 0; j <= i; j++) L[i * d + j] = row[j];
    minPivot = Math.min(minPivot, row[i] * row[i]);
  }
  if (!ch.isPositiveDefinite() || !(minPivot > 1e-13 * maxDiag)) {
    throw new UnlearnError('NUMERIC_ERROR', `${what} is singular or not positive definite (smallest pivot ${minPivot.toExponential(2)}, largest diagonal ${maxDiag.toExponential(2)})`, 'raise the L2 regularisation --lambda');
  }
  return L;
}

/** True when A (symmetric) is positive definite per ml-matrix's Cholesky. */
export function isPositiveDefinite(A: Float64Array, d: number): boolean {
  return new CholeskyDecomposition(Matrix.from1DArray(d, d, A)).isPositiveDefinite();
}

/**
 * Solve L Lᵀ x = b with a Cholesky factor (float64 or float32 storage), O(d²).
 * `L` holds the factor at `offset` (row-major d × d).
 */
export function cholSolve(L: Float64Array | Float32Array, d: number, b: Float64Array, offset = 0): Float64Array {
  const y = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = b[i];
    const r = offset + i * d;
    for (let j = 0; j < i; j++) s -= L[r + j] * y[j];
    y[i] = s / L[r + i];
  }
  for (let i = d - 1; i >= 0; i--) {
    let s = y[i];
    for (let j = i + 1; j < d; j++) s -= L[offset + j * d + i] * y[j];
    y[i] = s / L[offset + i * d + i];
  }
  return y;
}

/** Euclidean norm. */
export function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/**
 * A certified upper bound on the spectral norm ‖X_rows‖₂ = √λ_max(XᵀX): power iteration on the
 * Gram matrix G = XᵀX gives an estimate θ ≤ λ_max; then μ = θ·(1 + margin) is accepted as an upper
 * bound only when μI − G is positive definite (ml-matrix Cholesky), doubling the margin until it is.
 * Removing rows never increases the spectral norm, so the bound stays valid for every subset of
 * `rows`. Cost: one Gram matrix and one or more Cholesky factorisations (d³/3 each).
 */
export function spectralNormUpper(X: Design, rows: Int32Array): number {
  const d = X.d;
  const G = weightedGram(X, rows, undefined);
  let v = new Float64Array(d).fill(1 / Math.sqrt(d));
  let theta = 0;
  for (let it = 0; it < 500; it++) {
    const w = new Float64Array(d);
    for (let a = 0; a < d; a++) {
      let s = 0;
      for (let b = 0; b < d; b++) s += G[a * d + b] * v[b];
      w[a] = s;
    }
    const nw = norm(w);
    if (nw === 0) return 0;
    const prev = theta;
    theta = nw;
    v = w.map((x) => x / nw);
    if (it > 5 && Math.abs(theta - prev) <= 1e-10 * theta) break;
  }
  for (let margin = 1e-3; ; margin *= 2) {
    const mu = theta * (1 + margin);
    const M = new Float64Array(d * d);
    for (let i = 0; i < d * d; i++) M[i] = -G[i];
    for (let a = 0; a < d; a++) M[a * d + a] += mu;
    if (isPositiveDefinite(M, d)) return Math.sqrt(mu);
    if (margin > 1e3) throw new UnlearnError('NUMERIC_ERROR', 'could not certify an upper bound on the spectral norm of the data', 'check the features for extreme values');
  }
}

/**
 * Preconditioned conjugate gradients for A x = b with A symmetric positive definite.
 * Stops when ‖b − A x‖ ≤ tol·‖b‖ or after maxIter; returns the explicitly recomputed residual norm
 * ‖A x − b‖ (which a caller adds to its error bound).
 */
export function pcg(
  applyA: (v: Float64Array) => Float64Array,
  b: Float64Array,
  precond: (r: Float64Array) => Float64Array,
  tol = 1e-12,
  maxIter = 200,
): { x: Float64Array; residual: number; iterations: number } {
  const d = b.length;
  const x = new Float64Array(d);
  const r = Float64Array.from(b);
  let z = precond(r);
  const p = Float64Array.from(z);
  let rz = dot(r, z);
  const bn = norm(b);
  let it = 0;
  if (bn === 0) return { x, residual: 0, iterations: 0 };
  for (; it < maxIter && norm(r) > tol * bn; it++) {
    const Ap = applyA(p);
    const alpha = rz / dot(p, Ap);
    for (let i = 0; i < d; i++) (x[i] += alpha * p[i]), (r[i] -= alpha * Ap[i]);
    z = precond(r);
    const rzNew = dot(r, z);
    const beta = rzNew / rz;
    rz = rzNew;
    for (let i = 0; i < d; i++) p[i] = z[i] + beta * p[i];
  }
  const Ax = applyA(x);
  let res = 0;
  for (let i = 0; i < d; i++) res += (Ax[i] - b[i]) ** 2;
  return { x, residual: Math.sqrt(res), iterations: it };
}

/** Dot product. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
