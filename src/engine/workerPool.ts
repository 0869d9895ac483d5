import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { UnlearnError, type ErrorCode } from '../errors.js';
import type { BackendName } from './backend.js';

/**
 * Anything that runs module functions as tasks: {@link WorkerPool} (threads of this process) or
 * a queue client (src/jobs/bull.ts RemotePool: `unlearn worker` processes, possibly on other
 * machines). `module` is a file URL inside this package; args and results are structured-cloneable.
 */
export interface TaskPool {
  run<R>(module: string, fn: string, args: unknown): Promise<R>;
}

/** A task sent to a worker: call `fn` exported by `module` (an absolute file URL) with `args`. */
export interface TaskMessage {
  id: number;
  module: string;
  fn: string;
  args: unknown;
}
/** A worker's answer to a task. Errors carry an UnlearnError code when they had one. */
export type ResultMessage =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { message: string; stack?: string; code?: string; hint?: string } };

interface Pending {
  msg: TaskMessage;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/**
 * A pool of `worker_threads`, each with its own tfjs backend (Node disables wasm threads, so
 * parallelism across cores means independent models in separate workers; docs/engine.md). Tasks
 * are module functions: `pool.run(import.meta.resolve('./x.ts'), 'trainShard', args)`; arguments
 * and results cross threads by structured clone (typed arrays are copied). Tasks run in
 * submission order on the first idle worker. A task's UnlearnError is re-thrown in the caller
 * with its code.
 */
export class WorkerPool {
  readonly size: number;
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Pending[] = [];
  private readonly running = new Map<Worker, Pending>();
  private nextId = 0;
  private closed = false;

  /**
   * @param opts.size number of workers (default: the number of cores, `os.availableParallelism()`)
   * @param opts.backend backend each worker initialises (default `auto`)
   */
  constructor(opts: { size?: number; backend?: BackendName | 'auto' } = {}) {
    this.size = Math.max(1, opts.size ?? availableParallelism());
    for (let i = 0; i < this.size; i++) {
      const w = new Worker(new URL('./poolWorker.mjs', import.meta.url), { workerData: { backend: opts.backend ?? 'auto' } });
      w.on('message', (m: ResultMessage) => this.settle(w, m));
      w.on('error', (e) => this.fail(w, e));
      w.unref();
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  /** Run `fn(args)` from `module` (file URL or path resolvable by import()) on a worker. */
  run<R>(module: string, fn: string, args: unknown): Promise<R> {
    if (this.closed) return Promise.reject(new Error('worker pool is closed'));
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ msg: { id: this.nextId++, module, fn, args }, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  /** Terminate every worker; pending tasks are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new Error('worker pool closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private pump(): void {
    while (this.idle.length && this.queue.length) {
      const w = this.idle.shift()!;
      const p = this.queue.shift()!;
      this.running.set(w, p);
      w.ref();
      w.postMessage(p.msg);
    }
  }

  private settle(w: Worker, m: ResultMessage): void {
    const p = this.running.get(w);
    this.running.delete(w);
    w.unref();
    this.idle.push(w);
    if (p) {
      if (m.ok) p.resolve(m.value);
      else p.reject(m.error.code ? new UnlearnError(m.error.code as ErrorCode, m.error.message, m.error.hint) : Object.assign(new Error(m.error.message), { stack: m.error.stack }));
    }
    this.pump();
  }

  private fail(w: Worker, e: Error): void {
    const p = this.running.get(w);
    this.running.delete(w);
    p?.reject(e);
  }
}
