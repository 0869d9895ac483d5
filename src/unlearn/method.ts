import type * as tfl from '@tensorflow/tfjs-layers';
import type { z } from 'zod';
import type { DataSplit } from '../data/dataset.js';
import type { Guarantee } from '../models/manifest.js';
import type { ModelSpec } from '../models/spec.js';
import type { TrainRecipe } from '../train/recipe.js';
import type { ForgetSet } from './forgetSet.js';

/** Everything a method may use besides the original model. */
export interface UnlearnContext {
  /** The data the original model was trained on (train side) and the test side. */
  split: DataSplit;
  /** The resolved forget / retain partition (indices into split.train). */
  forget: ForgetSet;
  spec: ModelSpec;
  /** The recipe that trained the original model (the retrained reference uses it unchanged). */
  recipe: TrainRecipe;
  /** Seed of this unlearning run; methods derive their randomness from it (deriveSeed). */
  seed: number;
  quiet?: boolean;
}

/** A method's result: a new model (never the input object) and method-specific facts. */
export interface MethodOutput {
  model: tfl.LayersModel;
  details?: Record<string, unknown>;
}

/**
 * An unlearning method (docs/concepts.md, code layout). `run` receives the original model θ_o, which it must not
 * mutate, and the params already validated by `paramsSchema` (defaults filled in).
 */
export interface UnlearningMethod<P extends Record<string, unknown> = Record<string, unknown>> {
  /** Registry id, e.g. `neggrad-plus`. */
  id: string;
  guarantee: Guarantee;
  /** One line: what it does. */
  description: string;
  /** The paper the method comes from. */
  reference: string;
  paramsSchema: z.ZodType<P>;
  run(original: tfl.LayersModel, params: P, ctx: UnlearnContext): Promise<MethodOutput>;
}
