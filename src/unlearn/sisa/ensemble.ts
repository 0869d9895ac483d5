/**
 * SISA aggregation (Bourtoule et al., IEEE S&P 2021, §IV-D): the shard models' outputs are
 * combined into one prediction, either by majority vote of the shard labels or by the mean of the
 * shard softmax outputs.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../../data/dataset.js';
import type { Predictions, Predictor } from '../../train/predict.js';
import { batchTensors } from '../../train/batches.js';

/** `vote`: majority vote of shard labels; `mean`: argmax of the mean softmax. */
export type Aggregate = 'vote' | 'mean';

/** Floor on the ensemble's true-label probability before taking −log (caps the loss at ≈ 27.6 nats). */
export const MIN_PROBABILITY = 1e-12;

/**
 * Combine shard outputs for n examples and k classes.
 *
 * @param probs one float32 array per shard, each [n, k] row-major softmax probabilities
 * @returns `mean`: float64 [n, k], the mean of the shard probabilities; `predicted`: int32 [n].
 *   - `mean` mode: argmax of the mean probability (ties: lowest class index).
 *   - `vote` mode: the class with the most shard votes (each shard votes for its argmax, ties
 *     inside a shard to the lowest class index). Ties between classes with the same number of votes are
 *     broken by the higher mean probability, then by the lowest class index — deterministic.
 * @throws Error when `probs` is empty or a shard's length is not n·k.
 */
export function aggregateProbabilities(probs: Float32Array[], n: number, k: number, mode: Aggregate): { mean: Float64Array; predicted: Int32Array } {
  if (probs.length === 0) throw new Error('an ensemble needs at least one shard');
  for (const p of probs) if (p.length !== n * k) throw new Error(`shard output length ${p.length} != ${n}·${k}`);
  const S = probs.length;
  const mean = new Float64Array(n * k);
  for (const p of probs) for (let i = 0; i < n * k; i++) mean[i] += p[i];
  for (let i = 0; i < n * k; i++) mean[i] /= S;
  const predicted = new Int32Array(n);
  const votes = new Int32Array(k);
  for (let i = 0; i < n; i++) {
    const o = i * k;
    if (mode === 'vote') {
      votes.fill(0);
      for (const p of probs) {
        let best = 0;
        for (let c = 1; c < k; c++) if (p[o + c] > p[o + best]) best = c;
        votes[best]++;
      }
      let win = 0;
      for (let c = 1; c < k; c++) {
        if (votes[c] > votes[win] || (votes[c] === votes[win] && mean[o + c] > mean[o + win])) win = c;
      }
      predicted[i] = win;
    } else {
      let best = 0;
      for (let c = 1; c < k; c++) if (mean[o + c] > mean[o + best]) best = c;
      predicted[i] = best;
    }
  }
  return { mean, predicted };
}

/**
 * Softmax outputs of each model on examples `indices` of `ds`: one float32 [n, k] array per model.
 * Batched from host arrays; no tensors leak.
 */
export function shardProbabilities(models: tfl.LayersModel[], ds: Dataset, indices: Int32Array, batchSize = 512): Float32Array[] {
  const n = indices.length;
  const k = ds.numClasses;
  const out = models.map(() => new Float32Array(n * k));
  for (let s = 0; s < n; s += batchSize) {
    const idx = indices.subarray(s, Math.min(n, s + batchSize));
    const { x, y } = batchTensors(ds, idx);
    try {
      models.forEach((m, j) => {
        const p = tf.tidy(() => tf.softmax(m.apply(x, { training: false }) as tf.Tensor2D));
        out[j].set(p.dataSync(), s * k);
        p.dispose();
      });
    } finally {
      tf.dispose([x, y]);
    }
  }
  return out;
}

/**
 * The SISA ensemble as a {@link Predictor}: `predicted` is the aggregate label (vote or mean, see
 * {@link aggregateProbabilities}); `pTrue` is the mean shard softmax of the true label and `loss`
 * = −ln max(pTrue, 1e-12) nats in both modes (a vote has no probability; the loss-threshold MIA
 * attacks the mean softmax, the strongest output an adversary could be given).
 */
export function ensemblePredictor(models: tfl.LayersModel[], mode: Aggregate): Predictor {
  return (ds: Dataset, indices: Int32Array): Predictions => {
    const n = indices.length;
    const k = ds.numClasses;
    const { mean, predicted } = aggregateProbabilities(shardProbabilities(models, ds, indices), n, k, mode);
    const out: Predictions = { loss: new Float64Array(n), predicted, labels: new Int32Array(n), pTrue: new Float64Array(n) };
    for (let j = 0; j < n; j++) {
      const y = ds.labels[indices[j]];
      out.labels[j] = y;
      out.pTrue[j] = mean[j * k + y];
      out.loss[j] = -Math.log(Math.max(out.pTrue[j], MIN_PROBABILITY));
    }
    return out;
  };
}
