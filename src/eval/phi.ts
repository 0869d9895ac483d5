import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset.js';
import { batchTensors } from '../train/batches.js';
import { logitScaledConfidence } from './challengeScore.js';

/** Per-example outputs a score or an attack needs from one model (host arrays, length n). */
export interface PhiOutputs {
  /** φ = ln p_y − ln(1 − p_y) from the logits (see logitScaledConfidence), float64. */
  phi: Float64Array;
  /** 1 where argmax(logits) equals the label, else 0. */
  correct: Uint8Array;
}

/**
 * Run `model` (inference mode) on examples `indices` of `ds` in batches and return φ and
 * correctness per example. No tensors leak.
 */
export function predictPhi(model: tfl.LayersModel, ds: Dataset, indices: ArrayLike<number>, batchSize = 1024): PhiOutputs {
  const n = indices.length;
  const phi = new Float64Array(n);
  const correct = new Uint8Array(n);
  const idx = Int32Array.from(indices);
  for (let s = 0; s < n; s += batchSize) {
    const part = idx.subarray(s, Math.min(n, s + batchSize));
    const logitsT = tf.tidy(() => model.apply(batchTensors(ds, part).x, { training: false }) as tf.Tensor2D);
    const logits = logitsT.dataSync();
    const c = logitsT.shape[1];
    logitsT.dispose();
    const labels = Array.from(part, (i) => ds.labels[i]);
    phi.set(logitScaledConfidence(logits, labels, c), s);
    for (let j = 0; j < part.length; j++) {
      let best = 0;
      for (let k = 1; k < c; k++) if (logits[j * c + k] > logits[j * c + best]) best = k;
      correct[s + j] = best === labels[j] ? 1 : 0;
    }
  }
  return { phi, correct };
}

/** Cross-entropy of the true label from φ: −ln σ(φ) = ln(1 + e^(−φ)), nats, computed stably. */
export function lossFromPhi(phi: number): number {
  return phi > 0 ? Math.log1p(Math.exp(-phi)) : -phi + Math.log1p(Math.exp(phi));
}
