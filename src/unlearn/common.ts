import { z } from 'zod';
import type { Rng } from '../engine/rng.js';
import type { OptimizerConfig } from '../train/step.js';
import { batchIndices } from '../train/batches.js';
import type { UnlearnContext } from './method.js';

/**
 * Optimizer params shared by the training-based methods. Each is optional: when absent, the
 * original model's recipe value is used (so a method's step size is on the scale the model was
 * trained with). Units: learningRate = optimizer step size; weightDecay adds weightDecay·w to the
 * gradient; batchSize in examples.
 */
export const optimizerParams = {
  optimizer: z.enum(['adam', 'sgd']).optional(),
  learningRate: z.number().positive().optional(),
  momentum: z.number().min(0).max(1).optional(),
  weightDecay: z.number().min(0).optional(),
  batchSize: z.number().int().positive().optional(),
};

/** The effective optimizer settings: explicit params, else the original recipe's. */
export function resolveOptimizer(
  p: { optimizer?: 'adam' | 'sgd'; learningRate?: number; momentum?: number; weightDecay?: number; batchSize?: number },
  ctx: UnlearnContext,
): OptimizerConfig & { weightDecay: number; batchSize: number } {
  return {
    optimizer: p.optimizer ?? ctx.recipe.optimizer,
    learningRate: p.learningRate ?? ctx.recipe.learningRate,
    momentum: p.momentum ?? ctx.recipe.momentum,
    weightDecay: p.weightDecay ?? ctx.recipe.weightDecay,
    batchSize: p.batchSize ?? ctx.recipe.batchSize,
  };
}

/**
 * One epoch of (retain batch, forget batch) pairs: retain batches in a shuffled pass, forget
 * batches cycled (reshuffled at each wrap) so every retain batch has a partner — the `zip(retain,
 * cycle(forget))` loop of the NegGrad+ reference code.
 */
export function pairedBatches(retainIdx: Int32Array, forgetIdx: Int32Array, batchSize: number, forgetBatchSize: number, rng: Rng): [Int32Array, Int32Array][] {
  const retain = batchIndices(retainIdx, batchSize, rng);
  let forget = batchIndices(forgetIdx, forgetBatchSize, rng);
  let k = 0;
  return retain.map((r) => {
    if (k === forget.length) ((forget = batchIndices(forgetIdx, forgetBatchSize, rng)), (k = 0));
    return [r, forget[k++]];
  });
}
