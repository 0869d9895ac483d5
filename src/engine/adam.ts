/**
 * Adam (Kingma & Ba 2015) with the per-variable update fused into one native kernel on the wasm
 * backend when the OpenBLAS addon is loaded (../native.ts): tfjs-core's AdamOptimizer runs 13
 * elementwise kernels per variable per step (each a full pass over the parameter), the fused
 * kernel one pass. It performs tfjs-core's float32 operations in the same order with IEEE
 * rounding; the wasm kernels' vectorised sqrt/div round slightly differently, so results match
 * tf.train.adam to float32 rounding (≤ 1e-6 after several steps, tested), and repeat their own
 * bytes run to run. On other backends,
 * or with the native kernels off, it is tf.train.adam unchanged. State (moments, β powers) lives
 * in the same fields, so getWeights/setWeights and serialisation work as for tf.train.adam.
 */
import * as tf from '@tensorflow/tfjs-core';
import { nativeKernelsActive } from './kernels/native_blas.js';
import { loadNative } from './native.js';
import type { BackendWasm, TensorInfo, WasmKernelArgs } from './kernels/wasm_util.js';

/** Name of the fused kernel (registered on wasm only). */
export const ADAM_KERNEL = 'UnlearnAdamUpdate';

/** Attributes of {@link ADAM_KERNEL}: the step's float32 constants. */
interface AdamAttrs {
  beta1: number;
  beta2: number;
  oneMinusBeta1: number;
  oneMinusBeta2: number;
  /** 1 − β1^t and 1 − β2^t (float32, as tfjs computes them). */
  c1: number;
  c2: number;
  epsilon: number;
  negLr: number;
}

/** Inputs x (parameter), g, m, v: float32, same size → [m', v', x'] float32 of x's shape. */
function adamKernel(args: WasmKernelArgs): TensorInfo[] {
  const { backend } = args;
  const { x, g, m, v } = args.inputs as Record<string, TensorInfo>;
  const a = args.attrs as unknown as AdamAttrs;
  const addon = loadNative();
  if (!addon) throw new Error(`${ADAM_KERNEL}: the native addon is not loaded`);
  const n = x.shape.reduce((p, q) => p * q, 1);
  const m2 = backend.makeOutput(x.shape, 'float32');
  const v2 = backend.makeOutput(x.shape, 'float32');
  const x2 = backend.makeOutput(x.shape, 'float32');
  const off = (t: TensorInfo) => (backend as BackendWasm).getMemoryOffset(t.dataId);
  const heap = (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer as ArrayBuffer;
  addon.adam(heap, off(x), off(g), off(m), off(v), off(x2), off(m2), off(v2), n, a.beta1, a.beta2, a.oneMinusBeta1, a.oneMinusBeta2, a.c1, a.c2, a.epsilon, a.negLr);
  return [m2, v2, x2];
}

let registered = false;
function registerAdamKernel(): void {
  if (registered || tf.getKernel(ADAM_KERNEL, 'wasm')) return;
  tf.registerKernel({ kernelName: ADAM_KERNEL, backendName: 'wasm', kernelFunc: adamKernel as unknown as tf.KernelFunc });
  registered = true;
}

/** The AdamOptimizer fields this class works on (public in tfjs-core's JS, protected in its types). */
interface AdamState {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
}

type Gradients = Parameters<tf.AdamOptimizer['applyGradients']>[0];
type NamedGradient = { name: string; tensor: tf.Tensor };

/** tf.train.adam with the fused update on wasm + native kernels (see the module comment). */
export class FusedAdamOptimizer extends tf.AdamOptimizer {
  override applyGradients(variableGradients: Gradients): void {
    if (tf.getBackend() !== 'wasm' || !nativeKernelsActive()) return super.applyGradients(variableGradients);
    registerAdamKernel();
    const s = this as unknown as AdamState;
    const list = Array.isArray(variableGradients) ? (variableGradients as NamedGradient[]) : undefined;
    const map = list ? undefined : (variableGradients as Record<string, tf.Tensor>);
    const names = list ? list.map((v) => v.name) : Object.keys(map!);
    tf.tidy(() => {
      const acc1 = s.accBeta1.dataSync()[0];
      const acc2 = s.accBeta2.dataSync()[0];
      const attrs: AdamAttrs = {
        beta1: s.beta1,
        beta2: s.beta2,
        oneMinusBeta1: 1 - s.beta1,
        oneMinusBeta2: 1 - s.beta2,
        c1: Math.fround(1 - acc1),
        c2: Math.fround(1 - acc2),
        epsilon: s.epsilon,
        negLr: -s.learningRate,
      };
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name];
        s.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        s.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        const gradient = list ? list[i].tensor : map![name];
        if (gradient == null) return;
        const m = s.accumulatedFirstMoment[i].variable;
        const v = s.accumulatedSecondMoment[i].variable;
        if (value.dtype !== 'float32' || gradient.dtype !== 'float32' || gradient.size !== value.size || value.size === 0) {
          throw new Error(`fused Adam: variable ${name} needs a float32 gradient of its size`);
        }
        const [m2, v2, x2] = tf.engine().runKernel(ADAM_KERNEL, { x: value, g: gradient, m, v }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        m.assign(m2);
        v.assign(v2);
        value.assign(x2);
      });
      s.accBeta1.assign(tf.mul(s.accBeta1, s.beta1));
      s.accBeta2.assign(tf.mul(s.accBeta2, s.beta2));
    });
    (this as unknown as { incrementIterations(): void }).incrementIterations();
  }
}

/**
 * An Adam optimizer (β1 0.9, β2 0.999, ε the backend's, as tf.train.adam), fused on wasm with
 * the native kernels. The caller disposes it.
 */
export function adam(learningRate: number): tf.AdamOptimizer {
  return new FusedAdamOptimizer(learningRate, 0.9, 0.999);
}
