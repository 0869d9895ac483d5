/**
 * Fast transposed and batched matmuls on wasm. The stock wasm BatchMatMul / _FusedMatMul use
 * XNNPACK only for one non-transposed [M, K]·[K, N] product; with transposeA/transposeB, or with
 * a batch of more than one matrix (attention's [B, H, T, dh] products), they fall back to a
 * loop ~10x slower (bench: 3 vs 40 GFLOPS on [128, 8, 128, 32] products). The replacement
 * materialises transposes with the wasm Transpose kernel, folds a batch against one shared right
 * operand into a single 2-D product, and otherwise runs the fast kernel once per matrix of the
 * batch on zero-copy views of the operands.
 */
import * as tf from '@tensorflow/tfjs-core';
import { release, wasmTranspose, type BackendWasm } from './wasm_util.js';
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

const prod = (xs: number[]) => xs.reduce((p, x) => p * x, 1);

/** A tensor registered over `shape` elements of existing float32 wasm memory at byte `offset` (no copy). */
function heapView(backend: BackendWasm, offset: number, shape: number[]): TensorInfo {
  return backend.makeOutput(shape, 'float32', offset);
}

/** Unregisters a {@link heapView} without freeing the memory it points into. */
function dropView(backend: BackendWasm, v: TensorInfo): void {
  const d = backend.dataIdMap.get(v.dataId);
  if (!d) return;
  backend.wasm.tfjs.disposeData(d.id);
  backend.dataIdMap.delete(v.dataId);
}

/**
 * Wraps a non-transposed BatchMatMul (a float32 [...batchA, M, K], b float32 [...batchB, K, N]) so
 * that batches run on the fast 2-D path: when b holds one matrix, a is reshaped to
 * [batchA·M, K] and multiplied once; when both hold the same number of matrices (or a holds one),
 * each output matrix [M, N] is computed from zero-copy views of its operands and copied into the
 * output float32 [...batch, M, N]. Other broadcasts go to the original kernel.
 */
export function withFastBatches(original: WasmKernelFunc): WasmKernelFunc {
  return (args: WasmKernelArgs) => {
    const { backend } = args;
    const a = args.inputs.a as TensorInfo;
    const b = args.inputs.b as TensorInfo;
    const attrs = (args.attrs ?? {}) as unknown as tf.BatchMatMulAttrs;
    const [M, K] = a.shape.slice(-2);
    const N = b.shape[b.shape.length - 1];
    const batchA = prod(a.shape.slice(0, -2));
    const batchB = prod(b.shape.slice(0, -2));
    const batched = batchA > 1 || batchB > 1;
    if (attrs.transposeA || attrs.transposeB || !batched || a.dtype !== 'float32' || b.dtype !== 'float32' || (batchA !== batchB && batchA !== 1 && batchB !== 1)) {
      return original(args);
    }
    const batchShape = (batchA >= batchB ? a : b).shape.slice(0, -2);
    const outShape = [...batchShape, M, N];
    if (batchB === 1) {
      const a2 = heapView(backend, backend.getMemoryOffset(a.dataId), [1, batchA * M, K]);
      const b2 = heapView(backend, backend.getMemoryOffset(b.dataId), [1, K, N]);
      try {
        const out = original({ ...args, inputs: { a: a2, b: b2 } }) as TensorInfo;
        return { ...out, shape: outShape };
      } finally {
        dropView(backend, a2);
        dropView(backend, b2);
      }
    }
    const batch = Math.max(batchA, batchB);
    const out = backend.makeOutput(outShape, 'float32');
    const aOff = backend.getMemoryOffset(a.dataId);
    const bOff = backend.getMemoryOffset(b.dataId);
    for (let i = 0; i < batch; i++) {
      const ai = heapView(backend, aOff + (batchA === 1 ? 0 : i * M * K * 4), [1, M, K]);
      const bi = heapView(backend, bOff + (batchB === 1 ? 0 : i * K * N * 4), [1, K, N]);
      try {
        const r = original({ ...args, inputs: { a: ai, b: bi } }) as TensorInfo;
        // the heap may have grown during the call: take fresh views after it
        (backend.typedArrayFromHeap(out) as Float32Array).set(backend.typedArrayFromHeap(r) as Float32Array, i * M * N);
        release(backend, r);
      } finally {
        dropView(backend, ai);
        dropView(backend, bi);
      }
    }
    return out;
  };
}

function makeEntry(kernelName: string, batches: boolean): TrainingKernel {
  let original: WasmKernelFunc | undefined;
  const call: WasmKernelFunc = (args) => {
    if (!original) throw new Error(`original wasm ${kernelName} kernel not found`);
    return original(args);
  };
  const wrapped = withExplicitTranspose(batches ? withFastBatches(call) : call);
  return {
    kernelName,
    kernelFunc: wrapped,
    mode: 'replace',
    onOriginal: (cfg) => {
      if (cfg) original = cfg.kernelFunc as unknown as WasmKernelFunc;
    },
  };
}

/** Registration entry: replaces wasm BatchMatMul (transposed and batched paths made fast). */
export const batchMatMulKernel: TrainingKernel = makeEntry('BatchMatMul', true);

/** Registration entry: replaces wasm _FusedMatMul (transposed path made fast; batches as stock). */
export const fusedMatMulKernel: TrainingKernel = makeEntry('_FusedMatMul', false);
