/**
 * Certified removal for a head on frozen features (the setting of Guo et al., ICML 2020, §4: a
 * linear model on the penultimate-layer features of a network). The network up to its last layer
 * is the frozen feature extractor; a certified logistic-regression head is trained on its
 * (L2-normalised) outputs and removals update only the head.
 *
 * The (ε, δ) guarantee covers the head only: the extractor's weights are not changed by a removal,
 * so whatever they learned from the removed examples stays. The whole model is certified only when
 * the extractor was trained on other (e.g. public) data than the examples that may be removed.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { featureSize, type Dataset } from '../../data/dataset.js';
import { UnlearnError } from '../../errors.js';
import { batchTensors } from '../../train/batches.js';

/**
 * The sub-network from the model's input to the input of its last layer (the penultimate
 * features). Shares weights with `model` (dispose the model, not this view).
 * @throws UnlearnError SHAPE_MISMATCH for a model with fewer than two layers.
 */
export function penultimateExtractor(model: tfl.LayersModel): tfl.LayersModel {
  if (model.layers.length < 2) throw new UnlearnError('SHAPE_MISMATCH', 'the network has no penultimate layer', 'train a network with a hidden layer (mlp or cnn)');
  const last = model.layers[model.layers.length - 1];
  return tfl.model({ inputs: model.inputs, outputs: last.input as tfl.SymbolicTensor });
}

/**
 * Features of every example of `ds` through `extractor` (inference mode, batches of 512), each row
 * L2-normalised when `normalise` (so ‖x‖ ≤ 1 as the paper assumes). Returns a Dataset with the
 * same labels, ids, subjects and targets and features float32 [n, h].
 */
export function extractFeatures(extractor: tfl.LayersModel, ds: Dataset, normalise = true, batchSize = 512): Dataset {
  const n = ds.labels.length;
  const out = extractor.outputs[0].shape;
  const h = out.slice(1).reduce((a: number, b) => a * (b ?? 1), 1);
  const features = new Float32Array(n * h);
  for (let s = 0; s < n; s += batchSize) {
    const idx = Int32Array.from({ length: Math.min(batchSize, n - s) }, (_, j) => s + j);
    const f = tf.tidy(() => {
      const { x } = batchTensors(ds, idx);
      return tf.reshape(extractor.apply(x, { training: false }) as tf.Tensor, [idx.length, h]);
    });
    features.set(f.dataSync(), s * h);
    f.dispose();
  }
  if (normalise) {
    for (let i = 0; i < n; i++) {
      let s2 = 0;
      for (let j = 0; j < h; j++) s2 += features[i * h + j] ** 2;
      const r = Math.sqrt(s2);
      if (r > 0) for (let j = 0; j < h; j++) features[i * h + j] /= r;
    }
  }
  if (featureSize(ds) === 0) throw new UnlearnError('SHAPE_MISMATCH', 'empty input features');
  return { ...ds, features, shape: [h] };
}
