import { z } from 'zod';
import { initModel } from '../model.js';
import { lmRecipeSchema, trainLm } from '../train.js';
import type { LmMethod } from './method.js';

const schema = lmRecipeSchema.strict();

/**
 * Retrain without the source: a fresh model (same config and seed) trained with the original
 * recipe on the retained sources only. The exact reference every method is compared with.
 * The caller passes the original recipe as params.
 */
export const retrainLm: LmMethod<z.infer<typeof schema>> = {
  id: 'retrain',
  guarantee: 'exact',
  description: 'train from scratch on the retained sources (the reference)',
  reference: 'the gold standard of exact unlearning',
  paramsSchema: schema,
  async run(original, p, ctx) {
    const model = initModel(original.config, p.seed);
    const r = trainLm(model, ctx.retain, p, ctx.onStep);
    return { model, details: { finalLoss: r.losses.at(-1) } };
  },
};
