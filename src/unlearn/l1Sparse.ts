import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Rng, deriveSeed } from '../engine/rng.js';
import { cloneModel } from '../models/build.js';
import { batchIndices } from '../train/batches.js';
import { crossEntropy } from '../train/loss.js';
import { trainableVariables } from '../train/step.js';
import { optimiseEpochs, optimizerParams, resolveOptimizer } from './common.js';
import type { UnlearningMethod } from './method.js';

export const L1SparseParams = z
  .object({
    /** Initial ℓ1 weight γ (per scalar weight, nats per unit of |θ|). Paper code default 5e-4. */
    gamma: z.number().min(0).default(5e-4),
    /** Epochs over D_r. Jia et al. run 10 after a full training run; 2 here, on the scale of `finetune`. */
    epochs: z.number().int().positive().default(2),
    ...optimizerParams,
  })
  .strict();
export type L1SparseParams = z.infer<typeof L1SparseParams>;

/** The ℓ1 weight of epoch e (1-based) of E: γ_e = γ·(1 − (e − 1)/E), a linear decay from γ towards 0. */
export function l1Weight(gamma: number, epoch: number, epochs: number): number {
  return gamma * (1 - (epoch - 1) / epochs);
}

/**
 * ℓ1-sparse unlearning (Jia, Liu, Ram, Yao, Liu, Liu, Sharma, Liu, "Model Sparsity Can Simplify
 * Machine Unlearning", NeurIPS 2023): fine-tune θ_o on the retain set with a sparsity-promoting
 * penalty whose weight decays linearly over the epochs,
 *   min_θ  CE(θ; D_r) + γ_e·‖θ‖₁,   γ_e = γ·(1 − (e−1)/E)   (see {@link l1Weight}),
 * ‖θ‖₁ over all trainable weights. Optimizer settings default to the original recipe's.
 */
export const l1Sparse: UnlearningMethod<L1SparseParams> = {
  id: 'l1-sparse',
  guarantee: 'approximate',
  description: 'fine-tune on the retain set with a linearly decaying l1 penalty on the weights',
  reference: 'Jia et al., "Model Sparsity Can Simplify Machine Unlearning", NeurIPS 2023',
  paramsSchema: L1SparseParams,
  async run(original, params, ctx) {
    const model = cloneModel(original, ctx.spec);
    const opt = resolveOptimizer(params, ctx);
    const vars = trainableVariables(model);
    const rng = new Rng(deriveSeed(ctx.seed, 'l1-sparse'));
    const epochLosses = optimiseEpochs(model, opt, {
      label: 'l1-sparse',
      epochs: params.epochs,
      quiet: ctx.quiet,
      plan: () => ({ ds: ctx.split.train, batches: batchIndices(ctx.forget.retainIdx, opt.batchSize, rng) }),
      loss: (b, epoch) => {
        const ce = crossEntropy(model.apply(b.x, { training: true }) as tf.Tensor, b.y);
        const l1 = tf.addN(vars.map((v) => tf.sum(tf.abs(v))));
        return tf.add(ce, tf.mul(l1, l1Weight(params.gamma, epoch, params.epochs))) as tf.Scalar;
      },
    });
    return { model, details: { effective: opt, epochLosses, l1Weights: Array.from({ length: params.epochs }, (_, e) => l1Weight(params.gamma, e + 1, params.epochs)) } };
  },
};
