import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng, deriveSeed } from '../engine/rng.js';
import { UnlearnError } from '../errors.js';
import { ModelSpecSchema, type ModelSpec } from './spec.js';

/**
 * Build an untrained model from a spec and initialise it from `seed`: kernels Glorot-uniform
 * (limit √(6/(fan_in+fan_out)), Glorot & Bengio 2010), biases zero. Host-side RNG, so the same
 * spec and seed give bit-identical weights on every backend.
 * Input: [batch, ...spec.inputShape] float32; output: logits [batch, numClasses] float32.
 * @throws UnlearnError INVALID_PARAMS when the spec does not validate.
 */
export function buildModel(specIn: ModelSpec, seed: number): tfl.LayersModel {
  const parsed = ModelSpecSchema.safeParse(specIn);
  if (!parsed.success) {
    throw new UnlearnError('INVALID_PARAMS', `invalid model spec: ${parsed.error.issues[0]?.message}`, 'see src/models/spec.ts');
  }
  const spec = parsed.data;
  // Fixed layer names (tfjs would number them by a process-wide counter): the same spec and seed
  // then serialise to the same model.json bytes, so equal weights give equal model hashes.
  let n = 0;
  const name = (kind: string) => `${kind}_${n++}`;
  const model = tfl.sequential({ name: spec.kind });
  const inputShape = spec.inputShape;
  const flatIn = inputShape.length === 1;
  switch (spec.kind) {
    case 'logreg':
      if (!flatIn) model.add(tfl.layers.flatten({ inputShape, name: name('flatten') }));
      model.add(tfl.layers.dense({ units: spec.numClasses, name: name('dense'), ...(flatIn ? { inputShape } : {}) }));
      break;
    case 'mlp':
      if (!flatIn) model.add(tfl.layers.flatten({ inputShape, name: name('flatten') }));
      spec.hidden.forEach((units, i) =>
        model.add(tfl.layers.dense({ units, activation: spec.activation, name: name('dense'), ...(i === 0 && flatIn ? { inputShape } : {}) })),
      );
      model.add(tfl.layers.dense({ units: spec.numClasses, name: name('dense') }));
      break;
    case 'cnn': {
      if (inputShape.length !== 3) {
        throw new UnlearnError('SHAPE_MISMATCH', `cnn needs an image input [h, w, c], got [${inputShape}]`, 'load the dataset with image: true');
      }
      spec.filters.forEach((filters, i) => {
        model.add(
          tfl.layers.conv2d({ filters, kernelSize: spec.kernelSize, padding: 'same', activation: 'relu', name: name('conv2d'), ...(i === 0 ? { inputShape } : {}) }),
        );
        model.add(tfl.layers.maxPooling2d({ poolSize: 2, name: name('pool') }));
      });
      model.add(tfl.layers.flatten({ name: name('flatten') }));
      model.add(tfl.layers.dense({ units: spec.dense, activation: 'relu', name: name('dense') }));
      model.add(tfl.layers.dense({ units: spec.numClasses, name: name('dense') }));
      break;
    }
  }
  initWeights(model, seed);
  return model;
}

/** Re-initialise every weight of `model` from `seed` (see {@link buildModel}). */
export function initWeights(model: tfl.LayersModel, seed: number): void {
  const values = model.weights.map((w, i) => {
    const shape = w.shape as number[];
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    if (shape.length >= 2) {
      const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
      const fanIn = shape[shape.length - 2] * receptive;
      const fanOut = shape[shape.length - 1] * receptive;
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      const rng = new Rng(deriveSeed(seed, `init/${i}`));
      for (let k = 0; k < size; k++) data[k] = (rng.next() * 2 - 1) * limit;
    }
    return tf.tensor(data, shape, 'float32');
  });
  model.setWeights(values);
  tf.dispose(values);
}

/** A new model with the same architecture and a copy of the weights; the input is untouched. */
export function cloneModel(model: tfl.LayersModel, spec: ModelSpec): tfl.LayersModel {
  const copy = buildModel(spec, 0);
  const w = model.getWeights().map((t) => t.clone());
  copy.setWeights(w);
  tf.dispose(w);
  return copy;
}

/** Host copies of all weights, in model order (float32). */
export function weightsToHost(model: tfl.LayersModel): Float32Array[] {
  return model.getWeights().map((t) => t.dataSync() as Float32Array).map((a) => new Float32Array(a));
}

/** Number of trainable scalars. */
export function countParams(model: tfl.LayersModel): number {
  return model.countParams();
}
