import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import type { Dataset } from '../data/dataset.js';
import type { Rng } from '../engine/rng.js';
import { batchIndices, batchTensors } from '../train/batches.js';
import { createProgress } from '../train/progress.js';
import { makeOptimizer, optimizeStep, trainableVariables, type OptimizerConfig } from '../train/step.js';
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

/** The batches of one epoch: indices into `ds` (which may relabel some examples, see {@link relabelForget}). */
export interface EpochPlan {
  ds: Dataset;
  batches: Int32Array[];
}

/**
 * The optimisation loop shared by the training-based methods: for epoch e = 1..`epochs`, one
 * {@link optimizeStep} per batch of `plan(e)` on `loss(batch, e)` (x float32 [b, ...shape], y
 * int32 [b] from `plan.ds`, idx = the batch's indices into it), with the resolved optimizer's
 * weight decay and an optional gradient `mask` (aligned with the model's trainable variables).
 * Returns the mean loss of each epoch. Batch tensors and the optimizer are disposed.
 * @throws UnlearnError NUMERIC_ERROR when a loss becomes NaN or infinite.
 */
export function optimiseEpochs(
  model: tfl.LayersModel,
  opt: ReturnType<typeof resolveOptimizer>,
  o: {
    label: string;
    epochs: number;
    quiet?: boolean;
    plan: (epoch: number) => EpochPlan;
    loss: (b: { x: tf.Tensor; y: tf.Tensor1D; idx: Int32Array }, epoch: number) => tf.Scalar;
    mask?: tf.Tensor[];
    onEpoch?: (epoch: number, meanLoss: number) => void;
  },
): number[] {
  const optimizer = makeOptimizer(opt);
  const vars = trainableVariables(model);
  const epochLosses: number[] = [];
  let progress: ReturnType<typeof createProgress> | undefined;
  try {
    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      const { ds, batches } = o.plan(epoch);
      progress ??= createProgress(o.label, o.epochs * batches.length, o.quiet);
      let sum = 0;
      for (const idx of batches) {
        const { x, y } = batchTensors(ds, idx);
        try {
          const loss = optimizeStep(optimizer, vars, () => o.loss({ x, y, idx }, epoch), { weightDecay: opt.weightDecay, mask: o.mask, where: `in ${o.label} epoch ${epoch}` });
          sum += loss;
          progress.tick({ loss });
        } finally {
          tf.dispose([x, y]);
        }
      }
      epochLosses.push(sum / Math.max(batches.length, 1));
      o.onEpoch?.(epoch, epochLosses[epochLosses.length - 1]);
    }
  } finally {
    progress?.stop();
    optimizer.dispose();
  }
  return epochLosses;
}

/**
 * A view of `ds` whose examples `forgetIdx` carry a label drawn uniformly among the *other*
 * classes (never their own), from `rng`; features are shared, labels copied. The random-label
 * relabelling of Golatkar et al. / Fan et al. (SalUn).
 */
export function relabelForget(ds: Dataset, forgetIdx: Int32Array, rng: Rng): Dataset {
  const labels = Int32Array.from(ds.labels);
  const k = ds.numClasses;
  for (const i of forgetIdx) labels[i] = (ds.labels[i] + 1 + rng.int(k - 1)) % k;
  return { ...ds, labels };
}

/** Sorted union of two index sets (D_r ∪ D_f = the training lineage). */
export function unionIdx(a: Int32Array, b: Int32Array): Int32Array {
  return Int32Array.from(new Set([...a, ...b])).sort();
}

/** Teacher logits in inference mode; the teacher's variables are never among the optimised ones. */
export function teacherLogits(teacher: tfl.LayersModel, x: tf.Tensor): tf.Tensor {
  return teacher.apply(x, { training: false }) as tf.Tensor;
}
