/**
 * Engine benchmark: training/inference throughput (examples/second) of an MLP 784-256-10 and a
 * small CNN (conv3x3·16 → maxpool → conv3x3·32 → maxpool → dense 10) on random data, batch 128;
 * of causal attention's batched products alone (softmax(QKᵀ/√d)V and its gradient for 8 heads,
 * T = 128, dh = 32; an example = one sequence, batch 16); and of a training step of the `small`
 * language model (3.26 M parameters, 16 passages of 128 bytes; an example = one passage),
 * for each backend: wasm stock, wasm + our training kernels (src/engine/kernels), cpu, and
 * tensorflow (@tensorflow/tfjs-node) when installed. Prints a Markdown table.
 *
 *   npx tsx bench/engine.ts            # all columns, each in its own child process
 *   npx tsx bench/engine.ts --cell X   # one column (wasm-stock | wasm | cpu | tensorflow), JSON out
 *
 * Each measurement is time-boxed (BENCH_SECONDS, default 5 s per cell after one warm-up step).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initEngine, tfjsNodeInstalled } from '../src/engine/backend.js';
import { unregisterWasmTrainingKernels } from '../src/engine/kernels/index.js';
import { disposeModel, initModel, lmConfig, variables } from '../src/lm/model.js';
import { batchTensors, lmStep, makeBatch, nllLoss } from '../src/lm/train.js';

const BATCH = 128;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const POOL = 1024; // distinct random examples cycled through
const CELLS = ['wasm-stock', 'wasm', 'cpu', 'tensorflow'] as const;
type Cell = (typeof CELLS)[number];
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
  await initEngine(cell === 'wasm-stock' ? 'wasm' : cell);
  if (cell === 'wasm-stock') unregisterWasmTrainingKernels();
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
  console.log(JSON.stringify({ cell, backend: tf.getBackend(), results, leaked }));
}

function fmt(r: Result | undefined): string {
  if (!r) return 'n/a';
  if ('error' in r) return r.error;
  const v = r.exPerSec < 100 ? r.exPerSec.toPrecision(2) : Math.round(r.exPerSec).toLocaleString('en-US');
  return `${v}${r.note ? ` (${r.note})` : ''}`;
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--cell');
  if (i >= 0) return runCell(process.argv[i + 1] as Cell);
  const self = fileURLToPath(import.meta.url);
  const cols = new Map<Cell, Result[] | string>();
  for (const cell of CELLS) {
    if (cell === 'tensorflow' && !tfjsNodeInstalled()) {
      cols.set(cell, 'not installed');
      continue;
    }
    process.stderr.write(`measuring ${cell}...\n`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--cell', cell], {
      encoding: 'utf8',
      timeout: (SECONDS * 8 + 300) * 1000,
    });
    const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
    try {
      const parsed = JSON.parse(last) as { results: Result[]; leaked: number };
      cols.set(cell, parsed.results);
      if (parsed.leaked) {
        const failed = parsed.results.some((x) => 'error' in x);
        const why = failed ? ' (left by the workload that failed mid-step)' : '';
        process.stderr.write(`  warning: ${cell} leaked ${parsed.leaked} tensors${why}\n`);
      }
    } catch {
      cols.set(cell, r.error ? `fails: ${r.error.message}` : `fails: exit ${r.status}`);
      process.stderr.write((r.stderr ?? '').split('\n').filter((l) => /Error/.test(l)).slice(0, 3).join('\n') + '\n');
    }
  }
  const cell = (c: Cell, w: number): Result | string => {
    const v = cols.get(c);
    return typeof v === 'string' ? v : (v?.[w] ?? 'n/a');
  };
  const show = (v: Result | string) => (typeof v === 'string' ? v : fmt(v));
  console.log(`\nExamples/second, batch ${BATCH}, random data, ${SECONDS} s per cell (higher is better).\n`);
  console.log('| workload | wasm stock | wasm + kernels | kernels vs stock | cpu | tensorflow |');
  console.log('|---|---|---|---|---|---|');
  WORKLOADS.forEach((name, w) => {
    const s = cell('wasm-stock', w);
    const p = cell('wasm', w);
    const ratio =
      typeof s !== 'string' && typeof p !== 'string' && 'exPerSec' in s && 'exPerSec' in p
        ? `${(p.exPerSec / s.exPerSec).toFixed(2)}×`
        : '—';
    console.log(
      `| ${name} | ${show(s)} | ${show(p)} | ${ratio} | ${show(cell('cpu', w))} | ${show(cell('tensorflow', w))} |`,
    );
  });
}

await main();
