/**
 * Shared plumbing for the wasm training kernels: calling other wasm kernels from inside a kernel,
 * and registering/restoring kernels on the `wasm` backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export type { BackendWasm };
export type TensorInfo = tf.TensorInfo;
export type NamedAttrMap = tf.NamedAttrMap;

/** Arguments a wasm kernel function receives. */
export interface WasmKernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: BackendWasm;
  attrs?: NamedAttrMap;
}

/** A kernel function for the wasm backend. */
export type WasmKernelFunc = (args: WasmKernelArgs) => TensorInfo | TensorInfo[];

/**
 * Runs the currently registered wasm kernel `name` directly on the backend (no engine, no tape)
 * and returns its single output, which the caller owns (dispose with {@link release}).
 * @throws Error when no such wasm kernel is registered or it returns several outputs.
 */
export function callWasmKernel(
  name: string,
  backend: BackendWasm,
  inputs: tf.NamedTensorInfoMap,
  attrs: NamedAttrMap = {},
): TensorInfo {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`wasm kernel ${name} is not registered`);
  const out = k.kernelFunc({ inputs, backend: backend as unknown as tf.KernelBackend, attrs });
  if (Array.isArray(out)) throw new Error(`wasm kernel ${name} returned ${out.length} outputs, expected 1`);
  return out;
}

/** Transposes `x` (any dtype, any rank) by `perm` with the wasm Transpose kernel. Caller owns the result. */
export function wasmTranspose(backend: BackendWasm, x: TensorInfo, perm: number[]): TensorInfo {
  return callWasmKernel('Transpose', backend, { x }, { perm });
}

/** Frees an intermediate produced inside a kernel (drops one reference to its data). */
export function release(backend: BackendWasm, t: TensorInfo): void {
  backend.disposeData(t.dataId);
}

/** A kernel this module installs on wasm: `replace` also swaps out an existing (wrong/slow) one. */
export interface TrainingKernel {
  kernelName: string;
  kernelFunc: WasmKernelFunc;
  /** `missing`: register only if wasm has no such kernel. `replace`: always install ours. */
  mode: 'missing' | 'replace';
  /** Called with the original kernel config (or undefined) before ours is installed. */
  onOriginal?: (original: tf.KernelConfig | undefined) => void;
}

/** kernelName -> the config that was registered before any of ours (null: there was none). */
const originals = new Map<string, tf.KernelConfig | null>();
/** Kernel functions installed by {@link installKernel} (several may stack on one name). */
const installed = new Set<unknown>();

/** True when `k`, or a kernel installed over it, is the registered wasm kernel of its name. */
export function isInstalled(k: TrainingKernel): boolean {
  const cur = tf.getKernel(k.kernelName, 'wasm');
  return installed.has(k.kernelFunc) && cur !== undefined && installed.has(cur.kernelFunc);
}

/**
 * Installs one training kernel on the wasm backend. Idempotent: nothing happens when it (or a
 * kernel installed over it) is registered. Kernels may stack: a later one receives the earlier
 * one as its `onOriginal`. A replaced original keeps its `setupFunc` on our config, so the wasm
 * backend still initialises it (we call into it). Returns true when something was (re)registered.
 */
export function installKernel(k: TrainingKernel): boolean {
  if (isInstalled(k)) return false;
  const existing = tf.getKernel(k.kernelName, 'wasm');
  if (existing && k.mode === 'missing') return false;
  k.onOriginal?.(existing);
  if (existing) tf.unregisterKernel(k.kernelName, 'wasm');
  if (!originals.has(k.kernelName)) originals.set(k.kernelName, existing ?? null);
  installed.add(k.kernelFunc);
  tf.registerKernel({
    kernelName: k.kernelName,
    backendName: 'wasm',
    kernelFunc: k.kernelFunc as unknown as tf.KernelFunc,
    setupFunc: existing?.setupFunc,
  });
  return true;
}

/** Removes every kernel installed by {@link installKernel} and re-registers the originals. */
export function restoreOriginalKernels(): void {
  for (const [name, original] of originals) {
    if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm');
    if (original) tf.registerKernel(original);
  }
  originals.clear();
  installed.clear();
}
