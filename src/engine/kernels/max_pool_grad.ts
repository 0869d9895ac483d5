/**
 * MaxPoolGrad for the wasm backend. The stock wasm 4.22 kernel sends the gradient to the first
 * element of a window (not the max) when every element of the window is negative; this one sends
 * it to the position of the max (ties: the first max in row-major window order, as the cpu
 * backend does). A tight JS loop over the wasm heap.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo, TrainingKernel, WasmKernelArgs } from './wasm_util.js';

/**
 * Gradient of maxPool with respect to its input.
 * Inputs: `dy` float32 [B, OH, OW, C], `input` float32 [B, H, W, C] (the pooled input),
 * `output` (unused). Attrs: `filterSize`, `strides`, `pad`, `dimRoundingMode`.
 * Returns float32 [B, H, W, C]: each dy element added at its window's argmax.
 * @throws Error when `input` is not float32.
 */
export function maxPoolGrad(args: WasmKernelArgs): TensorInfo {
  const { backend } = args;
  const dy = args.inputs.dy as TensorInfo;
  const input = args.inputs.input as TensorInfo;
  const attrs = args.attrs as unknown as tf.MaxPoolGradAttrs;
  if (input.dtype !== 'float32') throw new Error(`wasm MaxPoolGrad needs float32 input, got ${input.dtype}`);
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const out = backend.makeOutput(input.shape, 'float32');
  // Views only after every allocation: a heap growth detaches earlier views.
  const xv = backend.typedArrayFromHeap(input) as Float32Array;
  const dyv = backend.typedArrayFromHeap(dy) as Float32Array;
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  dx.fill(0);
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { strideHeight: sH, strideWidth: sW, filterHeight: FH, filterWidth: FW } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const rowStride = W * C;
  for (let b = 0; b < batchSize; b++) {
    const xb = b * H * rowStride;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = oh * sH - top;
      const hs = Math.max(0, h0);
      const he = Math.min(H, h0 + FH);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = ow * sW - left;
        const ws = Math.max(0, w0);
        const we = Math.min(W, w0 + FW);
        const dyBase = ((b * OH + oh) * OW + ow) * C;
        const corner = xb + hs * rowStride + ws * C;
        for (let c = 0; c < C; c++) {
          // Row-major scan of the window; strict '>' keeps the first max.
          let best = -Infinity;
          let pos = -1;
          for (let h = hs, rowBase = corner + c; h < he; h++, rowBase += rowStride) {
            for (let w = ws, i = rowBase; w < we; w++, i += C) {
              const v = xv[i];
              if (v > best) {
                best = v;
                pos = i;
              }
            }
          }
          if (pos >= 0) dx[pos] += dyv[dyBase + c];
        }
      }
    }
  }
  return out;
}

/** Registration entry: replaces the stock wasm MaxPoolGrad (wrong for all-negative windows). */
export const maxPoolGradKernel: TrainingKernel = {
  kernelName: 'MaxPoolGrad',
  kernelFunc: maxPoolGrad,
  mode: 'replace',
};
