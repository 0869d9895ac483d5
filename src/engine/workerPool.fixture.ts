/** Functions run inside pool workers by workerPool.test.ts. */
import * as tf from '@tensorflow/tfjs-core';
import { UnlearnError } from '../errors.js';
import { buildModel, weightsToHost } from '../models/build.js';

export function initWeights(args: { seed: number }): { backend: string; weights: Float32Array[] } {
  return { backend: tf.getBackend(), weights: weightsToHost(buildModel({ kind: 'mlp', inputShape: [8], numClasses: 3, hidden: [4], activation: 'relu' }, args.seed)) };
}

export function fails(): never {
  throw new UnlearnError('SUBJECT_NOT_FOUND', 'no such subject in worker', 'hint from worker');
}
