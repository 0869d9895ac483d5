/** Model module for ./dataParallel.test.ts: a seeded 2-layer MLP on plain variables. */
import * as tf from '@tensorflow/tfjs-core';
import type { ParallelModel } from './dataParallel.js';
import { Rng } from './rng.js';

/** MLP features → hidden (relu) → classes with softmax cross-entropy; weights N(0, 0.1²) from `seed`. */
export function mlp(args: { features: number; hidden: number; classes: number; seed: number }): ParallelModel {
  const rng = new Rng(args.seed);
  const init = (shape: number[]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) v[i] = rng.normal() * 0.1;
    return tf.variable(tf.tensor(v, shape));
  };
  const w1 = init([args.features, args.hidden]);
  const b1 = init([args.hidden]);
  const w2 = init([args.hidden, args.classes]);
  const b2 = init([args.classes]);
  return {
    variables: [w1, b1, w2, b2],
    loss: (x, y) => tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2), b2)) as tf.Scalar,
    xShape: [args.features],
    yShape: [args.classes],
  };
}
