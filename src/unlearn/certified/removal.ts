/**
 * Certified removal by one Newton step (Guo et al., ICML 2020, Algorithm 1 and Corollary 1).
 *
 * To remove the rows R (m of them, a batch removed in one step) from a model with weights w trained
 * on the active rows A, for each head:
 *
 *   Δ  = Σ_{i∈R} ∇ℓ(wᵀx_i, t_i) + m·λ·w                  (the removed terms' gradient, regulariser share included)
 *   H  = Σ_{i∈A∖R} ℓ''(wᵀx_i) x_i x_iᵀ + λ·|A∖R|·I         (the Hessian on the remaining data, at w)
 *   w⁻ = w + H⁻¹Δ
 *
 * H⁻¹Δ is computed by preconditioned conjugate gradients with exact float64 Hessian-vector products
 * (the preconditioner is the Cholesky factor of the Hessian at the last full training), so no d × d
 * matrix is formed per removal. With v the computed H⁻¹Δ and e = Hv − Δ its (measured) solve
 * residual, the gradient on A∖R at w⁻ is e + Σ_{i∈A∖R} c_i (x_iᵀv) x_i with
 * c_i = ∫₀¹ ℓ''(x_iᵀ(w + τv)) dτ − ℓ''(x_iᵀw), |c_i| ≤ γ|x_iᵀv| (ℓ'' is γ-Lipschitz, γ = 1/4 for
 * the logistic loss as in the paper). Hence the data-dependent bound charged per step:
 *
 *   β = ‖e‖ + γ · ‖X‖₂ · √(Σ_{i∈A∖R} (x_iᵀv)⁴)
 *
 * which is never larger than the paper's Corollary 1, γ · ‖X‖₂ · ‖v‖ · ‖X_{A∖R} v‖ (for ‖x_i‖ ≤ 1,
 * since Σ a_i⁴ ≤ max a_i² · Σ a_i² and |x_iᵀv| ≤ ‖x_i‖‖v‖); both are recorded (`corollary1`
 * uses R_max = max‖x_i‖ in place of the paper's assumption ‖x_i‖ ≤ 1). ‖X‖₂ is the certified upper
 * bound of the last full training, valid for every subset. For one-vs-rest the joint bound is
 * √(Σ_k β_k²). Bounds are summed over removals; when the sum would exceed σ·ε/c the model is
 * retrained from scratch on A∖R with fresh noise and the budget restarts.
 */
import { UnlearnError } from '../../errors.js';
import { activeRows, addRow, cholSolve, norm, pcg, rowDot, rowNorm } from './linalg.js';
import { drawNoise, gradient, hessianVector, target, trainCertifiedLogistic, type CertifiedData, type CertifiedLogistic, type HeadProblem } from './logistic.js';

/** γ: Lipschitz constant of ℓ'' used for the logistic loss (the paper's value; ℓ''' ≤ 1/(6√3) < 1/4). */
export const LOGISTIC_GAMMA = 0.25;

/** What one removal step did. */
export interface RemovalOutcome {
  /** The new model (the input is not modified). */
  model: CertifiedLogistic;
  /** The new active mask (the input's is not modified). */
  active: Uint8Array;
  /** True when the budget forced a retrain from scratch instead of the Newton step. */
  retrained: boolean;
  /** Joint gradient-residual bound β of the Newton step (computed even when it led to a retrain). */
  bound: number;
  /** Per-head bounds β_k. */
  headBounds: number[];
  /** The paper's Corollary 1 bound γ‖X‖₂·R_max‖v‖·‖Xv‖ (+ ‖e‖), joint over heads; ≥ bound. */
  corollary1: number;
  /** Linear-solve residuals ‖Hv − Δ‖ per head (part of β_k). */
  solveResiduals: number[];
  /** CG iterations per head. */
  cgIterations: number[];
  /** ‖v‖ = ‖H⁻¹Δ‖ joint (the parameter change of the Newton step). */
  stepNorm: number;
  /** Wall time, seconds. */
  seconds: number;
}

/**
 * Remove rows `remove` (indices into the design; all must be active) from a certified logistic
 * model in one Newton step, charging the bound to the budget, or retrain (fresh noise) when the
 * budget would be exceeded.
 * @throws UnlearnError INVALID_PARAMS when a row is out of range or not active, or nothing remains;
 *   NUMERIC_ERROR from a forced retrain.
 */
export function removeCertified(model: CertifiedLogistic, data: CertifiedData, remove: ArrayLike<number>, seed: number): RemovalOutcome {
  const t0 = performance.now();
  const active = Uint8Array.from(data.active);
  for (let j = 0; j < remove.length; j++) {
    const i = remove[j];
    if (!(i >= 0 && i < data.X.n) || !active[i]) throw new UnlearnError('INVALID_PARAMS', `row ${i} is not in the model's training set`, 'remove only examples the model was trained on');
    active[i] = 0;
  }
  const rows = activeRows(active);
  if (rows.length === 0) throw new UnlearnError('INVALID_PARAMS', 'the removal would leave no training data', 'keep at least one example');
  const after: CertifiedData = { ...data, active };
  const { d, heads, params } = model;
  const lambda = params.lambda;
  const b = drawNoise(model.noiseSeed, heads, d, params.sigma);
  const W = Float64Array.from(model.W);
  const headBounds: number[] = [];
  let cor2 = 0;
  const solveResiduals: number[] = [];
  const cgIterations: number[] = [];
  let step2 = 0;
  for (let k = 0; k < heads; k++) {
    const w = model.W.subarray(k * d, (k + 1) * d);
    const pr: HeadProblem = { data: after, rows, heads, k, lambda, b: b.subarray(k * d, (k + 1) * d) };
    // Hessian weights at w on the remaining rows (gradient() fills s for `rows`).
    const { s } = gradient(pr, w);
    const delta = new Float64Array(d);
    for (let j = 0; j < remove.length; j++) {
      const i = remove[j];
      const t = target(data, heads, k, i);
      const z = rowDot(data.X, i, w);
      addRow(data.X, i, -t / (1 + Math.exp(t * z)), delta);
    }
    for (let j = 0; j < d; j++) delta[j] += remove.length * lambda * w[j];
    const pre = (r: Float64Array) => cholSolve(model.precond, d, r, k * d * d);
    const cg = pcg((v) => hessianVector(data.X, rows, s, lambda, v), delta, pre, 1e-13, 500);
    const v = cg.x;
    let xv2 = 0;
    let xv4 = 0;
    for (const i of rows) {
      const a2 = rowDot(data.X, i, v) ** 2;
      xv2 += a2;
      xv4 += a2 * a2;
    }
    const vn = norm(v);
    const beta = cg.residual + LOGISTIC_GAMMA * model.spectralNorm * Math.sqrt(xv4);
    cor2 += (cg.residual + LOGISTIC_GAMMA * model.spectralNorm * model.rowNormMax * vn * Math.sqrt(xv2)) ** 2;
    headBounds.push(beta);
    solveResiduals.push(cg.residual);
    cgIterations.push(cg.iterations);
    step2 += vn * vn;
    for (let j = 0; j < d; j++) W[k * d + j] = w[j] + v[j];
  }
  const bound = Math.sqrt(headBounds.reduce((a, x) => a + x * x, 0));
  const base = { active, bound, headBounds, corollary1: Math.sqrt(cor2), solveResiduals, cgIterations, stepNorm: Math.sqrt(step2) };
  if (model.budget.used + bound > model.budget.total) {
    const fresh = trainCertifiedLogistic(after, params, seed, model.budget.retrains + 1);
    return { ...base, model: fresh, retrained: true, seconds: (performance.now() - t0) / 1000 };
  }
  // The spectral-norm and row-norm bounds of the last training stay valid for the subset.
  const next: CertifiedLogistic = {
    ...model,
    W,
    budget: { ...model.budget, used: model.budget.used + bound, removals: model.budget.removals + 1 },
  };
  return { ...base, model: next, retrained: false, seconds: (performance.now() - t0) / 1000 };
}

/** Remaining budget σε/c − used (≥ 0 by construction after any removal). */
export function budgetLeft(model: Pick<CertifiedLogistic, 'budget'>): number {
  return model.budget.total - model.budget.used;
}

/** max‖x_i‖ over active rows (for checks). */
export function maxRowNorm(data: CertifiedData): number {
  let r = 0;
  for (const i of activeRows(data.active)) r = Math.max(r, rowNorm(data.X, i));
  return r;
}
