/**
 * Training kernels for @tensorflow/tfjs-backend-wasm 4.22: the missing ones are added, the
 * wrong or slow ones replaced. See docs/engine.md.
 */
import { installKernel, restoreOriginalKernels } from './wasm_util.js';
import type { TrainingKernel } from './wasm_util.js';
import { conv2DBackpropFilterKernel } from './conv2d_backprop_filter.js';
import { conv2DBackpropInputKernel } from './conv2d_backprop_input.js';
import { maxPoolGradKernel } from './max_pool_grad.js';
import { batchMatMulKernel, fusedMatMulKernel } from './batch_mat_mul.js';
import { unsortedSegmentSumKernel } from './unsorted_segment_sum.js';
import { identityKernel } from './identity.js';
import { depthwiseConv2dBackpropFilterKernel, depthwiseConv2dBackpropInputKernel } from './depthwise_conv2d_backprop.js';
import { NATIVE_KERNELS } from './native_blas.js';
import { loadNative } from '../native.js';

/** Every kernel this module installs, in registration order. */
export const WASM_TRAINING_KERNELS: readonly TrainingKernel[] = [
  conv2DBackpropFilterKernel,
  conv2DBackpropInputKernel,
  maxPoolGradKernel,
  batchMatMulKernel,
  fusedMatMulKernel,
  unsortedSegmentSumKernel,
  identityKernel,
  depthwiseConv2dBackpropInputKernel,
  depthwiseConv2dBackpropFilterKernel,
];

/**
 * Registers the training kernels the wasm backend lacks and replaces the wrong/slow ones, then,
 * when the OpenBLAS addon loads (../native.ts), the native kernels over them (which fall back to
 * them). Idempotent; safe before or after the wasm backend is initialised (needs
 * @tensorflow/tfjs-backend-wasm imported first so its own kernels are registered).
 * Returns the names of the kernels (re)registered by this call.
 */
export function registerWasmTrainingKernels(): string[] {
  const all = [...WASM_TRAINING_KERNELS, ...(loadNative() ? NATIVE_KERNELS : [])];
  return all.filter((k) => installKernel(k)).map((k) => k.kernelName);
}

/** Undoes {@link registerWasmTrainingKernels}: unregisters ours and re-registers the stock kernels. */
export function unregisterWasmTrainingKernels(): void {
  restoreOriginalKernels();
}
