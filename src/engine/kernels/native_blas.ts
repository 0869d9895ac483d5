/**
 * OpenBLAS kernels on the wasm backend (the optional native path, ../native.ts): BatchMatMul,
 * _FusedMatMul (bias + activation tail), Conv2D, FusedConv2D and the two conv backprops (im2col
 * + sgemm), MaxPoolGrad (a C loop, same tie rule as ./max_pool_grad.ts), Sum over leading axes
 * (bias gradients; the wasm Sum transposes first) and Tanh (GELU's; wasm's is a scalar libm
 * call), Transpose, SplitV, Concat, GatherV2 and UnsortedSegmentSum (memcpy loops over the
 * contiguous runs; 4-byte elements), computed by the addon directly on the wasm heap — inputs are read and outputs
 * written in place, nothing is copied. Each kernel falls back to the kernel it replaced (the
 * wasm kernels of this directory, or stock) for what it does not cover: non-float32 inputs,
 * NCHW, PReLU, non-rank-1 bias, batch broadcasts other than "same count" or "one matrix",
 * sums over other axes, empty tensors — and for everything while {@link setNativeKernelsEnabled}(false).
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadNative, type NativeAddon } from '../native.js';
import type { BackendWasm, TensorInfo, TrainingKernel, WasmKernelArgs, WasmKernelFunc } from './wasm_util.js';

let enabled = true;

/**
 * Switches the native kernels on or off at run time (they stay registered; off, every call goes
 * to the kernel they replaced). Used by tests and the benchmark to run both paths in one process.
 */
export function setNativeKernelsEnabled(on: boolean): void {
  enabled = on;
}

/** True when the addon is loaded and the native kernels are switched on. */
export function nativeKernelsActive(): boolean {
  return enabled && loadNative() !== null;
}

/** Activation codes of the addon (see native/unlearn_native.c); absent: not fusable natively. */
const ACT: Record<string, number> = { linear: 0, relu: 1, relu6: 2, elu: 3, leakyrelu: 4, sigmoid: 5 };

const prod = (xs: number[]) => xs.reduce((p, x) => p * x, 1);
const size = (t: TensorInfo) => prod(t.shape);
const heap = (backend: BackendWasm): ArrayBuffer => (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer as ArrayBuffer;
const off = (backend: BackendWasm, t: TensorInfo): number => backend.getMemoryOffset(t.dataId);
const f32 = (...ts: (TensorInfo | undefined)[]) => ts.every((t) => !t || (t.dtype === 'float32' && size(t) > 0));

/**
 * Builds a registration entry that replaces `kernelName` with `native(args, addon)`; when that
 * returns null (case not covered), or the path is off, the replaced kernel runs.
 */
function nativeEntry(kernelName: string, native: (args: WasmKernelArgs, addon: NativeAddon) => TensorInfo | TensorInfo[] | null): TrainingKernel {
  let fallback: WasmKernelFunc | undefined;
  return {
    kernelName,
    mode: 'replace',
    onOriginal: (cfg) => {
      fallback = cfg?.kernelFunc as unknown as WasmKernelFunc | undefined;
    },
    kernelFunc: (args) => {
      const addon = enabled ? loadNative() : null;
      const out = addon ? native(args, addon) : null;
      if (out) return out;
      if (!fallback) throw new Error(`wasm ${kernelName}: no fallback kernel registered`);
      return fallback(args);
    },
  };
}

/**
 * a float32 [...batchA, M, K] (or [..., K, M] with transposeA), b float32 [...batchB, K, N] (or
 * [..., N, K]) → act(a·b + bias) float32 [...batch, M, N]. Covers batchA = batchB = the broadcast
 * batch, or either one being a single matrix.
 */
function matMul(args: WasmKernelArgs, addon: NativeAddon): TensorInfo | null {
  const { backend } = args;
  const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
  const attrs = (args.attrs ?? {}) as unknown as tf._FusedMatMulAttrs;
  const act = ACT[attrs.activation ?? 'linear'];
  if (!a || !b || !f32(a, b, bias) || preluActivationWeights || act === undefined) return null;
  if (a.shape.length < 2 || b.shape.length < 2) return null;
  const tA = !!attrs.transposeA;
  const tB = !!attrs.transposeB;
  const [a0, a1] = a.shape.slice(-2);
  const [b0, b1] = b.shape.slice(-2);
  const [M, K] = tA ? [a1, a0] : [a0, a1];
  const N = tB ? b0 : b1;
  if ((tB ? b1 : b0) !== K) return null;
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== N)) return null;
  const batchA = prod(a.shape.slice(0, -2));
  const batchB = prod(b.shape.slice(0, -2));
  const batchShape = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = prod(batchShape);
  if (!((batchA === batch || batchA === 1) && (batchB === batch || batchB === 1))) return null;
  const out = backend.makeOutput([...batchShape, M, N], 'float32');
  const biasOff = bias ? off(backend, bias) : -1;
  const alpha = attrs.leakyreluAlpha ?? 0.2;
  if (batchB === 1 && !tA && batchA === batch) {
    // one shared right operand: the batch folds into the rows of a single product
    addon.gemm(heap(backend), 0, tB ? 1 : 0, batch * M, N, K, 1, off(backend, a), 0, off(backend, b), 0, off(backend, out), biasOff, act, alpha);
  } else {
    const aStride = batchA === 1 ? 0 : M * K * 4;
    const bStride = batchB === 1 ? 0 : K * N * 4;
    addon.gemm(heap(backend), tA ? 1 : 0, tB ? 1 : 0, M, N, K, batch, off(backend, a), aStride, off(backend, b), bStride, off(backend, out), biasOff, act, alpha);
  }
  return out;
}

/** The addon's geometry arguments for a conv described by `info` (NHWC). */
function geometry(info: tf.backend_util.Conv2DInfo): number[] {
  return [
    info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.filterHeight, info.filterWidth, info.outChannels, info.outHeight, info.outWidth,
    info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth,
    info.padInfo.top, info.padInfo.left,
  ];
}

const isNHWC = (fmt: string | undefined) => fmt === undefined || fmt === 'NHWC';

/** x float32 [B, H, W, CI], filter [KH, KW, CI, CO] (+ bias [CO], activation) → y [B, OH, OW, CO]. */
function conv2d(args: WasmKernelArgs, addon: NativeAddon): TensorInfo | null {
  const { backend } = args;
  const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
  const attrs = (args.attrs ?? {}) as unknown as tf.FusedConv2DAttrs;
  const act = ACT[attrs.activation ?? 'linear'];
  if (!x || !filter || !f32(x, filter, bias) || preluActivationWeights || act === undefined || !isNHWC(attrs.dataFormat)) return null;
  if (x.shape.length !== 4 || filter.shape.length !== 4) return null;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast',
  );
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== info.outChannels)) return null;
  if (info.outHeight <= 0 || info.outWidth <= 0) return null;
  const out = backend.makeOutput(info.outShape, 'float32');
  addon.conv2d(heap(backend), off(backend, x), off(backend, filter), off(backend, out), bias ? off(backend, bias) : -1, act, attrs.leakyreluAlpha ?? 0.2, ...geometry(info));
  return out;
}

/** dy float32 [B, OH, OW, CO], filter [KH, KW, CI, CO], attr inputShape → dx [B, H, W, CI]. */
function conv2dBackpropInput(args: WasmKernelArgs, addon: NativeAddon): TensorInfo | null {
  const { backend } = args;
  const { dy, filter } = args.inputs as Record<string, TensorInfo | undefined>;
  const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  if (!dy || !filter || !f32(dy, filter) || !isNHWC(attrs.dataFormat)) return null;
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape, filter.shape as [number, number, number, number],
    attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast',
  );
  if (info.outHeight !== dy.shape[1] || info.outWidth !== dy.shape[2]) return null;
  const out = backend.makeOutput(attrs.inputShape, 'float32');
  addon.conv2dBackpropInput(heap(backend), off(backend, dy), off(backend, filter), off(backend, out), ...geometry(info));
  return out;
}

/** x float32 [B, H, W, CI], dy [B, OH, OW, CO], attr filterShape → dW [KH, KW, CI, CO]. */
function conv2dBackpropFilter(args: WasmKernelArgs, addon: NativeAddon): TensorInfo | null {
  const { backend } = args;
  const { x, dy } = args.inputs as Record<string, TensorInfo | undefined>;
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (!x || !dy || !f32(x, dy) || !isNHWC(attrs.dataFormat)) return null;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], attrs.filterShape,
    attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast',
  );
  if (info.outHeight !== dy.shape[1] || info.outWidth !== dy.shape[2]) return null;
  const out = backend.makeOutput(attrs.filterShape, 'float32');
  addon.conv2dBackpropFilter(heap(backend), off(backend, x), off(backend, dy), off(backend, out), ...geometry(info));
  return out;
}

/** dy float32 [B, OH, OW, C], input (the pooled x) [B, H, W, C] → dx [B, H, W, C]. */
function maxPoolGrad(args: WasmKernelArgs, addon: NativeAddon): TensorInfo | null {
  const { backend } = args;
  const { dy, input } = args.inputs as Record<string, TensorInfo | undefined>;
  const attrs = args.attrs as unknown as tf.MaxPoolGradAttrs;
  if (!dy || !input || !f32(dy, input) || input.shape.length !== 4) return null;
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  if (info.outHeight !== dy.shape[1] || info.outWidth !== dy.shape[2]) return null;
  const out = backend.makeOutput(input.shape, 'float32');
  addon.maxPoolGrad(heap(backend), off(backend, dy), off(backend, input), off(backend, out),
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left);
  return out;
}

/** Sum of float32 x over axes 0..k−1 (any keepDims) → x.shape[k..] (with 1s kept); else null. */
function sum(args: WasmKernelArgs, addon: NativeAddon): TensorInfo | null {
  const { backend } = args;
  const x = args.inputs.x as TensorInfo | undefined;
  const attrs = args.attrs as unknown as tf.SumAttrs;
  if (!x || !f32(x)) return null;
  const axes = tf.util.parseAxisParam(attrs.axis, x.shape).sort((p, q) => p - q);
  const k = axes.length;
  if (k === 0 || k === x.shape.length || axes.some((ax, i) => ax !== i)) return null;
  const rows = prod(x.shape.slice(0, k));
  const cols = prod(x.shape.slice(k));
  const shape = attrs.keepDims ? [...x.shape.slice(0, k).map(() => 1), ...x.shape.slice(k)] : x.shape.slice(k);
  const out = backend.makeOutput(shape, 'float32');
  addon.sumLeading(heap(backend), off(backend, x), off(backend, out), rows, cols);
  return out;
}

/** tanh of a float32 tensor, any shape. */
function tanh(args: WasmKernelArgs, addon: NativeAddon): TensorInfo | null {
  const { backend } = args;
  const x = args.inputs.x as TensorInfo | undefined;
  if (!x || !f32(x)) return null;
  const out = backend.makeOutput(x.shape, 'float32');
  addon.tanh(heap(backend), off(backend, x), off(backend, out), size(x));
  return out;
}

const four = (t: TensorInfo) => (t.dtype === 'float32' || t.dtype === 'int32') && size(t) > 0;

/** Transpose of a float32/int32 tensor of rank ≤ 8 by `perm`. */
function transpose(args: WasmKernelArgs, addon: NativeAddon): TensorInfo | null {
  const { backend } = args;
  const x = args.inputs.x as TensorInfo | undefined;
  const { perm } = args.attrs as unknown as tf.TransposeAttrs;
  if (!x || !four(x) || x.shape.length > 8 || x.shape.length < 1) return null;
  const out = backend.makeOutput(perm.map((p) => x.shape[p]), x.dtype);
  addon.transpose(heap(backend), off(backend, x), off(backend, out), x.shape.length, ...x.shape, ...perm);
  return out;
}

/** SplitV of a float32/int32 tensor along any axis into at most 9 non-empty parts. */
function splitV(args: WasmKernelArgs, addon: NativeAddon): TensorInfo[] | null {
  const { backend } = args;
  const x = args.inputs.x as TensorInfo | undefined;
  const attrs = args.attrs as unknown as tf.SplitVAttrs;
  if (!x || !four(x)) return null;
  const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits, axis);
  if (sizes.length > 9 || sizes.some((s) => s <= 0)) return null;
  const inner = prod(x.shape.slice(axis + 1));
  const outs = sizes.map((s) => backend.makeOutput(x.shape.map((d, i) => (i === axis ? s : d)), x.dtype));
  addon.splitRows(heap(backend), off(backend, x), prod(x.shape.slice(0, axis)), prod(x.shape.slice(axis)), sizes.length, ...sizes.map((s) => s * inner), ...outs.map((o) => off(backend, o)));
  return outs;
}

/** Concat of 2..9 non-empty float32/int32 tensors of one dtype along any axis. */
function concat(args: WasmKernelArgs, addon: NativeAddon): TensorInfo | null {
  const { backend } = args;
  const xs = Object.values(args.inputs) as TensorInfo[];
  if (xs.length < 2 || xs.length > 9 || !xs.every(four) || xs.some((t) => t.dtype !== xs[0].dtype)) return null;
  const axis = tf.util.parseAxisParam((args.attrs as unknown as tf.ConcatAttrs).axis, xs[0].shape)[0];
  tf.backend_util.assertParamsConsistent(xs.map((t) => t.shape), axis);
  const outShape = tf.backend_util.computeOutShape(xs.map((t) => t.shape), axis);
  const out = backend.makeOutput(outShape, xs[0].dtype);
  const lens = xs.map((t) => prod(t.shape.slice(axis)));
  addon.concatRows(heap(backend), off(backend, out), prod(outShape.slice(0, axis)), prod(outShape.slice(axis)), xs.length, ...lens, ...xs.map((t) => off(backend, t)));
  return out;
}

/** GatherV2 of float32/int32 x along any axis with int32 indices (batchDims 0). */
function gather(args: WasmKernelArgs, addon: NativeAddon): TensorInfo | null {
  const { backend } = args;
  const { x, indices } = args.inputs as Record<string, TensorInfo | undefined>;
  const attrs = args.attrs as unknown as tf.GatherV2Attrs;
  if (!x || !indices || !four(x) || indices.dtype !== 'int32' || size(indices) === 0 || (attrs.batchDims ?? 0) !== 0) return null;
  const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0];
  const dim = x.shape[axis];
  const idx = backend.typedArrayFromHeap(indices) as Int32Array;
  for (let i = 0; i < idx.length; i++) {
    const index = idx[i];
    tf.util.assert(index <= dim - 1 && index >= 0, () => `GatherV2: the index value ${index} is not in [0, ${dim - 1}]`);
  }
  const out = backend.makeOutput([...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)], x.dtype);
  addon.gatherRows(heap(backend), off(backend, x), off(backend, indices), off(backend, out), prod(x.shape.slice(0, axis)), dim, prod(x.shape.slice(axis + 1)), size(indices));
  return out;
}

/** UnsortedSegmentSum of float32 x [N, ...rest] with int32 ids [N] (ids outside [0, numSegments) dropped). */
function segmentSum(args: WasmKernelArgs, addon: NativeAddon): TensorInfo | null {
  const { backend } = args;
  const x = args.inputs.x as TensorInfo | undefined;
  const ids = args.inputs.segmentIds as TensorInfo | undefined;
  const { numSegments } = args.attrs as unknown as tf.UnsortedSegmentSumAttrs;
  if (!x || !ids || !f32(x) || ids.dtype !== 'int32' || ids.shape.length < 1 || numSegments < 1) return null;
  if (ids.shape.length > x.shape.length || ids.shape.some((d, i) => d !== x.shape[i])) return null;
  const rest = x.shape.slice(ids.shape.length);
  const out = backend.makeOutput([numSegments, ...rest], 'float32');
  addon.segmentSum(heap(backend), off(backend, x), off(backend, ids), off(backend, out), size(ids), prod(rest), numSegments);
  return out;
}

/** Registration entries, installed over the wasm training kernels when the addon loads. */
export const NATIVE_KERNELS: readonly TrainingKernel[] = [
  nativeEntry('BatchMatMul', matMul),
  nativeEntry('_FusedMatMul', matMul),
  nativeEntry('Conv2D', conv2d),
  nativeEntry('FusedConv2D', conv2d),
  nativeEntry('Conv2DBackpropInput', conv2dBackpropInput),
  nativeEntry('Conv2DBackpropFilter', conv2dBackpropFilter),
  nativeEntry('MaxPoolGrad', maxPoolGrad),
  nativeEntry('Sum', sum),
  nativeEntry('Tanh', tanh),
  nativeEntry('Transpose', transpose),
  nativeEntry('SplitV', splitV),
  nativeEntry('Concat', concat),
  nativeEntry('GatherV2', gather),
  nativeEntry('UnsortedSegmentSum', segmentSum),
];
