import type * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Rng, deriveSeed } from '../engine/rng.js';
import { cloneModel } from '../models/build.js';
import { batchIndices } from '../train/batches.js';
import { crossEntropy } from '../train/loss.js';
import { optimiseEpochs, optimizerParams, relabelForget, resolveOptimizer, unionIdx } from './common.js';
import type { UnlearnContext, UnlearningMethod } from './method.js';

export const RandomLabelParams = z
  .object({
    /** Epochs over D_r ∪ D_f. Fan et al. run 10 epochs after 182 of training; 2 here, on the scale of `finetune`. */
    epochs: z.number().int().positive().default(2),
    ...optimizerParams,
  })
  .strict();
export type RandomLabelParams = z.infer<typeof RandomLabelParams>;

/**
 * The random-label loop shared by `random-label` and `salun`: from a clone of θ_o, `epochs`
 * epochs of mean CE over shuffled batches of D_r ∪ D_f, where every forget example gets a label
 * ỹ ~ U({0..K−1} \ {y}) redrawn each epoch (seeded from `ctx.seed` and `label`). `mask`, when
 * given, zeroes the gradient of the masked-out weights.
 */
export function randomLabelTraining(original: Parameters<UnlearningMethod['run']>[0], params: RandomLabelParams, ctx: UnlearnContext, label: string, mask?: tf.Tensor[]) {
  const model = cloneModel(original, ctx.spec);
  const opt = resolveOptimizer(params, ctx);
  const rng = new Rng(deriveSeed(ctx.seed, label));
  const all = unionIdx(ctx.forget.retainIdx, ctx.forget.forgetIdx);
  const epochLosses = optimiseEpochs(model, opt, {
    label,
    epochs: params.epochs,
    quiet: ctx.quiet,
    mask,
    plan: () => ({ ds: relabelForget(ctx.split.train, ctx.forget.forgetIdx, rng), batches: batchIndices(all, opt.batchSize, rng) }),
    loss: (b) => crossEntropy(model.apply(b.x, { training: true }) as tf.Tensor, b.y),
  });
  return { model, details: { effective: opt, epochLosses } };
}

/**
 * Random labels (Golatkar, Achille, Soatto, CVPR 2020; the "RL" baseline of Fan et al., ICLR
 * 2024): fine-tune θ_o on D_r ∪ D̃_f, where D̃_f is the forget set with each label replaced by one
 * drawn uniformly among the other classes:  min_θ  E_{(x,y)∈D_r} CE(f_θ(x), y) + E_{x∈D_f} CE(f_θ(x), ỹ),
 * ỹ ~ U(classes \ {y}), as one shuffled mixture. Optimizer settings default to the original recipe's.
 */
export const randomLabel: UnlearningMethod<RandomLabelParams> = {
  id: 'random-label',
  guarantee: 'approximate',
  description: 'fine-tune on the retain set plus the forget set relabelled uniformly among the other classes',
  reference: 'Golatkar, Achille, Soatto, "Eternal Sunshine of the Spotless Net", CVPR 2020; Fan et al., "SalUn", ICLR 2024 (RL baseline)',
  paramsSchema: RandomLabelParams,
  async run(original, params, ctx) {
    return randomLabelTraining(original, params, ctx, 'random-label');
  },
};
