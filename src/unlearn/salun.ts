import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import type { Dataset } from '../data/dataset.js';
import { batchIndices, batchTensors } from '../train/batches.js';
import { perExampleCrossEntropy } from '../train/loss.js';
import { trainableVariables } from '../train/step.js';
import { optimizerParams, resolveOptimizer } from './common.js';
import type { UnlearningMethod } from './method.js';
import { randomLabelTraining } from './randomLabel.js';

export const SalUnParams = z
  .object({
    /** Fraction k of the weights kept trainable: those with the largest |∇θ CE(D_f)|. Paper default 0.5. */
    maskFraction: z.number().gt(0).max(1).default(0.5),
    /** Epochs of random-label training (see `random-label`). */
    epochs: z.number().int().positive().default(2),
    ...optimizerParams,
  })
  .strict();
export type SalUnParams = z.infer<typeof SalUnParams>;

/**
 * The gradient of the mean forget-set cross-entropy at `model`, g = ∇θ (1/|D_f|) Σ_{i∈D_f} CE(f_θ(x_i), y_i),
 * one float32 array per trainable variable (model order), accumulated over batches of `batchSize`.
 */
export function forgetGradient(model: tfl.LayersModel, ds: Dataset, forgetIdx: Int32Array, batchSize: number): Float32Array[] {
  const vars = trainableVariables(model);
  const acc = vars.map((v) => new Float32Array(v.size));
  for (const idx of batchIndices(forgetIdx, batchSize)) {
    const { x, y } = batchTensors(ds, idx);
    const grads = tf.tidy(() => {
      const { grads } = tf.variableGrads(() => tf.div(tf.sum(perExampleCrossEntropy(model.apply(x, { training: false }) as tf.Tensor, y)), forgetIdx.length) as tf.Scalar, vars);
      return vars.map((v) => grads[v.name]);
    });
    grads.forEach((g, i) => {
      const d = g.dataSync();
      for (let k = 0; k < d.length; k++) acc[i][k] += d[k];
    });
    tf.dispose([x, y, ...grads]);
  }
  return acc;
}

/**
 * SalUn's weight saliency mask: 1 for the ⌈k·n⌉ entries (over all n trainable scalars, one global
 * ranking) with the largest |g|, 0 elsewhere; ties broken by position (earlier variable and
 * index first), so exactly ⌈k·n⌉ ones. Returns one Uint8Array per variable, shaped like `grads`.
 */
export function saliencyMask(grads: Float32Array[], fraction: number): Uint8Array[] {
  const n = grads.reduce((s, g) => s + g.length, 0);
  const keep = Math.min(n, Math.ceil(fraction * n));
  const abs = new Float32Array(n);
  let o = 0;
  for (const g of grads) for (let k = 0; k < g.length; k++) abs[o++] = Math.abs(g[k]);
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => abs[b] - abs[a] || a - b);
  const flat = new Uint8Array(n);
  for (let r = 0; r < keep; r++) flat[order[r]] = 1;
  const out: Uint8Array[] = [];
  o = 0;
  for (const g of grads) (out.push(flat.slice(o, o + g.length)), (o += g.length));
  return out;
}

/**
 * SalUn (Fan, Liu, Zhang, Wei, Wong, Liu, "SalUn: Empowering Machine Unlearning via Gradient-based
 * Weight Saliency in Both Image Classification and Generation", ICLR 2024). Saliency mask
 * m_S = 1(|∇θ ℓ_f(θ_o; D_f)| ≥ γ) with γ chosen so that the top k of all weights are kept
 * (ℓ_f = the forget set's cross-entropy, k = 50% by default); then random-label training
 * θ_u = θ_o + m_S ⊙ Δθ, i.e. the random-label loop of `random-label` with the gradients of the
 * non-salient weights zeroed (they keep θ_o's values exactly).
 */
export const salun: UnlearningMethod<SalUnParams> = {
  id: 'salun',
  guarantee: 'approximate',
  description: 'random-label training restricted to the weights with the largest forget-loss gradient (saliency mask)',
  reference: 'Fan, Liu, Zhang, Wei, Wong, Liu, "SalUn: Empowering Machine Unlearning via Gradient-based Weight Saliency...", ICLR 2024',
  paramsSchema: SalUnParams,
  async run(original, params, ctx) {
    const opt = resolveOptimizer(params, ctx);
    const masks = saliencyMask(forgetGradient(original, ctx.split.train, ctx.forget.forgetIdx, opt.batchSize), params.maskFraction);
    const shapes = trainableVariables(original).map((v) => v.shape);
    const mask = masks.map((m, i) => tf.tensor(Float32Array.from(m), shapes[i], 'float32'));
    try {
      const r = randomLabelTraining(original, params, ctx, 'salun', mask);
      const kept = masks.reduce((s, m) => s + m.reduce((a, b) => a + b, 0), 0);
      return { model: r.model, details: { ...r.details, maskedIn: kept, totalWeights: masks.reduce((s, m) => s + m.length, 0) } };
    } finally {
      tf.dispose(mask);
    }
  },
};
