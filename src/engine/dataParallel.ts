/**
 * Synchronous data-parallel training of one model across worker threads (Node runs wasm
 * single-threaded, so this is how one model's training uses several cores).
 *
 * Each of N workers holds a replica of the model on its own tfjs backend. A step splits the
 * batch into N contiguous shards (rows ⌊w·n/N⌋ … ⌊(w+1)·n/N⌋), every worker computes the
 * gradient of its shard's loss, the gradients are combined through one SharedArrayBuffer as
 * g = Σ_w (n_w / n) · g_w — the gradient of the batch-mean loss, what one thread computes on the
 * whole batch — and every worker applies the same optimizer update to its replica, so the
 * replicas stay identical (all-reduce data parallelism, Dean et al. 2012 / Goyal et al. 2017,
 * without the learning-rate scaling: the batch is the same as single-threaded training's).
 *
 * Determinism: the combination runs in float32 in a fixed order (worker 0 first), each worker
 * reducing one contiguous slice of the parameters, so for a fixed worker count (and backend /
 * kernel path, see ../engine/backend.ts backendDescription) the weights repeat bit for bit.
 * Different worker counts give different rounding (the shard sums differ), ≤ float32 noise.
 * With 1 worker the step is exactly the single-threaded one.
 *
 * The native OpenBLAS path is process-wide: with N workers it runs 1 BLAS thread per worker
 * (set when the trainer starts, for the whole process), each core then carrying one replica.
 *
 * Synchronisation: Atomics on an Int32Array in the shared buffer (one generation counter for
 * commands, a sense-reversing barrier between the gradient, reduction and update phases).
 * {@link DataParallelTrainer.stepSync} blocks the calling thread with Atomics.wait while the
 * workers run (allowed on Node's main thread); {@link DataParallelTrainer.step} awaits instead.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { UnlearnError } from '../errors.js';
import { loadNative } from './native.js';

/** What a model module's factory returns inside each worker (see {@link DataParallelOptions.fn}). */
export interface ParallelModel {
  /** The trainable variables, in a fixed order (the same on every replica). */
  variables: import('@tensorflow/tfjs-core').Variable[];
  /** Mean loss over the examples of x [rows, ...xShape] with targets y [rows, ...yShape]. */
  loss: (x: import('@tensorflow/tfjs-core').Tensor, y: import('@tensorflow/tfjs-core').Tensor) => import('@tensorflow/tfjs-core').Scalar;
  /** Shape of one example's input and target (row-major floats in the step's x, y arrays). */
  xShape: number[];
  yShape: number[];
}

/** Options of {@link DataParallelTrainer.create}. */
export interface DataParallelOptions {
  /** Worker threads (≥ 1): each takes one shard of every batch. */
  workers: number;
  /** File URL of the module whose export `fn(args)` builds a {@link ParallelModel} in a worker. */
  module: string;
  fn: string;
  /** Structured-cloneable arguments of `fn`. */
  args?: unknown;
  /** Optimizer each replica runs: tf.train.sgd, or this engine's Adam (../engine/adam.ts). */
  optimizer: { name: 'sgd' | 'adam'; learningRate: number };
  /** Largest batch (rows) a step takes; sizes the shared buffer. */
  maxBatch: number;
  /** Initial weights, one array per variable in the module's order (default: worker 0's own initialisation). */
  weights?: Float32Array[];
  /** Backend of the workers (default wasm). */
  backend?: 'wasm' | 'cpu';
}

/** Control words of the shared Int32Array. */
export const CTL = { gen: 0, cmd: 1, rows: 2, barrierCount: 3, barrierGen: 4, done: 5, failed: 6 } as const;
/** Commands. */
export const CMD = { step: 1, stop: 2, weights: 3 } as const;

/** Layout of the shared buffer (all offsets in bytes), computed identically on both sides. */
export interface SharedLayout {
  workers: number;
  maxBatch: number;
  xSize: number;
  ySize: number;
  /** Floats per variable, in order. */
  sizes: number[];
  params: number;
  ctl: number;
  x: number;
  y: number;
  grads: number;
  avg: number;
  loss: number;
  bytes: number;
}

/** The shared buffer's layout for `workers` replicas of a model with variables of `sizes` floats. */
export function sharedLayout(workers: number, maxBatch: number, xSize: number, ySize: number, sizes: number[]): SharedLayout {
  const params = sizes.reduce((a, b) => a + b, 0);
  const ctl = 0;
  const x = 64;
  const y = x + maxBatch * xSize * 4;
  const grads = y + maxBatch * ySize * 4;
  const avg = grads + workers * params * 4;
  const loss = Math.ceil((avg + params * 4) / 8) * 8;
  return { workers, maxBatch, xSize, ySize, sizes, params, ctl, x, y, grads, avg, loss, bytes: loss + workers * 8 };
}

type Reply = { ok: true; value?: unknown } | { ok: false; message: string };

/** One model trained synchronously by N worker threads (see the module comment). */
export class DataParallelTrainer {
  private readonly ctl: Int32Array;
  private readonly x: Float32Array;
  private readonly y: Float32Array;
  private readonly loss: Float64Array;
  private closed = false;

  private constructor(
    private readonly workers: Worker[],
    private readonly ports: MessagePort[],
    readonly layout: SharedLayout,
    sab: SharedArrayBuffer,
  ) {
    this.ctl = new Int32Array(sab, layout.ctl, 16);
    this.x = new Float32Array(sab, layout.x, layout.maxBatch * layout.xSize);
    this.y = new Float32Array(sab, layout.y, layout.maxBatch * layout.ySize);
    this.loss = new Float64Array(sab, layout.loss, layout.workers);
  }

  /**
   * Starts the workers, builds a replica in each and gives every replica the same weights.
   * @throws UnlearnError INVALID_PARAMS for a bad worker count or batch, or when the model
   *   module fails to build in a worker (its message is kept).
   */
  static async create(opts: DataParallelOptions): Promise<DataParallelTrainer> {
    if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new UnlearnError('INVALID_PARAMS', `data-parallel workers must be a positive integer, got ${opts.workers}`, 'pass workers ≥ 1 (e.g. the number of cores)');
    if (!Number.isInteger(opts.maxBatch) || opts.maxBatch < opts.workers) throw new UnlearnError('INVALID_PARAMS', `data-parallel maxBatch ${opts.maxBatch} is smaller than the ${opts.workers} workers`, 'use a batch of at least one example per worker');
    // one OpenBLAS thread per replica: the cores are taken by the workers
    if ((opts.backend ?? 'wasm') === 'wasm') loadNative()?.setThreads(1);
    const workers: Worker[] = [];
    const ports: MessagePort[] = [];
    for (let w = 0; w < opts.workers; w++) {
      const { port1, port2 } = new MessageChannel();
      workers.push(new Worker(new URL('./dataParallelWorker.mjs', import.meta.url), {
        workerData: { index: w, count: opts.workers, backend: opts.backend ?? 'wasm', module: opts.module, fn: opts.fn, args: opts.args, optimizer: opts.optimizer, port: port2 },
        transferList: [port2],
      }));
      ports.push(port1);
    }
    const ask = (w: number, msg: unknown) =>
      new Promise<unknown>((resolve, reject) => {
        ports[w].once('message', (r: Reply) => (r.ok ? resolve(r.value) : reject(new UnlearnError('INVALID_PARAMS', `data-parallel worker ${w}: ${r.message}`, 'check the model module and its arguments'))));
        workers[w].postMessage(msg);
      });
    try {
      const built = (await Promise.all(workers.map((_, w) => ask(w, { type: 'build' })))) as { sizes: number[]; xSize: number; ySize: number }[];
      const { sizes, xSize, ySize } = built[0];
      const weights = opts.weights ?? ((await ask(0, { type: 'getWeights' })) as Float32Array[]);
      if (weights.length !== sizes.length || weights.some((a, i) => a.length !== sizes[i])) {
        throw new UnlearnError('INVALID_PARAMS', `data-parallel weights do not match the model's ${sizes.length} variables`, 'pass one Float32Array per variable, in the model\'s order');
      }
      const layout = sharedLayout(opts.workers, opts.maxBatch, xSize, ySize, sizes);
      const sab = new SharedArrayBuffer(layout.bytes);
      await Promise.all(workers.map((_, w) => ask(w, { type: 'start', sab, layout, weights })));
      return new DataParallelTrainer(workers, ports, layout, sab);
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
  }

  /** Copies the batch into the shared buffer and starts a step on every worker. */
  private begin(x: Float32Array, y: Float32Array, rows: number): void {
    const L = this.layout;
    if (this.closed) throw new Error('data-parallel trainer is closed');
    if (!Number.isInteger(rows) || rows < L.workers || rows > L.maxBatch) throw new UnlearnError('INVALID_PARAMS', `data-parallel step of ${rows} rows outside [${L.workers}, ${L.maxBatch}]`, 'use at least one row per worker and at most maxBatch');
    if (x.length < rows * L.xSize || y.length < rows * L.ySize) throw new UnlearnError('INVALID_PARAMS', `data-parallel step: x or y holds fewer than ${rows} rows`, 'pass rows × the example sizes floats');
    this.x.set(x.subarray(0, rows * L.xSize));
    this.y.set(y.subarray(0, rows * L.ySize));
    Atomics.store(this.ctl, CTL.rows, rows);
    Atomics.store(this.ctl, CTL.done, 0);
    Atomics.store(this.ctl, CTL.cmd, CMD.step);
    Atomics.add(this.ctl, CTL.gen, 1);
    Atomics.notify(this.ctl, CTL.gen);
  }

  /** After every worker reported done: the batch-mean loss, or the first worker's error. */
  private finish(): number {
    if (Atomics.load(this.ctl, CTL.failed)) {
      const msgs = this.ports.map((p, w) => {
        const m = receiveMessageOnPort(p)?.message as Reply | undefined;
        return m && !m.ok ? `worker ${w}: ${m.message}` : '';
      }).filter(Boolean);
      throw new Error(`data-parallel step failed (${msgs.join('; ') || 'unknown error'})`);
    }
    let s = 0;
    for (let w = 0; w < this.layout.workers; w++) s += this.loss[w];
    return s;
  }

  /**
   * One synchronous training step on the first `rows` examples of x (rows × xSize floats) and
   * y (rows × ySize), blocking this thread until every replica is updated. Returns the batch-mean loss.
   */
  stepSync(x: Float32Array, y: Float32Array, rows: number): number {
    this.begin(x, y, rows);
    for (;;) {
      const d = Atomics.load(this.ctl, CTL.done);
      if (d >= this.layout.workers) break;
      Atomics.wait(this.ctl, CTL.done, d);
    }
    return this.finish();
  }

  /** {@link stepSync} without blocking the event loop. */
  async step(x: Float32Array, y: Float32Array, rows: number): Promise<number> {
    this.begin(x, y, rows);
    for (;;) {
      const d = Atomics.load(this.ctl, CTL.done);
      if (d >= this.layout.workers) break;
      await (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { value: Promise<string> | string } }).waitAsync(this.ctl, CTL.done, d).value;
    }
    return this.finish();
  }

  /** The current weights, one array per variable (worker 0's replica; every replica holds the same bytes). */
  async getWeights(): Promise<Float32Array[]> {
    return (await this.inspect()).weights;
  }

  /** Worker 0's weights, live tensor count and wasm heap size (for leak checks). */
  async inspect(): Promise<{ weights: Float32Array[]; tensors: number; heapBytes: number }> {
    if (this.closed) throw new Error('data-parallel trainer is closed');
    return new Promise((resolve, reject) => {
      this.ports[0].once('message', (r: Reply) => (r.ok ? resolve(r.value as { weights: Float32Array[]; tensors: number; heapBytes: number }) : reject(new Error(r.message))));
      Atomics.store(this.ctl, CTL.cmd, CMD.weights);
      Atomics.add(this.ctl, CTL.gen, 1);
      Atomics.notify(this.ctl, CTL.gen);
    });
  }

  /** Stops and terminates the workers (idempotent). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.ctl, CTL.cmd, CMD.stop);
    Atomics.add(this.ctl, CTL.gen, 1);
    Atomics.notify(this.ctl, CTL.gen);
    await Promise.all(this.workers.map((w) => w.terminate()));
    for (const p of this.ports) p.close();
  }
}
