import type * as tfl from '@tensorflow/tfjs-layers';
import { UnlearnError } from '../errors.js';
import { buildModel } from './build.js';
import type { ModelSpec } from './spec.js';

/**
 * Recognising a LayersModel made elsewhere (plain TensorFlow.js code, or Keras through
 * tensorflowjs_converter) as one of the supported architectures, so it can be rebuilt with this
 * project's builder and unlearned like a model trained here.
 *
 * Supported layer sequences (Dropout and InputLayer are skipped; an Activation layer folds into
 * the layer before it):
 * - logreg: `[Flatten] Dense(K)`
 * - mlp: `[Flatten] Dense(h1, relu|tanh) … Dense(K)` (one activation throughout)
 * - cnn: `(Conv2D(f, k×k, stride 1, 'same', relu) MaxPooling2D(2))+ Flatten Dense(d, relu) Dense(K)`,
 *   channels-last, one kernel size throughout
 *
 * Every Dense/Conv2D has a bias. The last Dense is linear or softmax; a softmax is dropped (this
 * project's models output logits; predicted classes and softmax probabilities are unchanged).
 */

interface LayerInfo {
  cls: string;
  cfg: Record<string, unknown>;
  activation: string;
}

const unsupported = (m: string) => new UnlearnError('INVALID_ARGS', `unsupported architecture: ${m}`, 'supported: logreg, MLP and CNN layer sequences (see README "Bring your own model")');

const pair = (v: unknown) => (Array.isArray(v) ? v : [v, v]) as number[];

/** What {@link recogniseModel} found. */
export interface Recognised {
  spec: ModelSpec;
  /** True when the model ended in a softmax that the rebuilt model leaves out (it outputs logits). */
  droppedSoftmax: boolean;
}

/**
 * The spec of a LayersModel of a supported architecture (see module doc).
 * @throws UnlearnError INVALID_ARGS naming the first layer that does not fit.
 */
export function recogniseModel(model: tfl.LayersModel): Recognised {
  const layers: LayerInfo[] = [];
  for (const l of model.layers) {
    const cls = l.getClassName();
    if (cls === 'InputLayer' || cls === 'Dropout') continue;
    const cfg = l.getConfig() as Record<string, unknown>;
    if (cls === 'Activation') {
      const prev = layers[layers.length - 1];
      if (!prev || prev.activation !== 'linear') throw unsupported(`Activation layer '${l.name}' does not follow a linear Dense or Conv2D`);
      prev.activation = String(cfg.activation);
      continue;
    }
    layers.push({ cls, cfg, activation: String(cfg.activation ?? 'linear') });
  }
  const inputShape = model.inputs[0].shape.slice(1) as number[];
  if (model.inputs.length !== 1 || model.outputs.length !== 1) throw unsupported('the model has several inputs or outputs');
  let i = 0;
  const at = () => layers[i];
  const describe = (l?: LayerInfo) => (l ? `${l.cls}(${l.activation})` : 'the end of the model');
  const needBias = (l: LayerInfo) => {
    if (l.cfg.useBias === false) throw unsupported(`${l.cls} layer without a bias`);
  };
  const filters: number[] = [];
  let kernelSize: number | undefined;
  while (at()?.cls === 'Conv2D') {
    const c = at();
    needBias(c);
    const [kh, kw] = pair(c.cfg.kernelSize);
    const strides = pair(c.cfg.strides ?? 1);
    const dil = pair(c.cfg.dilationRate ?? 1);
    if (kh !== kw || kh % 2 === 0 || (kernelSize !== undefined && kh !== kernelSize)) throw unsupported(`Conv2D kernel ${kh}×${kw} (one odd square kernel size throughout)`);
    if (strides.some((s) => s !== 1) || dil.some((d) => d !== 1) || c.cfg.padding !== 'same' || c.activation !== 'relu') throw unsupported(`Conv2D must have stride 1, dilation 1, 'same' padding and relu (got ${JSON.stringify({ strides, padding: c.cfg.padding, activation: c.activation })})`);
    if (c.cfg.dataFormat && c.cfg.dataFormat !== 'channelsLast') throw unsupported('Conv2D with channels-first data (convert to channels-last)');
    kernelSize = kh;
    filters.push(Number(c.cfg.filters));
    i++;
    const p = at();
    if (p?.cls !== 'MaxPooling2D' || pair(p.cfg.poolSize).some((s) => s !== 2) || pair(p.cfg.strides ?? 2).some((s) => s !== 2) || (p.cfg.padding ?? 'valid') !== 'valid') throw unsupported(`Conv2D must be followed by MaxPooling2D(2×2, stride 2, valid), got ${describe(p)}`);
    i++;
  }
  if (at()?.cls === 'Flatten') i++;
  else if (filters.length || inputShape.length > 1) throw unsupported(`expected Flatten before the dense layers, got ${describe(at())}`);
  const dense: LayerInfo[] = [];
  while (at()?.cls === 'Dense') dense.push(layers[i++]);
  if (i < layers.length) throw unsupported(`layer ${describe(at())} where only Dense layers may follow`);
  if (!dense.length) throw unsupported('no Dense output layer');
  dense.forEach(needBias);
  const last = dense[dense.length - 1];
  if (last.activation !== 'linear' && last.activation !== 'softmax') throw unsupported(`the output Dense has activation ${last.activation} (linear logits or softmax only)`);
  const numClasses = Number(last.cfg.units);
  if (numClasses < 2) throw unsupported(`the output has ${numClasses} unit (a binary model needs 2 logits or a 2-way softmax)`);
  const hidden = dense.slice(0, -1);
  const droppedSoftmax = last.activation === 'softmax';
  if (filters.length) {
    if (inputShape.length !== 3) throw unsupported(`a CNN needs an image input [h, w, c], got [${inputShape}]`);
    if (hidden.length !== 1 || hidden[0].activation !== 'relu') throw unsupported('a CNN needs exactly one relu Dense layer between Flatten and the output');
    return { spec: { kind: 'cnn', inputShape, numClasses, filters, kernelSize: kernelSize!, dense: Number(hidden[0].cfg.units) }, droppedSoftmax };
  }
  if (!hidden.length) return { spec: { kind: 'logreg', inputShape, numClasses }, droppedSoftmax };
  const act = hidden[0].activation;
  if ((act !== 'relu' && act !== 'tanh') || hidden.some((h) => h.activation !== act)) throw unsupported(`hidden Dense activations ${hidden.map((h) => h.activation).join(', ')} (relu or tanh throughout)`);
  return { spec: { kind: 'mlp', inputShape, numClasses, hidden: hidden.map((h) => Number(h.cfg.units)), activation: act }, droppedSoftmax };
}

/**
 * Rebuild `model` with this project's builder ({@link buildModel}) and copy its weights, so every
 * method and the model directory format apply. Outputs are the imported model's logits (before a
 * dropped softmax).
 * @throws UnlearnError INVALID_ARGS (unsupported architecture), SHAPE_MISMATCH (weight shapes differ).
 */
export function adoptModel(model: tfl.LayersModel): Recognised & { model: tfl.LayersModel } {
  const r = recogniseModel(model);
  const ours = buildModel(r.spec, 0);
  const theirs = model.getWeights();
  const want = ours.weights.map((w) => w.shape as number[]);
  if (theirs.length !== want.length || theirs.some((t, k) => t.shape.join('x') !== want[k].join('x'))) {
    ours.dispose();
    throw new UnlearnError('SHAPE_MISMATCH', `the model's weights [${theirs.map((t) => `[${t.shape}]`).join(', ')}] do not match the ${r.spec.kind} they describe ([${want.map((s) => `[${s}]`).join(', ')}])`, 'check the model file');
  }
  ours.setWeights(theirs); // copies the values; the caller disposes `model`
  return { ...r, model: ours };
}
