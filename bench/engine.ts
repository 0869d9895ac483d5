/**
 * Engine benchmark: training/inference throughput (examples/second) of an MLP 784-256-10 and a
 * small CNN (conv3x3·16 → maxpool → conv3x3·32 → maxpool → dense 10) on random data, batch 128
 * (SGD); of causal attention's batched products alone (softmax(QKᵀ/√d)V and its gradient for 8
 * heads, T = 128, dh = 32; an example = one sequence, batch 16); and of a training step of the
 * `small` language model (3.26 M parameters, 16 passages of 128 bytes, Adam; an example = one
 * passage), for each column: wasm stock, wasm + our training kernels (src/engine/kernels), wasm +
 * the OpenBLAS kernels (src/engine/native.ts) with 1 and 2 threads, cpu, tensorflow
 * (@tensorflow/tfjs-node) when installed, and the PyTorch peer (bench/engine_torch.py: same
 * shapes, batch and optimizer) with 1 and 2 threads when `python3 -c 'import torch'` works.
 * Prints a Markdown table with the ratios to PyTorch.
 *
 *   npx tsx bench/engine.ts                  # every column, each in its own child process
 *   npx tsx bench/engine.ts --serve wasm     # one column as a child: reads "workload seconds" lines
 *
 * Columns are measured side by side: every column's child stays alive, and the parent runs the
 * workloads in time slices of BENCH_SECONDS (default 2) round-robin over the columns, BENCH_ROUNDS
 * times (default 3), keeping each cell's best slice — so a load spike on a shared machine hits one
 * slice, not one column. BENCH_CELLS=a,b,… measures only those columns.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { adam } from '../src/engine/adam.js';
import { backendDescription, initEngine, tfjsNodeInstalled } from '../src/engine/backend.js';
import { DataParallelTrainer } from '../src/engine/dataParallel.js';
import { cnn, mlp } from './engine_models.js';
import { unregisterWasmTrainingKernels } from '../src/engine/kernels/index.js';
import { nativeStatus } from '../src/engine/native.js';
import { disposeModel, initModel, lmConfig, variables } from '../src/lm/model.js';
import { batchTensors, lmStep, makeBatch, nllLoss } from '../src/lm/train.js';
import { crossEntropy } from '../src/train/loss.js';

const BATCH = 128;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const POOL = 1024; // distinct random examples cycled through
const CELLS = ['wasm-stock', 'wasm', 'wasm-openblas-1', 'wasm-openblas-2', 'wasm-openblas-dp2', 'cpu', 'tensorflow', 'torch-1', 'torch-2'] as const;
type Cell = (typeof CELLS)[number];
const HEADINGS: Record<Cell, string> = {
  'wasm-stock': 'wasm stock',
  wasm: 'wasm + kernels',
  'wasm-openblas-1': 'wasm + OpenBLAS, 1 thread',
  'wasm-openblas-2': 'wasm + OpenBLAS, 2 threads',
  'wasm-openblas-dp2': 'wasm + OpenBLAS, 2 workers (data-parallel)',
  cpu: 'cpu',
  tensorflow: 'tensorflow',
  'torch-1': 'PyTorch CPU, 1 thread',
  'torch-2': 'PyTorch CPU, 2 threads',
};
/** Environment of a tfjs column's child: which kernel path, how many OpenBLAS threads. */
const CELL_ENV: Partial<Record<Cell, Record<string, string>>> = {
  'wasm-stock': { UNLEARN_NATIVE: '0' },
  wasm: { UNLEARN_NATIVE: '0' },
  'wasm-openblas-1': { UNLEARN_NATIVE: '1', UNLEARN_NATIVE_THREADS: '1' },
  'wasm-openblas-2': { UNLEARN_NATIVE: '1', UNLEARN_NATIVE_THREADS: '2' },
  'wasm-openblas-dp2': { UNLEARN_NATIVE: '1', UNLEARN_NATIVE_THREADS: '1' },
};
const WORKLOADS = ['MLP 784-256-10 train', 'CNN (2 conv + dense) train', 'MLP forward', 'attention products fwd+bwd (8 heads, T 128)', 'LM small train (passages/s)'] as const;

/** Result of one workload on one column: examples/s, or why it could not run. */
type Result = { exPerSec: number; note?: string } | { error: string };

/** Host data: POOL random examples with `features` features and one-hot labels over 10 classes. */
function hostData(features: number): { x: Float32Array; y: Float32Array } {
  const x = new Float32Array(POOL * features);
  for (let i = 0; i < x.length; i++) x[i] = Math.random();
  const y = new Float32Array(POOL * 10);
  for (let i = 0; i < POOL; i++) y[i * 10 + Math.floor(Math.random() * 10)] = 1;
  return { x, y };
}

/** A workload ready to run: one step on batch index i, its batch size, and cleanup. */
interface Workload {
  step: (i: number) => void;
  batch: number;
  note?: string;
  dispose: () => void;
}

function trainWorkload(model: tfl.Sequential, inShape: number[], batch: number): Workload {
  const features = inShape.reduce((a, b) => a * b, 1);
  const { x, y } = hostData(features);
  const labels = Int32Array.from({ length: POOL }, (_, i) => y.subarray(i * 10, i * 10 + 10).indexOf(1));
  const opt = tf.train.sgd(0.01);
  const per = POOL / batch;
  const step = (i: number) => {
    const o = (i % per) * batch;
    const xb = tf.tensor(x.subarray(o * features, (o + batch) * features), [batch, ...inShape]);
    const yb = tf.tensor1d(labels.subarray(o, o + batch), 'int32');
    // The product's loss (src/train/loss.ts), as the peer uses PyTorch's cross_entropy.
    const cost = opt.minimize(() => crossEntropy(model.apply(xb, { training: true }) as tf.Tensor, yb), true);
    cost?.dataSync();
    tf.dispose([xb, yb, cost as tf.Tensor]);
  };
  return { step, batch, dispose: () => (opt.dispose(), model.dispose()) };
}

/** Inference as the product runs it (src/eval/predict.ts: model.apply, batch 128). */
function forwardWorkload(model: tfl.Sequential): Workload {
  const { x } = hostData(784);
  const per = POOL / BATCH;
  const step = (i: number) => {
    const o = (i % per) * BATCH;
    tf.tidy(() => {
      const xb = tf.tensor2d(x.subarray(o * 784, (o + BATCH) * 784), [BATCH, 784]);
      (model.apply(xb, { training: false }) as tf.Tensor).dataSync();
    });
  };
  return { step, batch: BATCH, dispose: () => model.dispose() };
}

/** Causal attention's batched matmuls (QKᵀ, softmax, ·V) and their gradients, sequences/s. */
function attentionWorkload(batch: number): Workload {
  const [H, T, dh] = [8, 128, 32];
  const q = tf.randomNormal([batch, H, T, dh]);
  const k = tf.randomNormal([batch, H, T, dh]);
  const v = tf.randomNormal([batch, H, T, dh]);
  const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.matMul(tf.softmax(tf.mul(tf.matMul(a, b, false, true), 1 / Math.sqrt(dh))), c)) as tf.Scalar);
  return { step: () => tf.tidy(() => g([q, k, v]).forEach((t) => t.dataSync())), batch, dispose: () => tf.dispose([q, k, v]) };
}

/** Training steps of the `small` LM on random bytes (Adam, clipped), passages/s. */
function lmWorkload(batch: number): Workload {
  const m = initModel(lmConfig('small'), 0);
  const texts = Array.from({ length: POOL / 8 }, () => String.fromCharCode(...Array.from({ length: 127 }, () => 97 + Math.floor(Math.random() * 26))));
  const opt = adam(1e-3); // the product's Adam (fused on wasm + OpenBLAS)
  const vars = variables(m);
  const step = (i: number) => {
    const o = (i * batch) % (texts.length - batch);
    const b = makeBatch(texts.slice(o, o + batch), 128);
    lmStep(opt, vars, () => nllLoss(m, batchTensors(b)));
  };
  return { step, batch, dispose: () => (opt.dispose(), disposeModel(m)) };
}

/**
 * Training as {@link trainWorkload}, data-parallel: 2 worker threads (1 OpenBLAS thread each)
 * each take half of every batch (src/engine/dataParallel.ts).
 */
async function parallelWorkload(kind: 'mlp' | 'cnn', features: number): Promise<Workload> {
  const { x, y } = hostData(features);
  const t = await DataParallelTrainer.create({
    workers: 2,
    module: new URL('./engine_models.ts', import.meta.url).href,
    fn: 'parallel',
    args: { kind },
    optimizer: { name: 'sgd', learningRate: 0.01 },
    maxBatch: BATCH,
  });
  const per = POOL / BATCH;
  const step = (i: number) => {
    const o = (i % per) * BATCH;
    t.stepSync(x.subarray(o * features, (o + BATCH) * features), y.subarray(o * 10, (o + BATCH) * 10), BATCH);
  };
  return { step, batch: BATCH, dispose: () => void t.close() };
}

/** The workloads of a tfjs column, in WORKLOADS order (the pure-JS cpu backend at small batches). */
function makeWorkloads(cell: Cell): (() => Workload | Promise<Workload>)[] {
  const cpu = cell === 'cpu';
  if (cell === 'wasm-openblas-dp2') {
    const single = () => {
      throw new Error('n/a (training only)');
    };
    return [() => parallelWorkload('mlp', 784), () => parallelWorkload('cnn', 784), single, single, single];
  }
  return [
    () => trainWorkload(mlp(), [784], BATCH),
    () => ({ ...trainWorkload(cnn(), [28, 28, 1], cpu ? 8 : BATCH), note: cpu ? 'batch 8' : undefined }),
    () => forwardWorkload(mlp()),
    () => ({ ...attentionWorkload(cpu ? 2 : 16), note: cpu ? 'batch 2' : undefined }),
    () => ({ ...lmWorkload(cpu ? 2 : 16), note: cpu ? 'batch 2' : undefined }),
  ];
}

function errorResult(e: unknown): Result {
  const msg = (e as Error).message;
  if (msg.startsWith('n/a')) return { error: msg };
  const m = /Kernel '(\w+)' not registered/.exec(msg);
  return { error: m ? `fails: ${m[1]} missing` : `fails: ${msg.slice(0, 80)}` };
}

/**
 * Child side: initialises the column's backend, prints {backend} (or {unavailable}), then answers
 * each stdin line "w seconds" with one JSON result line (workload w run for ~seconds after one
 * warm-up step on first use); "end" prints {leaked} and exits.
 */
async function serve(cell: Cell): Promise<void> {
  await initEngine(cell.startsWith('wasm') ? 'wasm' : (cell as 'cpu' | 'tensorflow'));
  if (cell === 'wasm-stock') unregisterWasmTrainingKernels();
  const backend = backendDescription();
  if (cell.startsWith('wasm-openblas') && !backend.includes('openblas')) {
    console.log(JSON.stringify({ unavailable: `OpenBLAS kernels ${nativeStatus()}` }));
    return;
  }
  console.log(JSON.stringify({ backend }));
  const before = tf.memory().numTensors;
  const factories = makeWorkloads(cell);
  const live = new Map<number, Workload | Result>();
  let counter = 0;
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'end') break;
    const [w, seconds] = line.split(' ').map(Number);
    let wl = live.get(w);
    try {
      if (!wl) {
        wl = await factories[w]();
        (wl as Workload).step(counter++); // warm-up
        live.set(w, wl);
      }
      if ('error' in wl) throw new Error(wl.error);
      const work = wl as Workload;
      const t0 = performance.now();
      let n = 0;
      while (performance.now() - t0 < seconds * 1000) (work.step(counter++), n++);
      console.log(JSON.stringify({ exPerSec: (n * work.batch) / ((performance.now() - t0) / 1000), note: work.note }));
    } catch (e) {
      const r = 'error' in (wl ?? {}) ? (wl as Result) : errorResult(e);
      live.set(w, r);
      console.log(JSON.stringify(r));
    }
  }
  for (const wl of live.values()) if ('dispose' in wl) (wl as Workload).dispose();
  console.log(JSON.stringify({ leaked: tf.memory().numTensors - before }));
  process.exit(0); // data-parallel workers may still be shutting down
}

/** A column's child process and a way to ask it for one line. */
class Column {
  private readonly lines: AsyncIterator<string>;
  constructor(readonly cell: Cell, private readonly child: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  }
  /** Next JSON line from the child (lines that are not JSON, e.g. library logs, are skipped). */
  async read(): Promise<Record<string, unknown>> {
    for (;;) {
      const r = await this.lines.next();
      if (r.done) throw new Error(`${this.cell} exited`);
      try {
        return JSON.parse(r.value) as Record<string, unknown>;
      } catch {
        continue;
      }
    }
  }
  async ask(line: string): Promise<Record<string, unknown>> {
    this.child.stdin.write(line + '\n');
    return this.read();
  }
  async end(): Promise<Record<string, unknown> | undefined> {
    try {
      return await this.ask('end');
    } catch {
      return undefined;
    } finally {
      this.child.stdin.end();
    }
  }
}

function startColumn(cell: Cell): Column {
  const self = fileURLToPath(import.meta.url);
  const child = cell.startsWith('torch-')
    ? spawn('python3', [fileURLToPath(new URL('./engine_torch.py', import.meta.url)), cell.slice(6), '--serve'])
    : spawn(process.execPath, ['--import', 'tsx', self, '--serve', cell], { env: { ...process.env, ...CELL_ENV[cell] } });
  child.stderr.on('data', () => undefined);
  return new Column(cell, child);
}

function fmt(r: Result | undefined): string {
  if (!r) return 'n/a';
  if ('error' in r) return r.error;
  const v = r.exPerSec < 100 ? r.exPerSec.toPrecision(2) : Math.round(r.exPerSec).toLocaleString('en-US');
  return `${v}${r.note ? ` (${r.note})` : ''}`;
}

/** The better of two results of one cell (a number beats an error). */
function better(a: Result | undefined, b: Result): Result {
  if (!a || 'error' in a) return b;
  return 'exPerSec' in b && b.exPerSec > a.exPerSec ? b : a;
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--serve');
  if (i >= 0) return serve(process.argv[i + 1] as Cell);
  const wanted = process.env.BENCH_CELLS ? process.env.BENCH_CELLS.split(',') : [...CELLS];
  const hasTorch = spawnSync('python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
  const notes = new Map<Cell, string>();
  const columns: Column[] = [];
  for (const cell of CELLS.filter((c) => wanted.includes(c))) {
    if (cell === 'tensorflow' && !tfjsNodeInstalled()) notes.set(cell, 'not installed');
    else if (cell.startsWith('torch-') && !hasTorch) notes.set(cell, "n/a (python3 -c 'import torch' fails)");
    else {
      const col = startColumn(cell);
      const hello: Record<string, unknown> = await col.read().catch((e: Error) => ({ unavailable: e.message }));
      if (hello.unavailable) {
        notes.set(cell, String(hello.unavailable));
        await col.end();
      } else {
        process.stderr.write(`${cell}: ${hello.backend}\n`);
        columns.push(col);
      }
    }
  }
  const results = new Map<Cell, Result[]>(columns.map((c) => [c.cell, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let w = 0; w < WORKLOADS.length; w++) {
      process.stderr.write(`round ${round + 1}/${ROUNDS}: ${WORKLOADS[w]}\n`);
      for (const col of columns) {
        const r = (await col.ask(`${w} ${SECONDS}`).catch((e: Error) => ({ error: `fails: ${e.message}` }))) as Result;
        results.get(col.cell)![w] = better(results.get(col.cell)![w], r);
      }
    }
  }
  for (const col of columns) {
    const bye = await col.end();
    if (bye?.leaked) process.stderr.write(`warning: ${col.cell} leaked ${bye.leaked} tensors\n`);
  }
  const shown = CELLS.filter((c) => results.has(c) || notes.has(c));
  const value = (c: Cell, w: number) => results.get(c)?.[w];
  const show = (c: Cell, w: number) => notes.get(c) ?? fmt(value(c, w));
  const ratio = (c: Cell, ref: Cell, w: number) => {
    const p = value(c, w);
    const q = value(ref, w);
    return p && q && 'exPerSec' in p && 'exPerSec' in q ? (p.exPerSec / q.exPerSec).toFixed(2) : '—';
  };
  const ratios: [string, Cell, Cell][] = [
    ['OpenBLAS 2 thr ÷ PyTorch 2 thr', 'wasm-openblas-2', 'torch-2'],
    ['data-parallel 2 workers ÷ PyTorch 2 thr', 'wasm-openblas-dp2', 'torch-2'],
    ['OpenBLAS 1 thr ÷ PyTorch 1 thr', 'wasm-openblas-1', 'torch-1'],
    ['OpenBLAS 2 thr ÷ wasm + kernels', 'wasm-openblas-2', 'wasm'],
  ];
  console.log(`\nExamples/second, batch ${BATCH}, random data; best of ${ROUNDS} interleaved ${SECONDS} s slices per cell (higher is better).\n`);
  console.log(`| workload | ${shown.map((c) => HEADINGS[c]).join(' | ')} | ${ratios.map((r) => r[0]).join(' | ')} |`);
  console.log(`|---|${shown.map(() => '--:').join('|')}|${ratios.map(() => '--:').join('|')}|`);
  WORKLOADS.forEach((name, w) => {
    console.log(`| ${name} | ${shown.map((c) => show(c, w)).join(' | ')} | ${ratios.map(([, c, ref]) => ratio(c, ref, w)).join(' | ')} |`);
  });
}

await main();
