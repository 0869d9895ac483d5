/**
 * Fused dense and conv layers while gradients are recorded.
 *
 * tfjs-layers' Dense and Conv2D call `tf.fused.matMul` / `tf.fused.conv2d` with their bias and
 * activation, but tfjs-core 4.22 fuses only `linear` while a gradient tape is open: a relu layer
 * in training runs as MatMul (or Conv2D) → Add(bias) → Relu forward and Step → Multiply → Sum →
 * Reshape backward, each an engine dispatch with tape bookkeeping. {@link installTrainingFusion}
 * wraps those two entry points: with a tape open and activation `relu` (or `linear` with a bias
 * on conv), the layer runs as one `_FusedMatMul` / `FusedConv2D` kernel (bias and relu in its
 * tail, the OpenBLAS kernels of ./kernels/native_blas.ts when loaded) with its own gradient,
 * whose backward pass is the relu mask (Step · dy), one Sum for the bias, and the two products
 * (or conv backprops), each computed only when the tape needs it. Everything else (other activations, PReLU,
 * batched or non-float32 operands, no tape) goes to tfjs-core's functions unchanged.
 *
 * Results: the forward values are the fused kernel's, as in inference; gradients equal the
 * unfused ones up to float32 summation order (≤ 1e-4, tested against the cpu backend), and repeat
 * their bytes run to run on a given backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { nativeKernelsActive } from './kernels/native_blas.js';

let enabled = true;
let installed: { matMul: FusedMatMulFn; conv2d: FusedConv2dFn } | undefined;

type FusedMatMulArgs = Parameters<typeof tf.fused.matMul>[0];
type FusedMatMulFn = typeof tf.fused.matMul;
type FusedConv2dArgs = Parameters<typeof tf.fused.conv2d>[0];
type FusedConv2dFn = typeof tf.fused.conv2d;

/**
 * Switches the training fusion on or off at run time (it stays installed; off, every call goes
 * to tfjs-core's function). Used by tests and the profile to run both paths in one process.
 */
export function setTrainingFusionEnabled(on: boolean): void {
  enabled = on;
}

/** True when the fusion is installed and switched on. */
export function trainingFusionActive(): boolean {
  return enabled && installed !== undefined;
}

/**
 * dyAct = dy masked by y > 0 (relu) or dy (linear), and, when `bias` is given, its sum over the
 * leading axes reduced to bias's shape (the wasm/OpenBLAS Sum kernel for a [C] bias: one pass).
 */
function activationBiasGrad(dy: tf.Tensor, y: tf.Tensor, activation: 'relu' | 'linear', bias?: tf.Tensor): [tf.Tensor, tf.Tensor | undefined] {
  const dyAct = activation === 'relu' ? tf.mul(dy, tf.step(y)) : dy;
  if (!bias) return [dyAct, undefined];
  const axes = tf.backend_util.getReductionAxes(bias.shape, dyAct.shape);
  if (!axes.length) return [dyAct, dyAct];
  const db = tf.sum(dyAct, axes);
  return [dyAct, db.rank === bias.rank ? db : tf.reshape(db, bias.shape)];
}

/** The engine's internal entry for an op with its own gradient (tf.customGrad builds on it). */
interface EngineInternals {
  state: { gradientDepth: number };
  runKernelFunc(params: {
    forwardFunc: (backend: unknown, save: tf.GradSaveFunc) => tf.Tensor;
    backwardsFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => Record<string, () => tf.Tensor>;
    inputs: Record<string, tf.Tensor>;
  }): tf.Tensor;
}

/**
 * Runs `forward` as one taped op over `inputs` whose gradient is `backward`. Unlike tf.customGrad,
 * the per-input gradients are thunks, so the tape computes only those it needs (a first layer's
 * input gradient — a full product — is skipped). `backward`'s shared part (dyAct, db) runs once.
 */
function taped(inputs: tf.Tensor[], forward: (save: tf.GradSaveFunc) => tf.Tensor, backward: (dy: tf.Tensor, saved: tf.Tensor[]) => (() => tf.Tensor)[]): tf.Tensor {
  const inputMap: Record<string, tf.Tensor> = {};
  inputs.forEach((t, i) => (inputMap[i] = t));
  return (tf.engine() as unknown as EngineInternals).runKernelFunc({
    forwardFunc: (_backend, save) => forward(save),
    backwardsFunc: (dy, saved) => {
      const thunks = backward(dy, saved);
      const map: Record<string, () => tf.Tensor> = {};
      thunks.forEach((f, i) => (map[i] = f));
      return map;
    },
    inputs: inputMap,
  });
}

const taping = () => (tf.engine() as unknown as EngineInternals).state.gradientDepth > 0;
const isF32 = (...ts: (tf.Tensor | undefined | null)[]) => ts.every((t) => !t || t.dtype === 'float32');

/**
 * The _FusedMatMul kernel on 2-D a, b → 2-D result. The OpenBLAS kernel takes 2-D operands; the
 * stock wasm and other backends' kernels expect rank 3 (as tfjs-core passes them), so there the
 * operands are viewed as one-matrix batches.
 */
function matMulKernel(a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor | null | undefined, attrs: tf.NamedAttrMap): tf.Tensor {
  const run = (x: tf.Tensor, w: tf.Tensor) => tf.engine().runKernel('_FusedMatMul', bias ? { a: x, b: w, bias } : { a: x, b: w }, attrs) as tf.Tensor;
  if (tf.getBackend() === 'wasm' && nativeKernelsActive()) return run(a, b);
  const y = run(tf.reshape(a, [1, ...a.shape]), tf.reshape(b, [1, ...b.shape]));
  return tf.reshape(y, y.shape.slice(1));
}

/** tf.fused.matMul, fused with a tape open for 2-D float32 operands and relu (see the module comment). */
function fusedMatMul(original: FusedMatMulFn): FusedMatMulFn {
  return (args: FusedMatMulArgs) => {
    const { a, b, transposeA = false, transposeB = false, bias, activation = 'linear', preluActivationWeights } = args;
    if (!enabled || !taping() || activation !== 'relu' || preluActivationWeights != null) return original(args);
    if (!(a instanceof tf.Tensor) || !(b instanceof tf.Tensor) || (bias != null && !(bias instanceof tf.Tensor))) return original(args);
    const biasT = bias as tf.Tensor | undefined | null;
    if (a.rank !== 2 || b.rank !== 2 || !isF32(a, b, biasT)) return original(args);
    const N = transposeB ? b.shape[0] : b.shape[1];
    if (biasT && !(biasT.rank === 1 && biasT.shape[0] === N)) return original(args);
    const attrs = { transposeA, transposeB, activation: 'relu', leakyreluAlpha: 0.2 };
    const inputs = biasT ? [a, b, biasT] : [a, b];
    return taped(inputs, (save) => {
      const y = matMulKernel(a, b, biasT, attrs);
      save([a, b, y, ...(biasT ? [biasT] : [])]);
      return y;
    }, (dy, [x, w, y, bi]) => {
      const [g, db] = activationBiasGrad(dy, y, 'relu', bi);
      const grads: (() => tf.Tensor)[] = !transposeA && !transposeB ? [() => tf.matMul(g, w, false, true), () => tf.matMul(x, g, true, false)]
        : !transposeA ? [() => tf.matMul(g, w, false, false), () => tf.matMul(g, x, true, false)]
        : !transposeB ? [() => tf.matMul(w, g, false, true), () => tf.matMul(x, g, false, false)]
        : [() => tf.matMul(w, g, true, true), () => tf.matMul(g, x, true, true)];
      return bi ? [...grads, () => db!] : grads;
    });
  };
}

/**
 * tf.fused.conv2d, fused with a tape open for float32 NHWC 4-D input, dilation 1, a [C] bias and
 * relu or linear activation (see the module comment).
 */
function fusedConv2d(original: FusedConv2dFn): FusedConv2dFn {
  return ((args: FusedConv2dArgs) => {
    const { x, filter, strides, pad, dataFormat = 'NHWC', dilations = [1, 1], dimRoundingMode, bias, activation = 'linear', preluActivationWeights } = args;
    if (!enabled || !taping() || (activation !== 'relu' && activation !== 'linear') || preluActivationWeights != null || bias == null) return original(args);
    if (!(x instanceof tf.Tensor) || !(filter instanceof tf.Tensor) || !(bias instanceof tf.Tensor)) return original(args);
    if (x.rank !== 4 || filter.rank !== 4 || dataFormat !== 'NHWC' || !isF32(x, filter, bias)) return original(args);
    if (!tf.backend_util.tupleValuesAreOne(dilations) || typeof pad !== 'string') return original(args);
    if (!(bias.rank === 1 && bias.shape[0] === filter.shape[3]) || x.shape[3] !== filter.shape[2]) return original(args);
    const act = activation as 'relu' | 'linear';
    const attrs = { strides, pad, dataFormat, dilations, dimRoundingMode, activation: act, leakyreluAlpha: 0.2 };
    return taped([x, filter, bias], (save) => {
      const y = tf.engine().runKernel('FusedConv2D', { x, filter, bias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
      save([x, filter, y, bias]);
      return y;
    }, (dy, [xs, ws, ys, bs]) => {
      const [g, db] = activationBiasGrad(dy, ys, act, bs);
      const common = { strides, pad, dataFormat, dimRoundingMode };
      return [
        () => tf.engine().runKernel('Conv2DBackpropInput', { dy: g, filter: ws }, { ...common, inputShape: xs.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
        () => tf.engine().runKernel('Conv2DBackpropFilter', { x: xs, dy: g }, { ...common, filterShape: ws.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
        () => db!,
      ];
    });
  }) as FusedConv2dFn;
}

/**
 * Installs the fusion over `tf.fused.matMul` and `tf.fused.conv2d` (the functions tfjs-layers'
 * Dense and Conv2D call). Idempotent; called
 * by initEngine, so every model the product trains or evaluates goes through it.
 */
export function installTrainingFusion(): void {
  if (installed) return;
  const fused = tf.fused as { matMul: FusedMatMulFn; conv2d: FusedConv2dFn };
  installed = { matMul: fused.matMul, conv2d: fused.conv2d };
  fused.matMul = fusedMatMul(installed.matMul);
  fused.conv2d = fusedConv2d(installed.conv2d);
}
