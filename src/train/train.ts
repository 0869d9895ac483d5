import type * as tfl from '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import type { Dataset } from '../data/dataset.js';
import { Rng, deriveSeed } from '../engine/rng.js';
import { UnlearnError } from '../errors.js';
import { serializeModel, writeDirAtomic } from '../models/io.js';
import { batchIndices, batchTensors } from './batches.js';
import { checkDivergence } from './divergence.js';
import { crossEntropy } from './loss.js';
import { createProgress } from './progress.js';
import type { TrainRecipe } from './recipe.js';
import { makeOptimizer, optimizeStep, trainableVariables } from './step.js';

/** Options of {@link trainModel}. */
export interface TrainOptions {
  /** Label shown on the progress bar. */
  label?: string;
  quiet?: boolean;
  /** When set, a checkpoint (LayersModel files + checkpoint.json) is written to `<dir>/epoch-<k>` after each epoch. */
  checkpointDir?: string;
  /** Called after each epoch with its 1-based number and mean training loss (nats). */
  onEpoch?: (epoch: number, meanLoss: number) => void | Promise<void>;
}

/** Result of a training run. `seconds` is wall time. */
export interface TrainResult {
  epochLosses: number[];
  seconds: number;
}

/**
 * Train `model` in place on the examples `indices` of `ds` with softmax cross-entropy, following
 * `recipe` (optimizer, learning rate, epochs, batch size, weight decay). Shuffling is seeded:
 * epoch e uses the permutation from `deriveSeed(recipe.seed, 'shuffle/e')`, so the same model,
 * data and recipe give bit-identical weights on the same backend.
 * @throws UnlearnError NUMERIC_ERROR if the loss becomes NaN/∞ or an epoch's mean loss diverges
 *   (over 10× the starting loss, src/train/divergence.ts); INVALID_PARAMS if `indices` is empty.
 */
export async function trainModel(
  model: tfl.LayersModel,
  ds: Dataset,
  indices: Int32Array,
  recipe: TrainRecipe,
  opts: TrainOptions = {},
): Promise<TrainResult> {
  if (indices.length === 0) throw new UnlearnError('INVALID_PARAMS', 'cannot train on an empty set of examples', 'check the forget/retain selection');
  const t0 = performance.now();
  const optimizer = makeOptimizer(recipe);
  const vars = trainableVariables(model);
  const stepsPerEpoch = Math.ceil(indices.length / recipe.batchSize);
  const progress = createProgress(opts.label ?? 'train', recipe.epochs * stepsPerEpoch, opts.quiet);
  const epochLosses: number[] = [];
  // The loss of an uninformed model (ln C) or the first step's, whichever is larger (see checkDivergence).
  const classes = Number(model.outputs[0].shape.at(-1)) || 2;
  let reference = NaN;
  try {
    for (let epoch = 1; epoch <= recipe.epochs; epoch++) {
      const rng = new Rng(deriveSeed(recipe.seed, `shuffle/${epoch}`));
      let sum = 0;
      let count = 0;
      for (const idx of batchIndices(indices, recipe.batchSize, rng)) {
        const { x, y } = batchTensors(ds, idx);
        try {
          const loss = optimizeStep(optimizer, vars, () => crossEntropy(model.apply(x, { training: true }) as tf.Tensor, y), {
            weightDecay: recipe.weightDecay,
            where: `at epoch ${epoch}`,
          });
          if (Number.isNaN(reference)) reference = Math.max(loss, Math.log(classes));
          sum += loss * idx.length;
          count += idx.length;
          progress.tick({ loss });
        } finally {
          x.dispose();
          y.dispose();
        }
      }
      epochLosses.push(sum / Math.max(count, 1));
      checkDivergence(epochLosses[epochLosses.length - 1], reference, `at epoch ${epoch}`, 'lower the learning rate (--lr, or learningRate in --params)');
      if (opts.checkpointDir) await writeCheckpoint(join(opts.checkpointDir, `epoch-${epoch}`), model, epoch, recipe);
      await opts.onEpoch?.(epoch, sum / Math.max(count, 1));
    }
  } finally {
    progress.stop();
    optimizer.dispose();
  }
  return { epochLosses, seconds: (performance.now() - t0) / 1000 };
}

/** Write a training checkpoint (weights in LayersModel format + epoch and recipe) atomically. */
export async function writeCheckpoint(dir: string, model: tfl.LayersModel, epoch: number, recipe: TrainRecipe): Promise<void> {
  const { modelJson, weights } = await serializeModel(model);
  await writeDirAtomic(dir, {
    'model.json': modelJson,
    'weights.bin': weights,
    'checkpoint.json': JSON.stringify({ epoch, recipe }) + '\n',
  }, { replace: true });
}
