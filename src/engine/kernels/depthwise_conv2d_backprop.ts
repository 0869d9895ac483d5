/**
 * DepthwiseConv2dNativeBackpropInput and DepthwiseConv2dNativeBackpropFilter for the wasm
 * backend (tfjs-backend-wasm 4.22 has neither, so no model with a depthwise convolution could
 * train on wasm). Direct loops over the wasm heap, NHWC, any channel multiplier, strides,
 * dilations and padding. For a depthwise conv with filter w [KH, KW, C, M]
 *
 *   y[b, oh, ow, c·M + m] = Σ_{kh, kw} x[b, oh·sH + kh·dH − top, ow·sW + kw·dW − left, c] · w[kh, kw, c, m]
 *
 * (out-of-range x are 0), the gradients are its adjoints:
 *
 *   dx[b, ih, iw, c]   = Σ_{oh, ow, kh, kw : ih = oh·sH + kh·dH − top, iw = ow·sW + kw·dW − left} Σ_m w[kh, kw, c, m] · dy[b, oh, ow, c·M + m]
 *   dw[kh, kw, c, m]   = Σ_{b, oh, ow} x[b, oh·sH + kh·dH − top, ow·sW + kw·dW − left, c] · dy[b, oh, ow, c·M + m]
 *
 * The loops run in one fixed order (b, oh, ow, kh, kw, c, m), so results repeat bit for bit;
 * they differ from the cpu backend's gather order only by float32 rounding. dw accumulates in
 * float64 before the one rounding to float32.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo, TrainingKernel, WasmKernelArgs } from './wasm_util.js';

/** The depthwise conv geometry from tfjs's own shape logic (throws tfjs's errors for bad attrs). */
function depthwiseInfo(
  xShape: number[],
  filterShape: number[],
  attrs: Pick<tf.DepthwiseConv2dNativeBackpropInputAttrs, 'strides' | 'dilations' | 'pad' | 'dimRoundingMode'>,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
}

function checkFloat(kernel: string, ...ts: TensorInfo[]): void {
  for (const t of ts) if (t.dtype !== 'float32') throw new Error(`wasm ${kernel} needs float32 inputs, got ${t.dtype}`);
}

/**
 * Gradient of depthwiseConv2d with respect to its input.
 * Inputs: `dy` float32 [B, OH, OW, C·M], `filter` float32 [KH, KW, C, M].
 * Attrs: `inputShape` [B, H, W, C], `strides`, `dilations`, `pad`, `dimRoundingMode`.
 * Returns float32 [B, H, W, C].
 * @throws Error for non-float32 inputs, or (from tfjs) inconsistent shapes/attrs.
 */
export function depthwiseConv2dBackpropInput(args: WasmKernelArgs): TensorInfo {
  const { backend } = args;
  const dy = args.inputs.dy as TensorInfo;
  const filter = args.inputs.filter as TensorInfo;
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  checkFloat('DepthwiseConv2dNativeBackpropInput', dy, filter);
  const info = depthwiseInfo(attrs.inputShape, filter.shape, attrs);
  const out = backend.makeOutput(attrs.inputShape, 'float32');
  // Views only after every allocation: a heap growth detaches earlier views.
  const dyv = backend.typedArrayFromHeap(dy) as Float32Array;
  const wv = backend.typedArrayFromHeap(filter) as Float32Array;
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  dx.fill(0);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sH, strideWidth: sW, dilationHeight: dH, dilationWidth: dW } = info;
  const M = CO / C;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const dyBase = ((b * OH + oh) * OW + ow) * CO;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * sH + kh * dH - top;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * sW + kw * dW - left;
            if (iw < 0 || iw >= W) continue;
            const dxBase = ((b * H + ih) * W + iw) * C;
            const wBase = (kh * KW + kw) * CO;
            if (M === 1) {
              for (let c = 0; c < C; c++) dx[dxBase + c] += wv[wBase + c] * dyv[dyBase + c];
            } else {
              for (let c = 0; c < C; c++) {
                let s = 0;
                for (let m = 0, j = c * M; m < M; m++, j++) s += wv[wBase + j] * dyv[dyBase + j];
                dx[dxBase + c] += s;
              }
            }
          }
        }
      }
    }
  }
  return out;
}

/**
 * Gradient of depthwiseConv2d with respect to its filter.
 * Inputs: `x` float32 [B, H, W, C], `dy` float32 [B, OH, OW, C·M].
 * Attrs: `filterShape` [KH, KW, C, M], `strides`, `dilations`, `pad`, `dimRoundingMode`.
 * Returns float32 [KH, KW, C, M].
 * @throws Error for non-float32 inputs, or (from tfjs) inconsistent shapes/attrs.
 */
export function depthwiseConv2dBackpropFilter(args: WasmKernelArgs): TensorInfo {
  const { backend } = args;
  const x = args.inputs.x as TensorInfo;
  const dy = args.inputs.dy as TensorInfo;
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  checkFloat('DepthwiseConv2dNativeBackpropFilter', x, dy);
  const info = depthwiseInfo(x.shape, attrs.filterShape, attrs);
  const out = backend.makeOutput(attrs.filterShape, 'float32');
  const xv = backend.typedArrayFromHeap(x) as Float32Array;
  const dyv = backend.typedArrayFromHeap(dy) as Float32Array;
  const dwOut = backend.typedArrayFromHeap(out) as Float32Array;
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: CO } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sH, strideWidth: sW, dilationHeight: dH, dilationWidth: dW } = info;
  const M = CO / C;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const acc = new Float64Array(KH * KW * CO);
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const dyBase = ((b * OH + oh) * OW + ow) * CO;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * sH + kh * dH - top;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * sW + kw * dW - left;
            if (iw < 0 || iw >= W) continue;
            const xBase = ((b * H + ih) * W + iw) * C;
            const aBase = (kh * KW + kw) * CO;
            if (M === 1) {
              for (let c = 0; c < C; c++) acc[aBase + c] += xv[xBase + c] * dyv[dyBase + c];
            } else {
              for (let c = 0; c < C; c++) {
                const xc = xv[xBase + c];
                for (let m = 0, j = c * M; m < M; m++, j++) acc[aBase + j] += xc * dyv[dyBase + j];
              }
            }
          }
        }
      }
    }
  }
  dwOut.set(acc);
  return out;
}

/** Registration entry: DepthwiseConv2dNativeBackpropInput is missing on wasm 4.22. */
export const depthwiseConv2dBackpropInputKernel: TrainingKernel = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  kernelFunc: depthwiseConv2dBackpropInput,
  mode: 'missing',
};

/** Registration entry: DepthwiseConv2dNativeBackpropFilter is missing on wasm 4.22. */
export const depthwiseConv2dBackpropFilterKernel: TrainingKernel = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  kernelFunc: depthwiseConv2dBackpropFilter,
  mode: 'missing',
};
