/**
 * Engine benchmark: training/inference throughput (examples/second) of an MLP 784-256-10 and a
 * small CNN (conv3x3·16 → maxpool → conv3x3·32 → maxpool → dense 10) on random data, batch 128;
 * of causal attention's batched products alone (softmax(QKᵀ/√d)V and its gradient for 8 heads,
 * T = 128, dh = 32; an example = one sequence, batch 16); and of a training step of the `small`
 * language model (3.26 M parameters, 16 passages of 128 bytes; an example = one passage),
 * for each backend: wasm stock, wasm + our training kernels (src/engine/kernels), wasm + the
 * OpenBLAS kernels (src/engine/native.ts) with 1 and 2 threads, cpu, tensorflow
 * (@tensorflow/tfjs-node) when installed, and beside them the PyTorch peer (bench/engine_torch.py,
 * same shapes, batch and optimizer) with 1 and 2 threads when `python3 -c 'import torch'` works.
 * Prints a Markdown table with the ratios to PyTorch.
 *
 *   npx tsx bench/engine.ts            # all columns, each in its own child process
 *   npx tsx bench/engine.ts --cell X   # one tfjs column (wasm-stock | wasm | ... | tensorflow), JSON out
 *
 * Each measurement is time-boxed (BENCH_SECONDS, default 5 s per cell after one warm-up step).
 * BENCH_CELLS=a,b,… measures only those columns; BENCH_ROUNDS=n (default 1) measures every
 * column n times, interleaved, and keeps each workload's best (for loaded machines).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { backendDescription, initEngine, tfjsNodeInstalled } from '../src/engine/backend.js';
import { nativeStatus } from '../src/engine/native.js';
import { unregisterWasmTrainingKernels } from '../src/engine/kernels/index.js';
import { disposeModel, initModel, lmConfig, variables } from '../src/lm/model.js';
import { batchTensors, lmStep, makeBatch, nllLoss } from '../src/lm/train.js';

const BATCH = 128;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const POOL = 1024; // distinct random examples cycled through
const CELLS = ['wasm-stock', 'wasm', 'wasm-openblas-1', 'wasm-openblas-2', 'cpu', 'tensorflow', 'torch-1', 'torch-2'] as const;
type Cell = (typeof CELLS)[number];
const HEADINGS: Record<Cell, string> = {
  'wasm-stock': 'wasm stock',
  wasm: 'wasm + kernels',
  'wasm-openblas-1': 'wasm + OpenBLAS, 1 thread',
  'wasm-openblas-2': 'wasm + OpenBLAS, 2 threads',
  cpu: 'cpu',
  tensorflow: 'tensorflow',
  'torch-1': 'PyTorch CPU, 1 thread',
  'torch-2': 'PyTorch CPU, 2 threads',
};
/** Environment of a tfjs cell's child process: which kernel path and how many OpenBLAS threads. */
const CELL_ENV: Partial<Record<Cell, Record<string, string>>> = {
  'wasm-stock': { UNLEARN_NATIVE: '0' },
  wasm: { UNLEARN_NATIVE: '0' },
  'wasm-openblas-1': { UNLEARN_NATIVE: '1', UNLEARN_NATIVE_THREADS: '1' },
  'wasm-openblas-2': { UNLEARN_NATIVE: '1', UNLEARN_NATIVE_THREADS: '2' },
};
const WORKLOADS = ['MLP 784-256-10 train', 'CNN (2 conv + dense) train', 'MLP forward', 'attention products fwd+bwd (8 heads, T 128)', 'LM small train (passages/s)'] as const;

/** Result of one workload on one backend: examples/s, or why it could not run. */
type Result = { exPerSec: number; note?: string } | { error: string };

function mlp(): tfl.Sequential {
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ inputShape: [784], units: 256, activation: 'relu' }));
  m.add(tfl.layers.dense({ units: 10 }));
  return m;
}

function cnn(): tfl.Sequential {
  const m = tfl.sequential();
  m.add(tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 16, kernelSize: 3, activation: 'relu' }));
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tfl.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }));
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tfl.layers.flatten());
  m.add(tfl.layers.dense({ units: 10 }));
  return m;
}

/** Host data: POOL random examples with `featShape` features and one-hot labels over 10 classes. */
function hostData(features: number): { x: Float32Array; y: Float32Array } {
  const x = new Float32Array(POOL * features);
  for (let i = 0; i < x.length; i++) x[i] = Math.random();
  const y = new Float32Array(POOL * 10);
  for (let i = 0; i < POOL; i++) y[i * 10 + Math.floor(Math.random() * 10)] = 1;
  return { x, y };
}

/** Runs `step(batchIndex)` once to warm up, then for ~SECONDS; returns examples/s. */
function timeBox(step: (i: number) => void, batch: number): number {
  step(0);
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < SECONDS * 1000) step(++n);
  return (n * batch) / ((performance.now() - t0) / 1000);
}

function trainThroughput(model: tfl.Sequential, inShape: number[], batch: number): number {
  const features = inShape.reduce((a, b) => a * b, 1);
  const { x, y } = hostData(features);
  const opt = tf.train.sgd(0.01);
  const per = POOL / batch;
  const step = (i: number) => {
    const o = (i % per) * batch;
    const xb = tf.tensor(x.subarray(o * features, (o + batch) * features), [batch, ...inShape]);
    const yb = tf.tensor2d(y.subarray(o * 10, (o + batch) * 10), [batch, 10]);
    const cost = opt.minimize(() => tf.losses.softmaxCrossEntropy(yb, model.apply(xb) as tf.Tensor), true);
    cost?.dataSync();
    tf.dispose([xb, yb, cost as tf.Tensor]);
  };
  try {
    return timeBox(step, batch);
  } finally {
    opt.dispose();
  }
}

function forwardThroughput(model: tfl.Sequential): number {
  const { x } = hostData(784);
  const per = POOL / BATCH;
  return timeBox((i) => {
    const o = (i % per) * BATCH;
    tf.tidy(() => {
      const xb = tf.tensor2d(x.subarray(o * 784, (o + BATCH) * 784), [BATCH, 784]);
      (model.predict(xb) as tf.Tensor).dataSync();
    });
  }, BATCH);
}

/** Causal attention's batched matmuls (QKᵀ, softmax, ·V) and their gradients, sequences/s. */
function attentionThroughput(batch: number): number {
  const [H, T, dh] = [8, 128, 32];
  const q = tf.randomNormal([batch, H, T, dh]);
  const k = tf.randomNormal([batch, H, T, dh]);
  const v = tf.randomNormal([batch, H, T, dh]);
  const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.matMul(tf.softmax(tf.mul(tf.matMul(a, b, false, true), 1 / Math.sqrt(dh))), c)) as tf.Scalar);
  try {
    return timeBox(() => tf.tidy(() => g([q, k, v]).forEach((t) => t.dataSync())), batch);
  } finally {
    tf.dispose([q, k, v]);
  }
}

/** Training steps of the `small` LM on random bytes (Adam, clipped), passages/s. */
function lmThroughput(batch: number): number {
  const m = initModel(lmConfig('small'), 0);
  const texts = Array.from({ length: POOL / 8 }, () => String.fromCharCode(...Array.from({ length: 127 }, () => 97 + Math.floor(Math.random() * 26))));
  const opt = tf.train.adam(1e-3);
  const vars = variables(m);
  try {
    return timeBox((i) => {
      const o = (i * batch) % (texts.length - batch);
      const b = makeBatch(texts.slice(o, o + batch), 128);
      lmStep(opt, vars, () => nllLoss(m, batchTensors(b)));
    }, batch);
  } finally {
    opt.dispose();
    disposeModel(m);
  }
}

function attempt(f: () => number, note?: string): Result {
  try {
    return { exPerSec: f(), note };
  } catch (e) {
    const msg = (e as Error).message;
    const m = /Kernel '(\w+)' not registered/.exec(msg);
    return { error: m ? `fails: ${m[1]} missing` : `fails: ${msg.slice(0, 80)}` };
  }
}

/** Measures one column in this process and prints it as JSON on the last stdout line. */
async function runCell(cell: Cell): Promise<void> {
  await initEngine(cell.startsWith('wasm') ? 'wasm' : (cell as 'cpu' | 'tensorflow'));
  if (cell === 'wasm-stock') unregisterWasmTrainingKernels();
  const backend = backendDescription();
  if (cell.startsWith('wasm-openblas') && !backend.includes('openblas')) {
    console.log(JSON.stringify({ cell, backend, unavailable: `OpenBLAS kernels ${nativeStatus()}` }));
    return;
  }
  const before = tf.memory().numTensors;
  const mlpModel = mlp();
  const cnnModel = cnn();
  // The pure-JS cpu backend needs ~a minute per CNN step at batch 128: measure it at batch 8.
  const cnnBatch = cell === 'cpu' ? 8 : BATCH;
  const results: Result[] = [
    attempt(() => trainThroughput(mlpModel, [784], BATCH)),
    attempt(() => trainThroughput(cnnModel, [28, 28, 1], cnnBatch), cnnBatch !== BATCH ? `batch ${cnnBatch}` : undefined),
    attempt(() => forwardThroughput(mlpModel)),
    attempt(() => attentionThroughput(cell === 'cpu' ? 2 : 16), cell === 'cpu' ? 'batch 2' : undefined),
    attempt(() => lmThroughput(cell === 'cpu' ? 2 : 16), cell === 'cpu' ? 'batch 2' : undefined),
  ];
  mlpModel.dispose();
  cnnModel.dispose();
  const leaked = tf.memory().numTensors - before;
  console.log(JSON.stringify({ cell, backend, results, leaked }));
}

function fmt(r: Result | undefined): string {
  if (!r) return 'n/a';
  if ('error' in r) return r.error;
  const v = r.exPerSec < 100 ? r.exPerSec.toPrecision(2) : Math.round(r.exPerSec).toLocaleString('en-US');
  return `${v}${r.note ? ` (${r.note})` : ''}`;
}

/** True when python3 can import torch (the PyTorch peer columns). */
function torchAvailable(): boolean {
  return spawnSync('python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
}

/** Runs one column in a child process; its results, or why it has none. */
function measure(cell: Cell, self: string): Result[] | string {
  process.stderr.write(`measuring ${cell}...\n`);
  const torch = cell.startsWith('torch-');
  const r = torch
    ? spawnSync('python3', [fileURLToPath(new URL('./engine_torch.py', import.meta.url)), cell.slice(6), String(SECONDS)], { encoding: 'utf8', timeout: (SECONDS * 8 + 120) * 1000 })
    : spawnSync(process.execPath, ['--import', 'tsx', self, '--cell', cell], {
        encoding: 'utf8',
        timeout: (SECONDS * 8 + 300) * 1000,
        env: { ...process.env, ...CELL_ENV[cell] },
      });
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  try {
    const parsed = JSON.parse(last) as { results?: Result[]; leaked?: number; backend?: string; version?: string; unavailable?: string };
    if (parsed.unavailable) return parsed.unavailable;
    process.stderr.write(`  ${parsed.backend ?? `torch ${parsed.version}`}\n`);
    if (parsed.leaked) {
      const failed = parsed.results!.some((x) => 'error' in x);
      const why = failed ? ' (left by the workload that failed mid-step)' : '';
      process.stderr.write(`  warning: ${cell} leaked ${parsed.leaked} tensors${why}\n`);
    }
    return parsed.results!;
  } catch {
    process.stderr.write((r.stderr ?? '').split('\n').filter((l) => /Error/.test(l)).slice(0, 3).join('\n') + '\n');
    return r.error ? `fails: ${r.error.message}` : `fails: exit ${r.status}`;
  }
}

/** Keeps, per workload, the better of two measurements of one column. */
function best(a: Result[] | string | undefined, b: Result[] | string): Result[] | string {
  if (a === undefined || typeof a === 'string') return b;
  if (typeof b === 'string') return a;
  return a.map((x, i) => ('exPerSec' in x && 'exPerSec' in b[i] && (b[i] as { exPerSec: number }).exPerSec > x.exPerSec) || 'error' in x ? b[i] : x);
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--cell');
  if (i >= 0) return runCell(process.argv[i + 1] as Cell);
  const self = fileURLToPath(import.meta.url);
  const wanted = process.env.BENCH_CELLS ? process.env.BENCH_CELLS.split(',') : [...CELLS];
  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
  const hasTorch = torchAvailable();
  const cols = new Map<Cell, Result[] | string>();
  for (let round = 0; round < rounds; round++) {
    for (const cell of CELLS) {
      if (!wanted.includes(cell)) continue;
      if (cell === 'tensorflow' && !tfjsNodeInstalled()) cols.set(cell, 'not installed');
      else if (cell.startsWith('torch-') && !hasTorch) cols.set(cell, "n/a (python3 -c 'import torch' fails)");
      else cols.set(cell, best(cols.get(cell), measure(cell, self)));
    }
  }
  const shown = CELLS.filter((c) => cols.has(c));
  const value = (c: Cell, w: number): Result | undefined => {
    const v = cols.get(c);
    return typeof v === 'string' ? undefined : v?.[w];
  };
  const show = (c: Cell, w: number) => {
    const v = cols.get(c);
    return typeof v === 'string' ? v : fmt(v?.[w]);
  };
  const ratio = (c: Cell, ref: Cell, w: number) => {
    const p = value(c, w);
    const q = value(ref, w);
    return p && q && 'exPerSec' in p && 'exPerSec' in q ? `${(p.exPerSec / q.exPerSec).toFixed(2)}` : '—';
  };
  const ratios: [string, Cell, Cell][] = [
    ['OpenBLAS 2 thr ÷ PyTorch 2 thr', 'wasm-openblas-2', 'torch-2'],
    ['OpenBLAS 1 thr ÷ PyTorch 1 thr', 'wasm-openblas-1', 'torch-1'],
    ['OpenBLAS 2 thr ÷ wasm + kernels', 'wasm-openblas-2', 'wasm'],
  ];
  console.log(`\nExamples/second, batch ${BATCH}, random data, ${SECONDS} s per cell, best of ${rounds} round${rounds > 1 ? 's' : ''} (higher is better).\n`);
  console.log(`| workload | ${shown.map((c) => HEADINGS[c]).join(' | ')} | ${ratios.map((r) => r[0]).join(' | ')} |`);
  console.log(`|---|${shown.map(() => '--:').join('|')}|${ratios.map(() => '--:').join('|')}|`);
  WORKLOADS.forEach((name, w) => {
    console.log(`| ${name} | ${shown.map((c) => show(c, w)).join(' | ')} | ${ratios.map(([, c, ref]) => ratio(c, ref, w)).join(' | ')} |`);
  });
}

await main();
