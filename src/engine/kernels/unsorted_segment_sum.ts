/**
 * UnsortedSegmentSum for the wasm backend (missing in 4.22; it is the gradient of gather and of
 * embedding lookups). A JS loop over the wasm heap.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo, TrainingKernel, WasmKernelArgs } from './wasm_util.js';

/**
 * out[s, ...] = Σ_{i : segmentIds[i] = s} x[i, ...].
 * Inputs: `x` float32 or int32 [N, ...rest]; `segmentIds` int32 whose shape is a prefix of x's
 * (normally [N]; a longer prefix is flattened). Attrs: `numSegments` (positive integer).
 * Returns x's dtype, [numSegments, ...rest]. Ids outside [0, numSegments) are dropped, as on cpu.
 * @throws Error when segmentIds' shape is not a prefix of x's, or the dtypes are unsupported.
 */
export function unsortedSegmentSum(args: WasmKernelArgs): TensorInfo {
  const { backend } = args;
  const x = args.inputs.x as TensorInfo;
  const ids = args.inputs.segmentIds as TensorInfo;
  const { numSegments } = args.attrs as unknown as tf.UnsortedSegmentSumAttrs;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`wasm UnsortedSegmentSum supports float32/int32 x, got ${x.dtype}`);
  }
  if (ids.dtype !== 'int32') throw new Error(`segmentIds must be int32, got ${ids.dtype}`);
  const idRank = ids.shape.length;
  if (idRank > x.shape.length || ids.shape.some((d, i) => d !== x.shape[i])) {
    throw new Error(`segmentIds shape [${ids.shape}] must be a prefix of x shape [${x.shape}]`);
  }
  const n = tf.util.sizeFromShape(ids.shape);
  const rest = x.shape.slice(idRank);
  const inner = tf.util.sizeFromShape(rest);
  const out = backend.makeOutput([numSegments, ...rest], x.dtype);
  const xv = backend.typedArrayFromHeap(x) as Float32Array | Int32Array;
  const idv = backend.typedArrayFromHeap(ids) as Int32Array;
  const ov = backend.typedArrayFromHeap(out) as Float32Array | Int32Array;
  ov.fill(0);
  for (let i = 0; i < n; i++) {
    const s = idv[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) ov[dst + j] += xv[src + j];
  }
  return out;
}

/** Registration entry: UnsortedSegmentSum is missing on wasm 4.22. */
export const unsortedSegmentSumKernel: TrainingKernel = {
  kernelName: 'UnsortedSegmentSum',
  kernelFunc: unsortedSegmentSum,
  mode: 'missing',
};
