import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UnlearnError } from '../errors.js';
import { buildModel } from './build.js';
import type { NamedTensor } from './safetensors.js';
import type { ModelSpec } from './spec.js';

/**
 * The mapping between this project's models and PyTorch `nn.Module` state dicts (as safetensors).
 *
 * Layout conventions:
 * - `nn.Linear.weight` is `[out, in]`; a TensorFlow.js Dense kernel is `[in, out]` (transposed).
 * - `nn.Conv2d.weight` is OIHW `[out, in, kh, kw]`; a Conv2D kernel is HWIO `[kh, kw, in, out]`.
 * - Biases are `[out]` on both sides.
 * - Flatten order: PyTorch flattens an NCHW activation as index `c·H·W + h·W + w`; this project's
 *   models (channels-last) flatten `(h·W + w)·C + c`. With `flatten: 'nchw'` (the default: a
 *   plain `nn.Flatten()` after NCHW convolutions) the columns of the first Linear after a 3-d
 *   activation are permuted accordingly; `'nhwc'` when the module permutes to NHWC before flattening.
 *   The PyTorch module takes images as NCHW `[B, C, H, W]`; this project's as `[B, H, W, C]`.
 *
 * The canonical PyTorch module for each spec (the names {@link toTorch} writes; see README) is an
 * `nn.Sequential`:
 * - logreg: `Flatten, Linear(d, K)` → `1.weight`, `1.bias`
 * - mlp: `Flatten, Linear, act, Linear, act, …, Linear` → Linear modules `1, 3, 5, …`
 * - cnn: `(Conv2d(k, padding=k//2), ReLU, MaxPool2d(2)) × L, Flatten, Linear, ReLU, Linear` →
 *   Conv2d modules `0, 3, 6, …`, Linear `3L+1`, `3L+3`
 *
 * On import, modules are taken in the order of `names` when given, else by natural sort of the
 * module prefixes (`0 < 2 < 10`, `conv1 < conv2 < fc1`), which orders any `nn.Sequential`.
 */

/** One layer with weights, in model order. */
interface Slot {
  kind: 'linear' | 'conv';
  in: number;
  out: number;
  k?: number;
  /** The [H, W, C] activation a Linear reads after a Flatten (permutation for the flatten order). */
  from?: [number, number, number];
}

/** The weighted layers of the model a spec builds, in order. */
function slots(spec: ModelSpec): Slot[] {
  const shape = spec.inputShape;
  const flat = shape.reduce((a, b) => a * b, 1);
  const from3 = shape.length === 3 ? ([shape[0], shape[1], shape[2]] as [number, number, number]) : undefined;
  if (spec.kind === 'logreg') return [{ kind: 'linear', in: flat, out: spec.numClasses, from: from3 }];
  if (spec.kind === 'mlp') {
    const dims = [flat, ...spec.hidden, spec.numClasses];
    return dims.slice(1).map((out, j) => ({ kind: 'linear' as const, in: dims[j], out, ...(j === 0 && from3 ? { from: from3 } : {}) }));
  }
  let [h, w, c] = shape;
  const out: Slot[] = [];
  for (const f of spec.filters) {
    out.push({ kind: 'conv', in: c, out: f, k: spec.kernelSize });
    c = f;
    h = Math.floor(h / 2);
    w = Math.floor(w / 2);
  }
  out.push({ kind: 'linear', in: h * w * c, out: spec.dense, from: [h, w, c] });
  out.push({ kind: 'linear', in: spec.dense, out: spec.numClasses });
  return out;
}

/** Module names of the canonical PyTorch module of `spec` (see module doc), one per weighted layer. */
export function canonicalNames(spec: ModelSpec): string[] {
  if (spec.kind === 'logreg') return ['1'];
  if (spec.kind === 'mlp') return [...spec.hidden, 0].map((_, j) => String(1 + 2 * j));
  const L = spec.filters.length;
  return [...spec.filters.map((_, j) => String(3 * j)), String(3 * L + 1), String(3 * L + 3)];
}

/** Flatten order of the PyTorch side. */
export type FlattenOrder = 'nchw' | 'nhwc';

/** Row index in the channels-last flatten of the torch column `col` (NCHW flatten) of an [H, W, C] activation. */
function tfRowOfTorchCol(col: number, [H, W, C]: [number, number, number]): number {
  const c = Math.floor(col / (H * W));
  const hw = col % (H * W);
  return hw * C + c;
}

const naturalCompare = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/**
 * The weights of `spec`'s model (in model order: kernel, bias per layer) from a PyTorch state dict.
 * @param names module prefixes in model order (default: natural sort of the file's prefixes)
 * @throws UnlearnError SHAPE_MISMATCH (wrong number of modules, a tensor of the wrong shape, a
 *   missing weight or bias, or a tensor that is neither), naming the tensor and the shape wanted.
 */
export function fromTorch(tensors: Map<string, NamedTensor>, spec: ModelSpec, opts: { names?: string[]; flatten?: FlattenOrder } = {}): Float32Array[] {
  const flatten = opts.flatten ?? 'nchw';
  const mismatch = (m: string, hint = 'export the state dict of the module the spec describes (see README "PyTorch")') => new UnlearnError('SHAPE_MISMATCH', m, hint);
  const odd = [...tensors.keys()].filter((k) => !/\.(weight|bias)$/.test(k));
  if (odd.length) throw mismatch(`tensor(s) ${odd.slice(0, 3).join(', ')} are neither a weight nor a bias (unsupported layer, e.g. BatchNorm)`, 'supported modules: Linear and Conv2d (with bias)');
  const names = opts.names ?? [...new Set([...tensors.keys()].map((k) => k.replace(/\.(weight|bias)$/, '')))].sort(naturalCompare);
  const plan = slots(spec);
  if (names.length !== plan.length) throw mismatch(`the file has ${names.length} weighted module(s) (${names.join(', ')}), a ${spec.kind} of this spec has ${plan.length}`);
  const out: Float32Array[] = [];
  plan.forEach((s, j) => {
    const get = (suffix: string, shape: number[], what: string) => {
      const t = tensors.get(`${names[j]}.${suffix}`);
      if (!t) throw mismatch(`tensor '${names[j]}.${suffix}' is missing (${what} [${shape}])`);
      if (t.shape.join('x') !== shape.join('x')) throw mismatch(`tensor '${names[j]}.${suffix}' has shape [${t.shape}], the spec needs [${shape}] (${what})`);
      return t.data;
    };
    if (s.kind === 'linear') {
      const W = get('weight', [s.out, s.in], 'Linear weight [out, in]');
      const kernel = new Float32Array(s.in * s.out);
      for (let o = 0; o < s.out; o++) {
        for (let i = 0; i < s.in; i++) {
          const row = s.from && flatten === 'nchw' ? tfRowOfTorchCol(i, s.from) : i;
          kernel[row * s.out + o] = W[o * s.in + i];
        }
      }
      out.push(kernel, Float32Array.from(get('bias', [s.out], 'Linear bias [out]')));
    } else {
      const k = s.k!;
      const W = get('weight', [s.out, s.in, k, k], 'Conv2d weight OIHW');
      const kernel = new Float32Array(k * k * s.in * s.out);
      for (let o = 0; o < s.out; o++)
        for (let i = 0; i < s.in; i++)
          for (let y = 0; y < k; y++) for (let x = 0; x < k; x++) kernel[((y * k + x) * s.in + i) * s.out + o] = W[((o * s.in + i) * k + y) * k + x];
      out.push(kernel, Float32Array.from(get('bias', [s.out], 'Conv2d bias [out]')));
    }
  });
  return out;
}

/**
 * The PyTorch state dict of a model of `spec` (the inverse of {@link fromTorch}), under `names`
 * (default {@link canonicalNames}).
 */
export function toTorch(model: tfl.LayersModel, spec: ModelSpec, opts: { names?: string[]; flatten?: FlattenOrder } = {}): Map<string, NamedTensor> {
  const flatten = opts.flatten ?? 'nchw';
  const names = opts.names ?? canonicalNames(spec);
  const plan = slots(spec);
  const w = model.getWeights().map((t) => t.dataSync() as Float32Array);
  const out = new Map<string, NamedTensor>();
  plan.forEach((s, j) => {
    const kernel = w[2 * j];
    const bias = new Float32Array(w[2 * j + 1]);
    if (s.kind === 'linear') {
      const W = new Float32Array(s.out * s.in);
      for (let o = 0; o < s.out; o++) {
        for (let i = 0; i < s.in; i++) {
          const row = s.from && flatten === 'nchw' ? tfRowOfTorchCol(i, s.from) : i;
          W[o * s.in + i] = kernel[row * s.out + o];
        }
      }
      out.set(`${names[j]}.weight`, { shape: [s.out, s.in], data: W });
    } else {
      const k = s.k!;
      const W = new Float32Array(s.out * s.in * k * k);
      for (let o = 0; o < s.out; o++)
        for (let i = 0; i < s.in; i++)
          for (let y = 0; y < k; y++) for (let x = 0; x < k; x++) W[((o * s.in + i) * k + y) * k + x] = kernel[((y * k + x) * s.in + i) * s.out + o];
      out.set(`${names[j]}.weight`, { shape: [s.out, s.in, k, k], data: W });
    }
    out.set(`${names[j]}.bias`, { shape: [s.out], data: bias });
  });
  return out;
}

/** A model of `spec` holding the weights of a PyTorch state dict (see {@link fromTorch}). */
export function modelFromTorch(tensors: Map<string, NamedTensor>, spec: ModelSpec, opts: { names?: string[]; flatten?: FlattenOrder } = {}): tfl.LayersModel {
  const values = fromTorch(tensors, spec, opts);
  const model = buildModel(spec, 0);
  const ts = model.weights.map((v, k) => tf.tensor(values[k], v.shape as number[], 'float32'));
  model.setWeights(ts);
  tf.dispose(ts);
  return model;
}
