/**
 * CPU time of the calling thread, for cost figures that do not move with the machine's load.
 *
 * A farm worker runs one job at a time on its own thread, and with one BLAS thread per worker
 * (the farm's setting) all of a job's arithmetic runs on that thread, so the thread's CPU time
 * is the job's compute whatever else shares the cores. Wall time grows with the load (a
 * method timed while the load rose looks dearer than the retraining timed before it); CPU time
 * does not, up to cache effects.
 */
import { readFileSync } from 'node:fs';

let available: boolean | undefined;

/**
 * Seconds the calling thread has spent on a CPU since it started: the first field of Linux's
 * `/proc/thread-self/schedstat` (nanoseconds on the CPU), read from the thread that calls.
 * Returns undefined where that file does not exist (not Linux, or a kernel without schedstat),
 * so callers fall back to wall time and say so. Never throws.
 */
export function threadCpuSeconds(): number | undefined {
  if (available === false) return undefined;
  try {
    const ns = Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ', 1)[0]);
    available = Number.isFinite(ns);
    return available ? ns / 1e9 : undefined;
  } catch {
    available = false;
    return undefined;
  }
}

/**
 * Runs `fn` and returns its result with the calling thread's CPU seconds spent in it
 * (undefined where the CPU clock is unavailable; see threadCpuSeconds). Work `fn` hands to
 * other threads is not counted.
 */
export async function withThreadCpu<T>(fn: () => Promise<T>): Promise<{ result: T; cpuSeconds: number | undefined }> {
  const c0 = threadCpuSeconds();
  const result = await fn();
  const c1 = threadCpuSeconds();
  return { result, cpuSeconds: c0 === undefined || c1 === undefined ? undefined : c1 - c0 };
}
