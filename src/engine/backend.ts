import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// The tfjs-core node bundle registers no gradient functions; tfjs-layers does (on import).
import '@tensorflow/tfjs-layers';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { UnlearnError } from '../errors.js';
import { installTrainingFusion } from './fused.js';
import { registerWasmTrainingKernels } from './kernels/index.js';
import { nativeKernelsActive } from './kernels/native_blas.js';
import { nativeDescription } from './native.js';

/** Backends this project can run on. `tensorflow` is @tensorflow/tfjs-node, used only if installed. */
export type BackendName = 'wasm' | 'cpu' | 'tensorflow';

const require = createRequire(import.meta.url);
let wasmPathsSet = false;

/** True when the optional native backend package @tensorflow/tfjs-node can be resolved. */
export function tfjsNodeInstalled(): boolean {
  try {
    require.resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

/**
 * Select and initialise a tfjs backend.
 *
 * - `auto` (default): `tensorflow` if @tensorflow/tfjs-node is installed, else `wasm` (with the
 *   training kernels it lacks registered, see ./kernels), else `cpu` if wasm fails to start.
 * - An explicit name must start, or this throws.
 *
 * Also installs the training fusion of ./fused.ts (relu dense and conv layers as one kernel while
 * gradients are recorded). Returns the name of the backend now active.
 * @throws UnlearnError BACKEND_UNAVAILABLE when an explicitly requested backend cannot start.
 */
export async function initEngine(requested: BackendName | 'auto' = 'auto'): Promise<BackendName> {
  const envChoice = process.env.UNLEARN_BACKEND as BackendName | 'auto' | undefined;
  const want = requested === 'auto' && envChoice ? envChoice : requested;
  if (want !== 'auto' && tf.getBackend() === want) return want;
  const order: BackendName[] =
    want === 'auto' ? [...(tfjsNodeInstalled() ? (['tensorflow'] as const) : []), 'wasm', 'cpu'] : [want];
  const failures: string[] = [];
  // The wasm backend's Emscripten glue installs process-wide handlers that rethrow every uncaught
  // exception and unhandled rejection from inside its minified source: Node then prints ~38 KB of
  // that source before the real error and exits 7. They are removed again (see dropHandlersAddedSince).
  const handlers = processHandlers();
  installTrainingFusion();
  try {
    return await startFirst(order, failures);
  } finally {
    dropHandlersAddedSince(handlers);
  }
}

type Listener = (...args: unknown[]) => void;
type Handlers = { uncaught: Set<Listener>; rejection: Set<Listener> };

function processHandlers(): Handlers {
  return { uncaught: new Set(process.listeners('uncaughtException') as Listener[]), rejection: new Set(process.listeners('unhandledRejection') as Listener[]) };
}

/** Remove the `uncaughtException` / `unhandledRejection` listeners added since `before` was taken. */
function dropHandlersAddedSince(before: Handlers): void {
  for (const l of process.listeners('uncaughtException') as Listener[]) if (!before.uncaught.has(l)) process.removeListener('uncaughtException', l);
  for (const l of process.listeners('unhandledRejection') as Listener[]) if (!before.rejection.has(l)) process.removeListener('unhandledRejection', l);
}

/** Start the first backend of `order` that works; failures are collected in `failures`. */
async function startFirst(order: BackendName[], failures: string[]): Promise<BackendName> {
  for (const name of order) {
    try {
      if (name === 'tensorflow') {
        // Optional dependency: resolved at run time so the package is never required.
        const mod = '@tensorflow/tfjs-node';
        await import(mod);
      }
      if (name === 'wasm') {
        if (!wasmPathsSet) {
          const dir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
          setWasmPaths(join(dir, 'dist') + '/');
          wasmPathsSet = true;
        }
        registerWasmTrainingKernels();
      }
      if (await tf.setBackend(name)) {
        await tf.ready();
        return name;
      }
      failures.push(`${name}: setBackend returned false`);
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message}`);
    }
  }
  throw new UnlearnError(
    'BACKEND_UNAVAILABLE',
    `no tfjs backend could start (${failures.join('; ')})`,
    'use --backend auto (wasm, then cpu); the tensorflow backend needs npm install @tensorflow/tfjs-node',
  );
}

/**
 * The active backend as recorded in manifests: its name, plus the kernel path on wasm —
 * `wasm (openblas 0.3.21 Haswell, 2 threads)` when the OpenBLAS kernels run, `wasm` otherwise
 * (addon not built, UNLEARN_NATIVE=0, or switched off). Results are bit-for-bit reproducible
 * only under the same description.
 */
export function backendDescription(): string {
  const name = tf.getBackend() ?? 'none';
  if (name !== 'wasm' || !nativeKernelsActive()) return name;
  return `wasm (${nativeDescription()})`;
}

export { tf };
