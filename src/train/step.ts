import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UnlearnError } from '../errors.js';

/** Settings of one optimizer (a subset of a TrainRecipe). learningRate is the step size. */
export interface OptimizerConfig {
  optimizer: 'adam' | 'sgd';
  learningRate: number;
  /** SGD momentum (0 = plain SGD); ignored by Adam. */
  momentum?: number;
}

/** A fresh tfjs optimizer. The caller disposes it (Adam/momentum hold slot variables). */
export function makeOptimizer(cfg: OptimizerConfig): tf.Optimizer {
  if (cfg.optimizer === 'adam') return tf.train.adam(cfg.learningRate);
  return cfg.momentum ? tf.train.momentum(cfg.learningRate, cfg.momentum) : tf.train.sgd(cfg.learningRate);
}

/** The tf.Variables behind a model's trainable weights (optionally only some layers' ones). */
export function trainableVariables(model: tfl.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/**
 * One optimisation step: gradients of `lossFn()` w.r.t. `vars`, plus `weightDecay`·w when set
 * (L2, PyTorch SGD convention), multiplied elementwise by `mask[i]` for `vars[i]` when a mask is
 * given (0/1 float32 of the variable's shape: masked-out entries get a zero gradient, e.g. SalUn's
 * saliency mask), applied by `optimizer`. Returns the loss value as a host number
 * (nats for CE losses; without the decay term). Allocates no tensors that outlive the call.
 * @throws UnlearnError NUMERIC_ERROR when the loss is NaN or infinite (`where` names the step).
 */
export function optimizeStep(
  optimizer: tf.Optimizer,
  vars: tf.Variable[],
  lossFn: () => tf.Scalar,
  opts: { weightDecay?: number; where?: string; mask?: tf.Tensor[] } = {},
): number {
  const value = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(lossFn, vars);
    if (opts.weightDecay) {
      for (const v of vars) grads[v.name] = tf.add(grads[v.name], tf.mul(v, opts.weightDecay));
    }
    if (opts.mask) vars.forEach((v, i) => (grads[v.name] = tf.mul(grads[v.name], opts.mask![i])));
    optimizer.applyGradients(grads);
    return value;
  });
  const loss = value.dataSync()[0];
  value.dispose();
  if (!Number.isFinite(loss)) {
    throw new UnlearnError('NUMERIC_ERROR', `loss became ${loss} ${opts.where ?? ''}`.trim(), 'lower the learning rate or check the input features');
  }
  return loss;
}
