/**
 * The models of bench/engine.ts, shared with its data-parallel column's worker threads
 * (src/engine/dataParallel.ts loads {@link parallel} in each worker).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { ParallelModel } from '../src/engine/dataParallel.js';

/** MLP 784-256(relu)-10. */
export function mlp(): tfl.Sequential {
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ inputShape: [784], units: 256, activation: 'relu' }));
  m.add(tfl.layers.dense({ units: 10 }));
  return m;
}

/** conv3x3·16 → maxpool → conv3x3·32 → maxpool → dense 10 on 28×28×1. */
export function cnn(): tfl.Sequential {
  const m = tfl.sequential();
  m.add(tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 16, kernelSize: 3, activation: 'relu' }));
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tfl.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }));
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tfl.layers.flatten());
  m.add(tfl.layers.dense({ units: 10 }));
  return m;
}

/** One replica for the data-parallel column: the model's trainable variables and its softmax cross-entropy. */
export function parallel(args: { kind: 'mlp' | 'cnn' }): ParallelModel {
  const model = args.kind === 'mlp' ? mlp() : cnn();
  const inShape = (model.inputs[0].shape as number[]).slice(1);
  return {
    variables: model.trainableWeights.map((w) => w.read() as tf.Variable),
    loss: (x, y) => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
    xShape: inShape,
    yShape: [10],
  };
}
