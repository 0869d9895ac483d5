import { z } from 'zod';
import { deriveSeed } from '../engine/rng.js';
import { cloneModel } from '../models/build.js';
import { trainModel } from '../train/train.js';
import { optimizerParams, resolveOptimizer } from './common.js';
import type { UnlearningMethod } from './method.js';

export const FinetuneParams = z.object({ epochs: z.number().int().positive().default(2), ...optimizerParams }).strict();
export type FinetuneParams = z.infer<typeof FinetuneParams>;

/**
 * Fine-tune (FT): continue training θ_o on the retain set D_r for `epochs` epochs, relying on
 * catastrophic forgetting of D_f. Optimizer settings default to the original recipe's.
 */
export const finetune: UnlearningMethod<FinetuneParams> = {
  id: 'finetune',
  guarantee: 'approximate',
  description: 'continue training the original model on the retain set only',
  reference: 'Golatkar, Achille, Soatto, "Eternal Sunshine of the Spotless Net", CVPR 2020 (baseline)',
  paramsSchema: FinetuneParams,
  async run(original, params, ctx) {
    const model = cloneModel(original, ctx.spec);
    const opt = resolveOptimizer(params, ctx);
    const recipe = { ...ctx.recipe, ...opt, epochs: params.epochs, seed: deriveSeed(ctx.seed, 'finetune') };
    const r = await trainModel(model, ctx.split.train, ctx.forget.retainIdx, recipe, { label: 'finetune', quiet: ctx.quiet });
    return { model, details: { effective: opt, epochLosses: r.epochLosses } };
  },
};
