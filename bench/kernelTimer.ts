/**
 * Per-kernel timers for the engine profiles (bench/engine_profile.ts, bench/engine_profile_lm.ts):
 * every registered wasm kernel is wrapped with a wall-clock and process-CPU timer; only the
 * outermost of nested kernel calls counts. Set `kernelTimer.on` around the steps to measure and
 * read `kernelTimer.acc` (kernel name, or name + input shapes with `detail`, → calls, wall ms,
 * process CPU ms).
 */
import * as tf from '@tensorflow/tfjs-core';

/** kernel key → [calls, wall ms, process CPU ms]. */
export type KernelTally = Map<string, [number, number, number]>;

/** What the wrapped kernels record into, while `on`. */
export const kernelTimer: { on: boolean; acc: KernelTally } = { on: false, acc: new Map() };

function describe(args: unknown): string {
  const { inputs, attrs } = args as { inputs: Record<string, tf.TensorInfo>; attrs?: Record<string, unknown> };
  const shapes = Object.values(inputs).filter((t) => t).map((t) => `[${t.shape.join(',')}]`).join(' ');
  const t = attrs && ('transposeA' in attrs || 'transposeB' in attrs) ? ` tA${attrs.transposeA ? 1 : 0} tB${attrs.transposeB ? 1 : 0}` : '';
  return shapes + t;
}

/** Wrap every kernel registered on the wasm backend now; `detail`: one key per kernel and input shapes. */
export function instrumentWasmKernels(detail: boolean): void {
  let depth = 0;
  for (const k of tf.getKernelsForBackend('wasm')) {
    const f = k.kernelFunc as (a: unknown) => unknown;
    tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel({
      ...k,
      kernelFunc: ((args: unknown) => {
        if (!kernelTimer.on || depth > 0) return f(args);
        depth++;
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        try {
          return f(args);
        } finally {
          const c = process.cpuUsage(c0);
          const dt = performance.now() - t0;
          depth--;
          const key = detail ? `${k.kernelName} ${describe(args)}` : k.kernelName;
          const e = kernelTimer.acc.get(key) ?? [0, 0, 0];
          e[0]++;
          e[1] += dt;
          e[2] += (c.user + c.system) / 1000;
          kernelTimer.acc.set(key, e);
        }
      }) as tf.KernelFunc,
    });
  }
}
