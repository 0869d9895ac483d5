import { z } from 'zod';

/**
 * Model specifications: JSON objects that fully determine an architecture. A spec plus a seed
 * gives bit-identical initial weights (see ./build.ts). All models output logits (no softmax) of
 * shape [batch, numClasses], float32.
 */
const common = {
  /** Per-example input shape, e.g. [16384] or [28, 28, 1]. */
  inputShape: z.array(z.number().int().positive()).min(1),
  /** Number of classes (≥ 2); binary problems use 2 logits (softmax == logistic). */
  numClasses: z.number().int().min(2),
};

export const LogRegSpec = z.object({ kind: z.literal('logreg'), ...common });
export const MlpSpec = z.object({
  kind: z.literal('mlp'),
  ...common,
  /** Hidden layer widths, e.g. [256]. */
  hidden: z.array(z.number().int().positive()).min(1),
  activation: z.enum(['relu', 'tanh']).default('relu'),
});
export const CnnSpec = z.object({
  kind: z.literal('cnn'),
  ...common,
  /** Filters of each conv layer (3×3, 'same', ReLU, followed by 2×2 max-pool). */
  filters: z.array(z.number().int().positive()).min(1).default([16, 32]),
  kernelSize: z.number().int().positive().default(3),
  /** Width of the dense layer before the output. */
  dense: z.number().int().positive().default(64),
});

export const ModelSpecSchema = z.discriminatedUnion('kind', [LogRegSpec, MlpSpec, CnnSpec]);
export type ModelSpec = z.infer<typeof ModelSpecSchema>;
export type ModelKind = ModelSpec['kind'];
