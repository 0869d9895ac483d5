/**
 * Zero-copy Identity for the wasm backend. The stock wasm 4.22 kernel copies its input into a new
 * buffer, and tfjs calls Identity for every tf.clone, gradient pass-through and `keep` (≈ 300
 * calls per training step of the small LM, several MB each). Like the cpu backend's and wasm's
 * own Reshape, this one shares the input's buffer and counts the reference; no wasm kernel writes
 * into its inputs, so sharing is safe.
 */
import type { TensorInfo, TrainingKernel, WasmKernelArgs } from './wasm_util.js';

/** x (any dtype except string, any shape) → the same data under a new reference. */
export function identity(args: WasmKernelArgs): TensorInfo {
  const x = args.inputs.x as TensorInfo;
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

let stock: ((args: WasmKernelArgs) => TensorInfo | TensorInfo[]) | undefined;

/** Registration entry: replaces the copying stock Identity (strings still go to the stock kernel). */
export const identityKernel: TrainingKernel = {
  kernelName: 'Identity',
  kernelFunc: (args) => {
    const x = args.inputs.x as TensorInfo;
    if (x.dtype === 'string' && stock) return stock(args);
    return identity(args);
  },
  mode: 'replace',
  onOriginal: (cfg) => {
    if (cfg) stock = cfg.kernelFunc as unknown as typeof stock;
  },
};
