import { z } from 'zod';

/**
 * A training recipe: with the model spec and the data, it determines training exactly.
 * `learningRate` is the optimizer step size; `weightDecay` adds weightDecay·w to each gradient
 * (L2, PyTorch SGD convention); `epochs` are full passes; `seed` drives init and shuffling.
 */
export const TrainRecipeSchema = z.object({
  optimizer: z.enum(['adam', 'sgd']).default('adam'),
  learningRate: z.number().positive().default(1e-3),
  momentum: z.number().min(0).max(1).default(0.9),
  weightDecay: z.number().min(0).default(0),
  epochs: z.number().int().positive().default(5),
  batchSize: z.number().int().positive().default(128),
  seed: z.number().int().min(0).default(0),
});
export type TrainRecipe = z.infer<typeof TrainRecipeSchema>;
