import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import type { Dataset } from '../data/dataset.js';
import { cloneModel } from '../models/build.js';
import { batchIndices, batchTensors } from '../train/batches.js';
import { crossEntropy } from '../train/loss.js';
import { trainableVariables } from '../train/step.js';
import { unionIdx } from './common.js';
import type { UnlearningMethod } from './method.js';

export const SsdParams = z
  .object({
    /** Selection weighting α: a weight is dampened when imp_f > α·imp_D. Paper default 10. */
    alpha: z.number().positive().default(10),
    /** Dampening constant λ: factor β = min(λ·imp_D / imp_f, 1). Paper default 1. */
    lambda: z.number().positive().default(1),
    /** Batch size of the importance estimates (examples); default the original recipe's. */
    batchSize: z.number().int().positive().optional(),
  })
  .strict();
export type SsdParams = z.infer<typeof SsdParams>;

/**
 * Diagonal Fisher importance as the SSD reference code computes it: the mean over mini-batches of
 * the squared gradient of the batch's mean cross-entropy, imp = (1/B) Σ_b (∇θ CE_b)². One
 * float32 array per trainable variable (model order). Batches in index order (no randomness).
 */
export function fisherImportance(model: tfl.LayersModel, ds: Dataset, idx: Int32Array, batchSize: number): Float32Array[] {
  const vars = trainableVariables(model);
  const acc = vars.map((v) => new Float32Array(v.size));
  const batches = batchIndices(idx, batchSize);
  for (const b of batches) {
    const { x, y } = batchTensors(ds, b);
    const sq = tf.tidy(() => {
      const { grads } = tf.variableGrads(() => crossEntropy(model.apply(x, { training: false }) as tf.Tensor, y), vars);
      return vars.map((v) => tf.square(grads[v.name]));
    });
    sq.forEach((g, i) => {
      const d = g.dataSync();
      for (let k = 0; k < d.length; k++) acc[i][k] += d[k] / batches.length;
    });
    tf.dispose([x, y, ...sq]);
  }
  return acc;
}

/**
 * Selective Synaptic Dampening (Foster, Schoepf, Brintrup, AAAI 2024, "Fast Machine Unlearning
 * Without Retraining Through Selective Synaptic Dampening"): locate the weights that matter far
 * more to D_f than to the whole training set D = D_r ∪ D_f, and dampen them — no training.
 * With diagonal Fisher importances imp_D and imp_f ({@link fisherImportance}), for each weight θ_i:
 *   if imp_f,i > α·imp_D,i  then  θ_i ← β_i·θ_i,  β_i = min(λ·imp_D,i / imp_f,i, 1);  else θ_i unchanged.
 * Defaults α = 10, λ = 1 (the paper's). Reports how many weights were dampened.
 */
export const ssd: UnlearningMethod<SsdParams> = {
  id: 'ssd',
  guarantee: 'approximate',
  description: 'locate weights far more important to the forget set than to all data (Fisher) and dampen them; no training',
  reference: 'Foster, Schoepf, Brintrup, "Fast Machine Unlearning Without Retraining Through Selective Synaptic Dampening", AAAI 2024',
  paramsSchema: SsdParams,
  async run(original, params, ctx) {
    const bs = params.batchSize ?? ctx.recipe.batchSize;
    const impD = fisherImportance(original, ctx.split.train, unionIdx(ctx.forget.retainIdx, ctx.forget.forgetIdx), bs);
    const impF = fisherImportance(original, ctx.split.train, ctx.forget.forgetIdx, bs);
    const model = cloneModel(original, ctx.spec);
    const vars = trainableVariables(model);
    let dampened = 0;
    let total = 0;
    vars.forEach((v, i) => {
      const w = new Float32Array(v.dataSync());
      for (let k = 0; k < w.length; k++) {
        if (impF[i][k] > params.alpha * impD[i][k]) {
          w[k] *= Math.min((params.lambda * impD[i][k]) / impF[i][k], 1);
          dampened++;
        }
      }
      total += w.length;
      const t = tf.tensor(w, v.shape, 'float32');
      v.assign(t);
      t.dispose();
    });
    return { model, details: { dampened, totalWeights: total, importanceBatchSize: bs } };
  },
};
