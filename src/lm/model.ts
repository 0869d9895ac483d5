/**
 * A decoder-only transformer language model (GPT-2 layout, Radford et al. 2019) built from
 * tfjs-core ops over named `tf.Variable`s: token embedding + learned positions, `nLayers` pre-norm
 * blocks (LayerNorm → causal multi-head self-attention → residual; LayerNorm → GELU MLP →
 * residual), a final LayerNorm and an output head tied to the token embedding.
 *
 * Every op used (gather, matMul with transposes, softmax, moments, tanh, oneHot, logSoftmax)
 * has a wasm kernel; gather's gradient needs `UnsortedSegmentSum`, which src/engine/kernels
 * registers. Gradients are tested against the cpu backend (model.test.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { UnlearnError } from '../errors.js';
import { Rng } from '../engine/rng.js';
import { gelu as fusedGelu, layerNorm as fusedLayerNorm, maskedSoftmax, softmaxScaledGrad, tokenLogProbs as fusedTokenLogProbs } from '../engine/nativeOps.js';
import { VOCAB_SIZE } from './tokenizer.js';

/** Architecture of a model. Sizes are counts; contextLength T is in tokens (bytes). */
export interface LmConfig {
  name: string;
  vocabSize: number;
  contextLength: number;
  dModel: number;
  nLayers: number;
  nHeads: number;
  /** Hidden width of the MLP (GPT-2: 4·dModel). */
  dMlp: number;
  /** Output head = transposed token embedding (true) or its own matrix (false). */
  tiedHead: boolean;
}

/** The named configurations. `tiny` trains in about a minute on 2 cores; `small` is the demo/bench model. */
export const LM_CONFIGS: Record<'tiny' | 'small', LmConfig> = {
  tiny: { name: 'tiny', vocabSize: VOCAB_SIZE, contextLength: 64, dModel: 64, nLayers: 2, nHeads: 4, dMlp: 256, tiedHead: true },
  small: { name: 'small', vocabSize: VOCAB_SIZE, contextLength: 128, dModel: 256, nLayers: 4, nHeads: 8, dMlp: 1024, tiedHead: true },
};

/** Resolve a config name. @throws UnlearnError INVALID_PARAMS for an unknown name. */
export function lmConfig(name: string): LmConfig {
  const c = (LM_CONFIGS as Record<string, LmConfig>)[name];
  if (!c) throw new UnlearnError('INVALID_PARAMS', `unknown language-model config "${name}"`, `known: ${Object.keys(LM_CONFIGS).join(', ')}`);
  return { ...c };
}

/** A model: its config and its parameters by name (float32 tf.Variables, trainable). */
export interface LanguageModel {
  config: LmConfig;
  params: Map<string, tf.Variable>;
}

/** Parameter names and shapes of a config, in a fixed order (the order of `weights.bin`). */
export function paramShapes(c: LmConfig): [string, number[]][] {
  const out: [string, number[]][] = [
    ['wte', [c.vocabSize, c.dModel]],
    ['wpe', [c.contextLength, c.dModel]],
  ];
  for (let l = 0; l < c.nLayers; l++) {
    const p = `h${l}.`;
    out.push(
      [p + 'ln1.g', [c.dModel]], [p + 'ln1.b', [c.dModel]],
      [p + 'attn.wqkv', [c.dModel, 3 * c.dModel]], [p + 'attn.bqkv', [3 * c.dModel]],
      [p + 'attn.wo', [c.dModel, c.dModel]], [p + 'attn.bo', [c.dModel]],
      [p + 'ln2.g', [c.dModel]], [p + 'ln2.b', [c.dModel]],
      [p + 'mlp.w1', [c.dModel, c.dMlp]], [p + 'mlp.b1', [c.dMlp]],
      [p + 'mlp.w2', [c.dMlp, c.dModel]], [p + 'mlp.b2', [c.dModel]],
    );
  }
  out.push(['lnf.g', [c.dModel]], ['lnf.b', [c.dModel]]);
  if (!c.tiedHead) out.push(['head', [c.dModel, c.vocabSize]]);
  return out;
}

/** Total number of parameters of a config. */
export function numParams(c: LmConfig): number {
  return paramShapes(c).reduce((s, [, sh]) => s + sh.reduce((a, b) => a * b, 1), 0);
}

/**
 * A freshly initialised model (GPT-2 init: N(0, 0.02) weights, residual output projections
 * scaled by 1/√(2·nLayers), zero biases, unit LayerNorm gains), seeded: the same seed gives the
 * same weights on every machine.
 */
export function initModel(config: LmConfig, seed: number): LanguageModel {
  if (config.dModel % config.nHeads !== 0) {
    throw new UnlearnError('INVALID_PARAMS', `dModel ${config.dModel} is not divisible by nHeads ${config.nHeads}`, 'pick nHeads dividing dModel');
  }
  const rng = new Rng(`lm-init/${seed}`);
  const params = new Map<string, tf.Variable>();
  for (const [name, shape] of paramShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    if (name.endsWith('.g')) v.fill(1);
    else if (shape.length === 2) {
      const std = name.endsWith('attn.wo') || name.endsWith('mlp.w2') ? 0.02 / Math.sqrt(2 * config.nLayers) : 0.02;
      for (let i = 0; i < n; i++) v[i] = rng.normal() * std;
    }
    params.set(name, ownedVariable(tf.tensor(v, shape, 'float32')));
  }
  return { config: { ...config }, params };
}

/** A trainable variable over `t`'s data; `t` itself is disposed (the variable keeps the data). */
function ownedVariable(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t, true);
  t.dispose();
  return v;
}

/** A model from host weight arrays (e.g. read from disk), in paramShapes order. */
export function modelFromArrays(config: LmConfig, arrays: Map<string, Float32Array>): LanguageModel {
  const params = new Map<string, tf.Variable>();
  for (const [name, shape] of paramShapes(config)) {
    const a = arrays.get(name);
    if (!a || a.length !== shape.reduce((x, y) => x * y, 1)) {
      for (const v of params.values()) v.dispose();
      throw new UnlearnError('SHAPE_MISMATCH', `weights for "${name}" missing or of the wrong size`, 'the model directory does not match its config');
    }
    params.set(name, ownedVariable(tf.tensor(a, shape, 'float32')));
  }
  return { config: { ...config }, params };
}

/** An independent copy (new variables) of a model. */
export function cloneModel(m: LanguageModel): LanguageModel {
  const params = new Map<string, tf.Variable>();
  for (const [k, v] of m.params) params.set(k, ownedVariable(v.clone()));
  return { config: { ...m.config }, params };
}

/** Free a model's variables. */
export function disposeModel(m: LanguageModel): void {
  for (const v of m.params.values()) v.dispose();
}

/** The model's variables in paramShapes order (for tf.variableGrads). */
export function variables(m: LanguageModel): tf.Variable[] {
  return paramShapes(m.config).map(([n]) => m.params.get(n)!);
}

/** LayerNorm over the last axis (Ba et al. 2016), ε = 1e-5. x: [..., d] → same shape (src/engine/nativeOps.ts). */
export function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps = 1e-5): tf.Tensor {
  return fusedLayerNorm(x, g, b, eps);
}

type CustomGradArg = Parameters<typeof tf.customGrad>[0];
/** Types a function of n tensors + save for tf.customGrad (whose typing takes a variadic union). */
const customGradFn = (f: (...args: never[]) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[] }) => f as unknown as CustomGradArg;

/**
 * GELU, tanh approximation (Hendrycks & Gimpel 2016), as GPT-2 uses:
 * 0.5·x·(1 + tanh(c·(x + 0.044715·x³))), c = √(2/π). Any shape, float32. Its gradient is written
 * by hand so that the backward pass keeps only x; on wasm with the native kernels both passes
 * are one native kernel each (src/engine/nativeOps.ts; tested against the cpu backend).
 */
export const gelu = (x: tf.Tensor): tf.Tensor => fusedGelu(x);

/**
 * Scaled dot-product attention core, softmax(q·kᵀ/√dh + mask)·v (Vaswani et al. 2017):
 * q [B, H, T, dh], k and v [B, H, S, dh], mask [T, S] (additive, constant) → [B, H, T, dh].
 * Its gradient is written by hand (with p = the softmax: dv = pᵀ·dy; dp = dy·vᵀ;
 * ds = p ⊙ (dp − Σ_j dp ⊙ p)/√dh; dq = ds·k; dk = dsᵀ·q), so that the backward pass keeps p
 * alone instead of the scores, scaled and masked scores and p; the softmax and ds are one native
 * kernel each on wasm with the native kernels (src/engine/nativeOps.ts; tested against the cpu backend).
 */
export function attentionCore(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, mask: tf.Tensor2D): tf.Tensor4D {
  const scale = 1 / Math.sqrt(q.shape[3]);
  const core = tf.customGrad(customGradFn((qi: tf.Tensor, ki: tf.Tensor, vi: tf.Tensor, save: tf.GradSaveFunc) => {
    const p = maskedSoftmax(tf.matMul(qi, ki, false, true), mask, scale);
    save([qi, ki, vi, p]);
    return {
      value: tf.matMul(p, vi),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [qs, ks, vs, ps] = saved;
          const dv = tf.matMul(ps, dy, true, false);
          const dp = tf.matMul(dy, vs, false, true);
          const ds = softmaxScaledGrad(ps, dp, scale); // the scores' gradient, times the scale
          return [tf.matMul(ds, ks), tf.matMul(ds, qs, true, false), dv];
        }),
    };
  })) as (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.Tensor;
  return core(q, k, v) as tf.Tensor4D;
}

/** x [n, k] · w [k, m] + b [m] → [n, m], as one fused kernel (the bias added in the product's tail). */
function linear(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b });
}

/** Additive causal mask [T, T]: 0 where key j ≤ query i, −1e9 above the diagonal. */
export function causalMask(T: number): tf.Tensor2D {
  const m = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) m[i * T + j] = -1e9;
  return tf.tensor2d(m, [T, T]);
}

/** Keys and values of earlier positions for one layer: float32 [B, H, S, dh] each (S = positions cached). */
export interface LayerKv {
  k: tf.Tensor4D;
  v: tf.Tensor4D;
}

/**
 * Causal multi-head self-attention (Vaswani et al. 2017) of x [B, T, d] → y [B, T, d], with the
 * block's parameters under `prefix` (attn.wqkv [d, 3d], attn.bqkv [3d], attn.wo [d, d], attn.bo [d]).
 * With `past` (keys/values of the S positions before x), x's positions attend to the past too;
 * `mask` is then [T, S + T]. Returns y and the keys/values of all S + T positions.
 */
export function attention(m: LanguageModel, prefix: string, x: tf.Tensor3D, mask: tf.Tensor2D, past?: LayerKv): { y: tf.Tensor3D; kv: LayerKv } {
  const [B, T, d] = x.shape;
  const H = m.config.nHeads;
  const dh = d / H;
  const P = (n: string) => m.params.get(prefix + n)!;
  const qkv = linear(tf.reshape(x, [B * T, d]), P('attn.wqkv'), P('attn.bqkv'));
  const [q, kNew, vNew] = tf.split(qkv, 3, 1).map((t) => tf.transpose(tf.reshape(t, [B, T, H, dh]), [0, 2, 1, 3]) as tf.Tensor4D);
  const k = past ? tf.concat([past.k, kNew], 2) : kNew;
  const v = past ? tf.concat([past.v, vNew], 2) : vNew;
  const y = attentionCore(q, k, v, mask); // [B, H, T, dh]
  const merged = tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [B * T, d]);
  return { y: tf.reshape(linear(merged, P('attn.wo'), P('attn.bo')), [B, T, d]), kv: { k, v } };
}

/** {@link attention} without a cache: x [B, T, d], mask [T, T] → [B, T, d]. */
export function selfAttention(m: LanguageModel, prefix: string, x: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor3D {
  return attention(m, prefix, x, mask).y;
}

/** GELU MLP of x [B, T, d] → [B, T, d] with the block's parameters under `prefix`. */
export function mlp(m: LanguageModel, prefix: string, x: tf.Tensor3D): tf.Tensor3D {
  const [B, T, d] = x.shape;
  const P = (n: string) => m.params.get(prefix + n)!;
  const h = gelu(linear(tf.reshape(x, [B * T, d]), P('mlp.w1'), P('mlp.b1')));
  return tf.reshape(linear(h, P('mlp.w2'), P('mlp.b2')), [B, T, d]);
}

/** One pre-norm transformer block: x + attn(LN(x)), then + mlp(LN(·)). [B, T, d] → [B, T, d]. */
export function block(m: LanguageModel, l: number, x: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor3D {
  return blockWithKv(m, l, x, mask).y;
}

/** {@link block} with the attention's key/value cache (see {@link attention}). */
function blockWithKv(m: LanguageModel, l: number, x: tf.Tensor3D, mask: tf.Tensor2D, past?: LayerKv): { y: tf.Tensor3D; kv: LayerKv } {
  const p = `h${l}.`;
  const P = (n: string) => m.params.get(p + n)!;
  const at = attention(m, p, layerNorm(x, P('ln1.g'), P('ln1.b')) as tf.Tensor3D, mask, past);
  const a = tf.add(x, at.y) as tf.Tensor3D;
  return { y: tf.add(a, mlp(m, p, layerNorm(a, P('ln2.g'), P('ln2.b')) as tf.Tensor3D)) as tf.Tensor3D, kv: at.kv };
}

/**
 * Next-token logits. tokens: int32 [B, T] with T ≤ contextLength and ids < vocabSize → float32
 * logits [B, T, V] (position t predicts token t+1). Call inside tf.tidy.
 * @throws UnlearnError SHAPE_MISMATCH when T exceeds the context length.
 */
export function forward(m: LanguageModel, tokens: tf.Tensor2D): tf.Tensor3D {
  return forwardCached(m, tokens).logits;
}

/** Keys/values of every layer for the positions processed so far (incremental decoding). */
export interface KvCache {
  layers: LayerKv[];
  /** Number of positions cached (S). */
  length: number;
}

/**
 * Incremental forward pass: tokens int32 [B, T] are positions S..S+T−1 after the `cache`d ones
 * (S = 0 without a cache) → logits float32 [B, T, V] and the cache extended to S + T positions.
 * Equal (to float rounding) to the matching rows of {@link forward} on the whole sequence, at the
 * cost of T new positions instead of S + T. Call inside tf.tidy and keep the returned cache.
 * @throws UnlearnError SHAPE_MISMATCH when S + T exceeds the context length.
 */
export function forwardCached(m: LanguageModel, tokens: tf.Tensor2D, cache?: KvCache): { logits: tf.Tensor3D; cache: KvCache } {
  const [B, T] = tokens.shape;
  const c = m.config;
  const S = cache?.length ?? 0;
  if (S + T > c.contextLength) throw new UnlearnError('SHAPE_MISMATCH', `sequence of ${S + T} tokens exceeds the context length ${c.contextLength}`, 'shorten the prompt');
  const P = (n: string) => m.params.get(n)!;
  let x = tf.add(tf.gather(P('wte'), tokens), tf.slice(P('wpe'), [S, 0], [T, c.dModel])) as tf.Tensor3D;
  const mask = S === 0 ? causalMask(T) : tf.slice(causalMask(S + T), [S, 0], [T, S + T]);
  const layers: LayerKv[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const r = blockWithKv(m, l, x, mask, cache?.layers[l]);
    x = r.y;
    layers.push(r.kv);
  }
  const h = tf.reshape(layerNorm(x, P('lnf.g'), P('lnf.b')), [B * T, c.dModel]);
  const logits = c.tiedHead ? tf.matMul(h, P('wte'), false, true) : tf.matMul(h, P('head'));
  return { logits: tf.reshape(logits, [B, T, c.vocabSize]), cache: { layers, length: S + T } };
}

/** Free a cache's tensors. */
export function disposeKvCache(c: KvCache): void {
  for (const l of c.layers) tf.dispose([l.k, l.v]);
}

/**
 * Log-probability (nats) of each target token: log p(targets[b,t] | tokens[b,≤t]).
 * tokens, targets: int32 [B, T] → float32 [B, T]. Call inside tf.tidy.
 */
export function tokenLogProbs(m: LanguageModel, tokens: tf.Tensor2D, targets: tf.Tensor2D): tf.Tensor2D {
  const logits = forward(m, tokens);
  return tokenLogProbsFromLogits(logits, targets);
}

/** log softmax(logits)[target] per position: logits [B, T, V], targets int32 [B, T] → [B, T] (src/engine/nativeOps.ts). */
export function tokenLogProbsFromLogits(logits: tf.Tensor3D, targets: tf.Tensor2D): tf.Tensor2D {
  return fusedTokenLogProbs(logits, targets) as tf.Tensor2D;
}
