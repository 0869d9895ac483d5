/**
 * Fused ops of the language model (src/lm) with one native kernel per pass on the wasm backend
 * when the OpenBLAS addon is loaded (./native.ts), each with its gradient as one native kernel:
 * GELU (tanh form), LayerNorm over the last axis, the attention softmax (scale + additive mask +
 * softmax, whose gradient returns the scaled score gradient) and the per-token log-probability of
 * a target (log-softmax + one-hot pick). Written as tfjs ops they are 6–20 kernels each, every one
 * a full pass over the tensor, plus their gradients'.
 *
 * On any other backend, or with the native kernels off (setNativeKernelsEnabled(false),
 * UNLEARN_NATIVE=0, addon not built), each function is the tfjs expression it replaces, so the
 * results there are unchanged. The native loops are sequential with a fixed order (the same bytes
 * run to run); their exp is a polynomial (≤ 2 ulp), so values match the tfjs expressions to
 * float32 rounding, not bit for bit (tested against the cpu backend, nativeOps.test.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { nativeKernelsActive } from './kernels/native_blas.js';
import { loadNative, type NativeAddon } from './native.js';
import type { BackendWasm, TensorInfo, WasmKernelArgs } from './kernels/wasm_util.js';

const prod = (xs: number[]) => xs.reduce((p, x) => p * x, 1);
const heapOf = (b: BackendWasm): ArrayBuffer => (b.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer as ArrayBuffer;

/** A native kernel: inputs/attrs → outputs. `heap()` is read after the outputs are made (making one may grow the heap). */
type NativeArgs = { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs?: tf.NamedAttrMap };
type NativeKernel = (args: NativeArgs, addon: NativeAddon, heap: () => ArrayBuffer, off: (t: TensorInfo) => number) => TensorInfo | TensorInfo[];

const KERNELS: Record<string, NativeKernel> = {
  UnlearnGelu: ({ inputs: { x }, backend }, addon, heap, off) => {
    const y = backend.makeOutput(x.shape, 'float32');
    addon.gelu(heap(), off(x), off(y), prod(x.shape));
    return y;
  },
  UnlearnGeluGrad: ({ inputs: { x, dy }, backend }, addon, heap, off) => {
    const dx = backend.makeOutput(x.shape, 'float32');
    addon.geluGrad(heap(), off(x), off(dy), off(dx), prod(x.shape));
    return dx;
  },
  UnlearnLayerNorm: ({ inputs: { x, g, b }, backend, attrs }, addon, heap, off) => {
    const d = x.shape[x.shape.length - 1];
    const rows = prod(x.shape) / d;
    const y = backend.makeOutput(x.shape, 'float32');
    const mean = backend.makeOutput([rows], 'float32');
    const rstd = backend.makeOutput([rows], 'float32');
    addon.layerNorm(heap(), off(x), off(g), off(b), off(y), off(mean), off(rstd), rows, d, attrs!.eps as number);
    return [y, mean, rstd];
  },
  UnlearnLayerNormGrad: ({ inputs: { x, g, mean, rstd, dy }, backend }, addon, heap, off) => {
    const d = x.shape[x.shape.length - 1];
    const dx = backend.makeOutput(x.shape, 'float32');
    const dg = backend.makeOutput([d], 'float32');
    const db = backend.makeOutput([d], 'float32');
    addon.layerNormGrad(heap(), off(x), off(g), off(mean), off(rstd), off(dy), off(dx), off(dg), off(db), prod(x.shape) / d, d);
    return [dx, dg, db];
  },
  UnlearnMaskedSoftmax: ({ inputs: { s, mask }, backend, attrs }, addon, heap, off) => {
    const S = s.shape[s.shape.length - 1];
    const p = backend.makeOutput(s.shape, 'float32');
    addon.maskedSoftmax(heap(), off(s), mask ? off(mask) : -1, off(p), prod(s.shape) / S, S, mask ? prod(mask.shape) / S : 1, attrs!.scale as number);
    return p;
  },
  UnlearnSoftmaxGrad: ({ inputs: { p, dp }, backend, attrs }, addon, heap, off) => {
    const S = p.shape[p.shape.length - 1];
    const ds = backend.makeOutput(p.shape, 'float32');
    addon.softmaxGrad(heap(), off(p), off(dp), off(ds), prod(p.shape) / S, S, attrs!.scale as number);
    return ds;
  },
  UnlearnTokenLogProb: ({ inputs: { logits, targets }, backend }, addon, heap, off) => {
    const V = logits.shape[logits.shape.length - 1];
    const lp = backend.makeOutput(targets.shape, 'float32');
    const lse = backend.makeOutput(targets.shape, 'float32');
    addon.tokenLogProb(heap(), off(logits), off(targets), off(lp), off(lse), prod(targets.shape), V);
    return [lp, lse];
  },
  UnlearnTokenLogProbGrad: ({ inputs: { logits, targets, lse, dy }, backend }, addon, heap, off) => {
    const V = logits.shape[logits.shape.length - 1];
    const dl = backend.makeOutput(logits.shape, 'float32');
    addon.tokenLogProbGrad(heap(), off(logits), off(targets), off(lse), off(dy), off(dl), prod(targets.shape), V);
    return dl;
  },
};

let registered = false;
function registerKernels(): void {
  if (registered) return;
  for (const [name, k] of Object.entries(KERNELS)) {
    if (tf.getKernel(name, 'wasm')) continue;
    const kernelFunc = (args: WasmKernelArgs) => {
      const addon = loadNative();
      if (!addon) throw new Error(`${name}: the native addon is not loaded`);
      return k(args as NativeArgs, addon, () => heapOf(args.backend), (t) => args.backend.getMemoryOffset(t.dataId));
    };
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
  registered = true;
}

/** True when the fused native path runs: wasm backend, addon loaded, native kernels on. */
export function nativeOpsActive(): boolean {
  const on = tf.getBackend() === 'wasm' && nativeKernelsActive();
  if (on) registerKernels();
  return on;
}

const run = (name: string, inputs: tf.NamedTensorMap, attrs: Record<string, number> = {}) =>
  tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap);

type CustomGradArg = Parameters<typeof tf.customGrad>[0];
/** Types a function of n tensors + save for tf.customGrad (whose typing takes a variadic union). */
const customGradFn = (f: (...args: never[]) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[] }) => f as unknown as CustomGradArg;

const GELU_C = Math.sqrt(2 / Math.PI);

/** The tfjs form of {@link gelu} (its gradient by hand: it keeps x only). */
const geluTf = tf.customGrad(customGradFn((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  const t = tf.tanh(tf.mul(tf.add(x, tf.mul(tf.mul(x, tf.square(x)), 0.044715)), GELU_C));
  return {
    value: tf.mul(tf.mul(x, 0.5), tf.add(t, 1)),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const [xs] = saved;
        const x2 = tf.square(xs);
        const th = tf.tanh(tf.mul(tf.add(xs, tf.mul(tf.mul(xs, x2), 0.044715)), GELU_C));
        const dt = tf.mul(tf.mul(tf.sub(1, tf.square(th)), GELU_C), tf.add(tf.mul(x2, 3 * 0.044715), 1));
        return tf.mul(dy, tf.mul(tf.add(tf.add(th, 1), tf.mul(xs, dt)), 0.5));
      }),
  };
})) as (x: tf.Tensor) => tf.Tensor;

const geluNative = tf.customGrad(customGradFn((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {
    value: run('UnlearnGelu', { x }) as tf.Tensor,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => run('UnlearnGeluGrad', { x: saved[0], dy }) as tf.Tensor,
  };
})) as (x: tf.Tensor) => tf.Tensor;

/**
 * GELU, tanh approximation (Hendrycks & Gimpel 2016), as GPT-2 uses:
 * 0.5·x·(1 + tanh(c·(x + 0.044715·x³))), c = √(2/π). x float32, any shape → same shape. The
 * gradient, 0.5·(1 + t) + 0.5·x·(1 − t²)·c·(1 + 3·0.044715·x²) with t the tanh above, is written
 * by hand so the backward pass keeps only x.
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  return nativeOpsActive() && x.dtype === 'float32' && x.size > 0 ? geluNative(x) : geluTf(x);
}

/**
 * LayerNorm over the last axis (Ba et al. 2016): (x − mean)/√(var + eps)·g + b with the mean and
 * (biased) variance of each row. x float32 [..., d], g and b [d] → [..., d]; gradients for all three.
 */
export function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps = 1e-5): tf.Tensor {
  if (!(nativeOpsActive() && x.dtype === 'float32' && x.size > 0 && g.shape.length === 1 && b.shape.length === 1 && g.size === x.shape[x.rank - 1] && b.size === g.size)) {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), g), b);
  }
  const f = tf.customGrad(customGradFn((xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, mean, rstd] = run('UnlearnLayerNorm', { x: xi, g: gi, b: bi }, { eps }) as tf.Tensor[];
    save([xi, gi, mean, rstd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, gs, ms, rs] = saved;
        return run('UnlearnLayerNormGrad', { x: xs, g: gs, mean: ms, rstd: rs, dy }) as tf.Tensor[];
      },
    };
  })) as (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.Tensor;
  return f(x, g, b);
}

/**
 * Attention probabilities without a gradient record: p = softmax(s·scale + mask) over the last
 * axis. s float32 [..., T, S], mask float32 [T, S] (repeated over the leading axes) → [..., T, S].
 * For use inside a tf.customGrad whose gradient calls {@link softmaxScaledGrad}; native when
 * {@link nativeOpsActive}, else the tfjs ops.
 */
export function maskedSoftmax(s: tf.Tensor, mask: tf.Tensor, scale: number): tf.Tensor {
  const S = s.shape[s.rank - 1];
  if (nativeOpsActive() && s.dtype === 'float32' && mask.dtype === 'float32' && s.size > 0 && mask.shape[mask.rank - 1] === S && (s.size / S) % (mask.size / S) === 0) {
    return run('UnlearnMaskedSoftmax', { s, mask }, { scale }) as tf.Tensor;
  }
  return tf.softmax(tf.add(tf.mul(s, scale), mask));
}

/**
 * The gradient of s ↦ softmax(s·scale + mask) given p (its value) and dp: scale·p ⊙ (dp − Σ_j dp ⊙ p)
 * over the last axis. p, dp float32 [..., S] → [..., S].
 */
export function softmaxScaledGrad(p: tf.Tensor, dp: tf.Tensor, scale: number): tf.Tensor {
  if (nativeOpsActive() && p.dtype === 'float32' && dp.dtype === 'float32' && p.size > 0) {
    return run('UnlearnSoftmaxGrad', { p, dp }, { scale }) as tf.Tensor;
  }
  return tf.mul(tf.mul(p, tf.sub(dp, tf.sum(tf.mul(dp, p), -1, true))), scale);
}

/**
 * log softmax(logits)[target] per position: logits float32 [..., V], targets int32 [...] → float32
 * [...]; a target outside [0, V) gives 0 (a zero one-hot row). Gradient w.r.t. the logits.
 */
export function tokenLogProbs(logits: tf.Tensor, targets: tf.Tensor): tf.Tensor {
  const V = logits.shape[logits.rank - 1];
  if (!(nativeOpsActive() && logits.dtype === 'float32' && targets.dtype === 'int32' && logits.size > 0 && targets.size * V === logits.size)) {
    return tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(targets, V)), -1);
  }
  const f = tf.customGrad(customGradFn((l: tf.Tensor, save: tf.GradSaveFunc) => {
    const [lp, lse] = run('UnlearnTokenLogProb', { logits: l, targets }) as tf.Tensor[];
    // targets is saved too: a loss function's own tensors are disposed before the backward pass
    save([l, lse, targets]);
    return {
      value: lp,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => run('UnlearnTokenLogProbGrad', { logits: saved[0], targets: saved[2], lse: saved[1], dy }) as tf.Tensor,
    };
  })) as (a: tf.Tensor) => tf.Tensor;
  return f(logits);
}
