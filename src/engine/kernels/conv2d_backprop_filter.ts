/**
 * Conv2DBackpropFilter for the wasm backend (tfjs-backend-wasm 4.22 has none), computed as one
 * forward convolution on the fast XNNPACK Conv2D kernel:
 *
 *   dW[kh,kw,ci,co] = Σ_{b,oh,ow} xpad[b, oh·sH+kh, ow·sW+kw, ci] · dy[b,oh,ow,co]
 *
 * is a "valid" conv of x viewed as [CI, H, W, B] (batch = CI, channels = B) with dy viewed as a
 * filter [OH, OW, B, CO] dilated by the strides, giving [CI, KH, KW, CO], then transposed.
 */
import * as tf from '@tensorflow/tfjs-core';
import { callWasmKernel, release, wasmTranspose } from './wasm_util.js';
import type { BackendWasm, TensorInfo, TrainingKernel, WasmKernelArgs } from './wasm_util.js';

/**
 * Gradient of conv2d with respect to its filter.
 * Inputs: `x` float32 [B, H, W, CI] (NHWC), `dy` float32 [B, OH, OW, CO].
 * Attrs: `strides`, `pad` ('same' | 'valid' | number | explicit [[0,0],[t,b],[l,r],[0,0]]),
 * `filterShape` [KH, KW, CI, CO], `dataFormat` ('NHWC'), `dimRoundingMode`.
 * Returns float32 [KH, KW, CI, CO].
 * @throws Error for dataFormat NCHW or non-float32 inputs.
 */
export function conv2DBackpropFilter(args: WasmKernelArgs): TensorInfo {
  const { backend } = args;
  const x = args.inputs.x as TensorInfo;
  const dy = args.inputs.dy as TensorInfo;
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (attrs.dataFormat === 'NCHW') throw new Error('wasm Conv2DBackpropFilter supports only NHWC');
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new Error(`wasm Conv2DBackpropFilter needs float32 inputs, got ${x.dtype}, ${dy.dtype}`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
  );
  return filterGradByConv(backend, x, dy, info);
}

/** Computes the filter gradient for a conv described by `info` (dilations 1). Caller owns the result. */
export function filterGradByConv(
  backend: BackendWasm,
  x: TensorInfo,
  dy: TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): TensorInfo {
  const { filterHeight: KH, filterWidth: KW, strideHeight: sH, strideWidth: sW } = info;
  const [, H, W] = x.shape;
  const [, OH, OW] = dy.shape;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  // Rows/cols of padding needed after the input so the conv yields at least KH x KW outputs.
  const bottom = Math.max(0, KH + (OH - 1) * sH - H - top);
  const right = Math.max(0, KW + (OW - 1) * sW - W - left);
  const xt = wasmTranspose(backend, x, [3, 1, 2, 0]); // [CI, H, W, B]
  const dyt = wasmTranspose(backend, dy, [1, 2, 0, 3]); // [OH, OW, B, CO]
  const conv = callWasmKernel(
    'Conv2D',
    backend,
    { x: xt, filter: dyt },
    {
      strides: [1, 1],
      pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
      dataFormat: 'NHWC',
      dilations: [sH, sW],
    },
  ); // [CI, KH', KW', CO] with KH' >= KH, KW' >= KW
  release(backend, xt);
  release(backend, dyt);
  let cropped = conv;
  if (conv.shape[1] !== KH || conv.shape[2] !== KW) {
    cropped = callWasmKernel('Slice', backend, { x: conv }, { begin: [0, 0, 0, 0], size: [-1, KH, KW, -1] });
    release(backend, conv);
  }
  const dw = wasmTranspose(backend, cropped, [1, 2, 0, 3]); // [KH, KW, CI, CO]
  release(backend, cropped);
  return dw;
}

/** Registration entry: Conv2DBackpropFilter is missing on wasm 4.22. */
export const conv2DBackpropFilterKernel: TrainingKernel = {
  kernelName: 'Conv2DBackpropFilter',
  kernelFunc: conv2DBackpropFilter,
  mode: 'missing',
};
