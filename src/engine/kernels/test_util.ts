/**
 * Helpers for the kernel tests: run the same gradient on the wasm backend (with the training
 * kernels) and on the cpu backend, on seeded random inputs, and compare.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // its node bundle registers every gradient function
import { initEngine } from '../backend.js';
import { Rng } from '../rng.js';
import { setNativeKernelsEnabled } from './native_blas.js';

// The kernel tests exercise the wasm kernels of this directory (the fallback of the OpenBLAS
// path); native_blas.test.ts switches the native kernels back on.
setNativeKernelsEnabled(false);

/** A host-side tensor description: shape, values and dtype. */
export interface HostTensor {
  shape: number[];
  values: Float32Array | Int32Array;
  dtype: 'float32' | 'int32';
}

/** Seeded N(0,1)·scale + shift float32 tensor of `shape`. */
export function randomHost(rng: Rng, shape: number[], scale = 1, shift = 0): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = rng.normal() * scale + shift;
  return { shape, values, dtype: 'float32' };
}

/** Seeded int32 tensor of `shape` with values in [lo, hi). */
export function randomInts(rng: Rng, shape: number[], lo: number, hi: number): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = new Int32Array(n);
  for (let i = 0; i < n; i++) values[i] = lo + rng.int(hi - lo);
  return { shape, values, dtype: 'int32' };
}

/**
 * Gradients of the scalar `f(...inputs)` with respect to the inputs listed in `wrt` (indices),
 * on the active backend, copied to host arrays. Leaves no tensors behind.
 */
export function hostGrads(
  f: (...xs: tf.Tensor[]) => tf.Scalar,
  inputs: HostTensor[],
  wrt: number[],
): Float32Array[] {
  return tf.tidy(() => {
    const ts = inputs.map((h) => tf.tensor(h.values, h.shape, h.dtype));
    const g = tf.grads((...vars: tf.Tensor[]) => {
      const all = ts.slice();
      wrt.forEach((idx, k) => (all[idx] = vars[k]));
      return f(...all);
    });
    return g(wrt.map((i) => ts[i])).map((t) => Float32Array.from(t.dataSync() as Float32Array));
  });
}

/** Largest |a_i - b_i| over two equally long arrays. @throws Error when the lengths differ. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * Computes the gradients on wasm (training kernels registered) and on cpu; returns the largest
 * absolute difference over all of them. Leaves the wasm backend active.
 */
export async function wasmVsCpu(
  f: (...xs: tf.Tensor[]) => tf.Scalar,
  inputs: HostTensor[],
  wrt: number[],
): Promise<number> {
  await initEngine('wasm');
  const gw = hostGrads(f, inputs, wrt);
  await tf.setBackend('cpu');
  const gc = hostGrads(f, inputs, wrt);
  await initEngine('wasm');
  let m = 0;
  gw.forEach((g, i) => {
    m = Math.max(m, maxAbsDiff(g, gc[i]));
  });
  return m;
}

/** Number of live tensors before and after running `fn` inside tf.tidy on the active backend. */
export function tensorsAround(fn: () => unknown): { before: number; after: number } {
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    fn();
  });
  return { before, after: tf.memory().numTensors };
}

export { tf, Rng, initEngine };
