import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset.js';
import { batchTensors } from './batches.js';
import { perExampleCrossEntropy } from './loss.js';

/** Per-example outputs of a model on a set of examples (all host arrays, length n unless noted). */
export interface Predictions {
  /** Softmax cross-entropy of the true label, nats. */
  loss: Float64Array;
  /** Predicted class (argmax of logits). */
  predicted: Int32Array;
  /** True label. */
  labels: Int32Array;
  /** Probability of the true label, softmax(logits)[y]. */
  pTrue: Float64Array;
}

/**
 * A model seen as a function from examples to per-example predictions (a single network, a SISA
 * ensemble, a convex model on host arrays...). Defined here, below both the methods (src/unlearn)
 * and the metrics (src/eval), so that both can use it.
 */
export type Predictor = (ds: Dataset, indices: Int32Array) => Predictions;

/**
 * Run `model` on the examples `indices` of `ds` in batches of `batchSize` (inference mode).
 * Returns per-example loss (nats), prediction and true-label probability. No tensors leak.
 */
export function predict(model: tfl.LayersModel, ds: Dataset, indices: Int32Array, batchSize = 512): Predictions {
  const n = indices.length;
  const out: Predictions = { loss: new Float64Array(n), predicted: new Int32Array(n), labels: new Int32Array(n), pTrue: new Float64Array(n) };
  for (let s = 0; s < n; s += batchSize) {
    const idx = indices.subarray(s, Math.min(n, s + batchSize));
    const [loss, pred] = tf.tidy(() => {
      const { x, y } = batchTensors(ds, idx);
      const logits = model.apply(x, { training: false }) as tf.Tensor;
      return [perExampleCrossEntropy(logits, y), tf.argMax(logits, 1)];
    });
    const l = loss.dataSync();
    const p = pred.dataSync();
    tf.dispose([loss, pred]);
    for (let j = 0; j < idx.length; j++) {
      out.loss[s + j] = l[j];
      out.predicted[s + j] = p[j];
      out.labels[s + j] = ds.labels[idx[j]];
      out.pTrue[s + j] = Math.exp(-l[j]);
    }
  }
  return out;
}

/** Fraction of correct predictions in [0, 1]; NaN for an empty set. */
export function accuracyOf(p: Pick<Predictions, 'predicted' | 'labels'>): number {
  if (p.labels.length === 0) return NaN;
  let c = 0;
  for (let i = 0; i < p.labels.length; i++) if (p.predicted[i] === p.labels[i]) c++;
  return c / p.labels.length;
}
