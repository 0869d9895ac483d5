/**
 * Fast transposed matmuls on wasm. The stock wasm BatchMatMul / _FusedMatMul are ~10x slower with
 * transposeA/transposeB than without, and every dense backward pass uses the transposed forms.
 * The replacement materialises the transpose with the wasm Transpose kernel, then calls the
 * original (fast, non-transposed) kernel function.
 */
import * as tf from '@tensorflow/tfjs-core';
import { release, wasmTranspose } from './wasm_util.js';
import type { TensorInfo, TrainingKernel, WasmKernelArgs, WasmKernelFunc } from './wasm_util.js';

/** Permutation swapping the last two axes of a rank-`rank` tensor. */
function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

/**
 * Wraps a matmul kernel function (BatchMatMul or _FusedMatMul: inputs `a` [..., M, K] or
 * [..., K, M] and `b` [..., K, N] or [..., N, K], float32, plus any extra inputs passed through)
 * so that transposed operands are transposed explicitly and the original runs with
 * transposeA = transposeB = false. Output: float32 [..., M, N], as the original's.
 * @throws whatever the original throws (shape mismatch, non-float32).
 */
export function withExplicitTranspose(original: WasmKernelFunc): WasmKernelFunc {
  return (args: WasmKernelArgs) => {
    const attrs = (args.attrs ?? {}) as unknown as tf.BatchMatMulAttrs;
    if (!attrs.transposeA && !attrs.transposeB) return original(args);
    const { backend } = args;
    const a = args.inputs.a as TensorInfo;
    const b = args.inputs.b as TensorInfo;
    const made: TensorInfo[] = [];
    const a2 = attrs.transposeA ? wasmTranspose(backend, a, swapLastTwo(a.shape.length)) : a;
    if (a2 !== a) made.push(a2);
    const b2 = attrs.transposeB ? wasmTranspose(backend, b, swapLastTwo(b.shape.length)) : b;
    if (b2 !== b) made.push(b2);
    try {
      return original({
        ...args,
        inputs: { ...args.inputs, a: a2, b: b2 },
        attrs: { ...(args.attrs ?? {}), transposeA: false, transposeB: false },
      });
    } finally {
      for (const t of made) release(backend, t);
    }
  };
}

function makeEntry(kernelName: string): TrainingKernel {
  let original: WasmKernelFunc | undefined;
  const wrapped = withExplicitTranspose((args) => {
    if (!original) throw new Error(`original wasm ${kernelName} kernel not found`);
    return original(args);
  });
  return {
    kernelName,
    kernelFunc: wrapped,
    mode: 'replace',
    onOriginal: (cfg) => {
      if (cfg) original = cfg.kernelFunc as unknown as WasmKernelFunc;
    },
  };
}

/** Registration entry: replaces wasm BatchMatMul (transposed path made fast). */
export const batchMatMulKernel: TrainingKernel = makeEntry('BatchMatMul');

/** Registration entry: replaces wasm _FusedMatMul (transposed path made fast). */
export const fusedMatMulKernel: TrainingKernel = makeEntry('_FusedMatMul');
