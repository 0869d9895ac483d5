import { z } from 'zod';
import { buildModel } from '../models/build.js';
import { trainModel } from '../train/train.js';
import type { UnlearningMethod } from './method.js';

/**
 * Retrain (exact reference): a fresh model from the original spec and recipe — same seed, so the
 * same initial weights and shuffling seeds — trained on the retain set D_r only. Ignores θ_o.
 */
export const retrain: UnlearningMethod<Record<string, never>> = {
  id: 'retrain',
  guarantee: 'exact',
  description: 'train from scratch on the retain set with the original recipe and seed (the reference)',
  reference: 'the gold standard of every unlearning paper; e.g. Bourtoule et al., IEEE S&P 2021, §II',
  paramsSchema: z.object({}).strict() as unknown as z.ZodType<Record<string, never>>,
  async run(_original, _params, ctx) {
    const model = buildModel(ctx.spec, ctx.recipe.seed);
    const r = await trainModel(model, ctx.split.train, ctx.forget.retainIdx, ctx.recipe, { label: 'retrain', quiet: ctx.quiet });
    return { model, details: { epochLosses: r.epochLosses } };
  },
};
