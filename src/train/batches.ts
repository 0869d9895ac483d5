import * as tf from '@tensorflow/tfjs-core';
import { featureSize, type Dataset } from '../data/dataset.js';
import type { Rng } from '../engine/rng.js';

/**
 * Build one mini-batch from host typed arrays (never `tf.slice` of a large tensor, which copies
 * it on wasm). Returns x: float32 [b, ...ds.shape] and y: int32 [b] (class indices).
 * The caller owns (and must dispose) both tensors.
 */
export function batchTensors(ds: Dataset, idx: ArrayLike<number>): { x: tf.Tensor; y: tf.Tensor1D } {
  const d = featureSize(ds);
  const b = idx.length;
  const xs = new Float32Array(b * d);
  const ys = new Int32Array(b);
  for (let j = 0; j < b; j++) {
    const i = idx[j];
    xs.set(ds.features.subarray(i * d, (i + 1) * d), j * d);
    ys[j] = ds.labels[i];
  }
  return { x: tf.tensor(xs, [b, ...ds.shape], 'float32'), y: tf.tensor1d(ys, 'int32') };
}

/**
 * Split `indices` into consecutive batches of at most `batchSize`; when `rng` is given the order
 * is shuffled first (a copy; the input is untouched).
 */
export function batchIndices(indices: Int32Array, batchSize: number, rng?: Rng): Int32Array[] {
  const order = rng ? rng.shuffle(Int32Array.from(indices)) : indices;
  const out: Int32Array[] = [];
  for (let s = 0; s < order.length; s += batchSize) out.push(order.subarray(s, Math.min(s + batchSize, order.length)));
  return out;
}

/** Int32Array [0, 1, ..., n-1]. */
export function range(n: number): Int32Array {
  const r = new Int32Array(n);
  for (let i = 0; i < n; i++) r[i] = i;
  return r;
}
