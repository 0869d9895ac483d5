/**
 * The optional native kernel path: an N-API addon (native/unlearn_native.c, built by
 * native/build.sh with node-gyp against OpenBLAS) whose sgemm-based kernels the wasm backend
 * calls on views of its own heap (see ./kernels/native_blas.ts). Absent addon, missing
 * libopenblas, or `UNLEARN_NATIVE=0` → null, and the wasm kernels run as before.
 *
 * Threads: `UNLEARN_NATIVE_THREADS` (default 2) OpenBLAS threads, process-wide (OpenBLAS has
 * one thread pool): the first thread that loads the addon sets it, workers of a
 * `worker_threads` pool share it. The addon's own loops (GELU, softmax, Adam, batches of small
 * products) use the same count, split in two halves of independent items. Products too small
 * for two threads (under 2^21 multiply-adds) run on one, and a batch of small products is cut
 * across two threads of one-thread OpenBLAS each. Results are the same bytes run to run for a
 * fixed thread count, but 1 and 2 threads give different product bytes (tested in
 * ./kernels/native_blas.test.ts), so the count is part of {@link nativeDescription} and of
 * every manifest's backend.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The addon's functions. Offsets are byte offsets into `heap` (the wasm memory's ArrayBuffer). */
export interface NativeAddon {
  /** Batched C_i[M,N] = act(op(A_i)·op(B_i) + bias[N]); strides in bytes (0 broadcasts). biasOff −1: none. */
  gemm(heap: ArrayBuffer, tA: number, tB: number, M: number, N: number, K: number, batch: number, aOff: number, aStride: number, bOff: number, bStride: number, cOff: number, biasOff: number, act: number, alpha: number): void;
  /** y = act(conv2d(x, w) + bias), NHWC, via im2col + sgemm. `geom` = B,H,W,CI,KH,KW,CO,OH,OW,sH,sW,dH,dW,padT,padL. */
  conv2d(heap: ArrayBuffer, xOff: number, wOff: number, yOff: number, biasOff: number, act: number, alpha: number, ...geom: number[]): void;
  /** dx = col2im(dy · wᵀ). */
  conv2dBackpropInput(heap: ArrayBuffer, dyOff: number, wOff: number, dxOff: number, ...geom: number[]): void;
  /** dw = im2col(x)ᵀ · dy. */
  conv2dBackpropFilter(heap: ArrayBuffer, xOff: number, dyOff: number, dwOff: number, ...geom: number[]): void;
  /** dx = dy routed to each window's first argmax; `geom` = B,H,W,C,OH,OW,FH,FW,sH,sW,padT,padL. */
  maxPoolGrad(heap: ArrayBuffer, dyOff: number, xOff: number, dxOff: number, ...geom: number[]): void;
  /** y[cols] = Σ_r x[r, cols], rows summed in order. */
  sumLeading(heap: ArrayBuffer, xOff: number, yOff: number, rows: number, cols: number): void;
  /** y = tanh(x) elementwise over n floats. */
  tanh(heap: ArrayBuffer, xOff: number, yOff: number, n: number): void;
  /** One Adam step over n floats (w, g, m, v in; w2, m2, v2 out), tfjs-core's operation order. */
  adam(heap: ArrayBuffer, wOff: number, gOff: number, mOff: number, vOff: number, w2Off: number, m2Off: number, v2Off: number, n: number,
    b1: number, b2: number, oneMinusB1: number, oneMinusB2: number, c1: number, c2: number, eps: number, negLr: number): void;
  /** y = GELU(x) (tanh form) over n floats. */
  gelu(heap: ArrayBuffer, xOff: number, yOff: number, n: number): void;
  /** dx = dy · GELU'(x) over n floats. */
  geluGrad(heap: ArrayBuffer, xOff: number, dyOff: number, dxOff: number, n: number): void;
  /** Row-wise LayerNorm of x [rows, d] → y, and the rows' mean and 1/√(var + eps). */
  layerNorm(heap: ArrayBuffer, xOff: number, gOff: number, bOff: number, yOff: number, meanOff: number, rstdOff: number, rows: number, d: number, eps: number): void;
  /** LayerNorm's gradient: dx [rows, d], dg [d], db [d]. */
  layerNormGrad(heap: ArrayBuffer, xOff: number, gOff: number, meanOff: number, rstdOff: number, dyOff: number, dxOff: number, dgOff: number, dbOff: number, rows: number, d: number): void;
  /** p = softmax(s·scale + mask) over rows of length S; mask [maskRows, S] repeats over the rows (maskOff −1: none). */
  maskedSoftmax(heap: ArrayBuffer, sOff: number, maskOff: number, pOff: number, rows: number, S: number, maskRows: number, scale: number): void;
  /** ds = scale · p ⊙ (dp − Σ dp ⊙ p) per row. */
  softmaxGrad(heap: ArrayBuffer, pOff: number, dpOff: number, dsOff: number, rows: number, S: number, scale: number): void;
  /** lp = log softmax(logits)[target] and the rows' log-sum-exp; logits [rows, V], targets int32 [rows]. */
  tokenLogProb(heap: ArrayBuffer, logitsOff: number, targetsOff: number, lpOff: number, lseOff: number, rows: number, V: number): void;
  /** dlogits = dy · (onehot(target) − softmax(logits)). */
  tokenLogProbGrad(heap: ArrayBuffer, logitsOff: number, targetsOff: number, lseOff: number, dyOff: number, dlOff: number, rows: number, V: number): void;
  /** y = x permuted by perm (4-byte elements, rank ≤ 8): arguments rank, ...shape, ...perm. */
  transpose(heap: ArrayBuffer, xOff: number, yOff: number, rank: number, ...shapeAndPerm: number[]): void;
  /** x [outer, rowLen] cut column-wise into `count` parts: arguments ...partLens, ...outOffs. */
  splitRows(heap: ArrayBuffer, xOff: number, outer: number, rowLen: number, count: number, ...lensAndOffs: number[]): void;
  /** The inverse of splitRows: y [outer, rowLen] from `count` parts. */
  concatRows(heap: ArrayBuffer, yOff: number, outer: number, rowLen: number, count: number, ...lensAndOffs: number[]): void;
  /** y [outer, nIdx, inner] = x [outer, dim, inner] at int32 indices (throws when one is outside [0, dim)). */
  gatherRows(heap: ArrayBuffer, xOff: number, idxOff: number, yOff: number, outer: number, dim: number, inner: number, nIdx: number): void;
  /** y [numSegments, inner] = Σ of x's rows per segment id (ids outside the range dropped). */
  segmentSum(heap: ArrayBuffer, xOff: number, idsOff: number, yOff: number, n: number, inner: number, numSegments: number): void;
  /** Sets the OpenBLAS thread count (process-wide). */
  setThreads(n: number): void;
  /** Sets the thread count unless some thread of this process already did; returns the count in effect. */
  configureThreads(n: number): number;
  info(): { threads: number; config: string; core: string; parallel: number };
}

const ADDON_PATH = fileURLToPath(new URL('../../native/build/Release/unlearn_native.node', import.meta.url));

let loaded: { addon: NativeAddon | null; why: string } | undefined;

/** Thread count from UNLEARN_NATIVE_THREADS (positive integer; default 2). */
export function nativeThreads(): number {
  const n = Number(process.env.UNLEARN_NATIVE_THREADS ?? 2);
  return Number.isInteger(n) && n >= 1 ? n : 2;
}

/** Loads the addon once per thread; null when it is disabled, not built, or fails to load. */
export function loadNative(): NativeAddon | null {
  if (loaded) return loaded.addon;
  if (process.env.UNLEARN_NATIVE === '0') {
    loaded = { addon: null, why: 'disabled by UNLEARN_NATIVE=0' };
    return null;
  }
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as NativeAddon;
    // a worker loading the addon after another thread keeps the process's setting
    addon.configureThreads(nativeThreads());
    loaded = { addon, why: 'loaded' };
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    loaded = { addon: null, why: /Cannot find module/.test(msg) ? 'not built (run npm run build:native)' : msg };
  }
  return loaded.addon;
}

/** Why the native path is (not) available, e.g. `disabled by UNLEARN_NATIVE=0`. */
export function nativeStatus(): string {
  loadNative();
  return loaded!.why;
}

/**
 * The native path in one line for manifests and logs, e.g. `openblas 0.3.21 Haswell, 2 threads`,
 * or null when it is not loaded.
 */
export function nativeDescription(): string | null {
  const addon = loadNative();
  if (!addon) return null;
  const i = addon.info();
  const version = /OpenBLAS ([\d.]+)/.exec(i.config)?.[1] ?? '?';
  return `openblas ${version} ${i.core}, ${i.threads} thread${i.threads === 1 ? '' : 's'}`;
}

/**
 * Thread setting for a pool of `workers` threads that each call BLAS (a model farm): OpenBLAS
 * has one thread pool per process, so W callers × T threads oversubscribe the cores, and the
 * callers' CPU clocks (src/engine/cpuTime.ts) would miss the work of the pool's own threads.
 * With more than one worker and no explicit `UNLEARN_NATIVE_THREADS`, the process is set to 1
 * OpenBLAS thread per caller (also when the addon is already loaded). Returns the count in
 * effect, or null without the addon. Call before the engine description is taken: the count is
 * part of it, and of every cache key.
 */
export function configureNativeForPool(workers: number): number | null {
  if (workers > 1 && process.env.UNLEARN_NATIVE_THREADS === undefined) process.env.UNLEARN_NATIVE_THREADS = '1';
  const addon = loadNative();
  if (!addon) return null;
  if (addon.info().threads !== nativeThreads()) addon.setThreads(nativeThreads());
  return addon.info().threads;
}
