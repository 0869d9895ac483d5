import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from './backend.js';
import { DataParallelTrainer } from './dataParallel.js';
import { mlp } from './dataParallel.fixture.js';
import { Rng } from './rng.js';

const ARGS = { features: 20, hidden: 16, classes: 4, seed: 3 };
const BATCH = 30; // not a multiple of 4: uneven shards are weighted by their size
const STEPS = 6;
const MODULE = new URL('./dataParallel.fixture.ts', import.meta.url).href;

function batches(): { x: Float32Array; y: Float32Array }[] {
  const rng = new Rng(9);
  return Array.from({ length: STEPS }, () => {
    const x = Float32Array.from({ length: BATCH * ARGS.features }, () => rng.normal());
    const y = new Float32Array(BATCH * ARGS.classes);
    for (let i = 0; i < BATCH; i++) y[i * ARGS.classes + rng.int(ARGS.classes)] = 1;
    return { x, y };
  });
}

async function trainParallel(workers: number, optimizer: 'sgd' | 'adam'): Promise<{ weights: Float32Array[]; losses: number[]; tensors: number[]; heap: number[] }> {
  const t = await DataParallelTrainer.create({ workers, module: MODULE, fn: 'mlp', args: ARGS, optimizer: { name: optimizer, learningRate: 0.05 }, maxBatch: BATCH });
  try {
    const losses: number[] = [];
    const tensors: number[] = [];
    const heap: number[] = [];
    for (const [i, b] of batches().entries()) {
      losses.push(i % 2 ? await t.step(b.x, b.y, BATCH) : t.stepSync(b.x, b.y, BATCH));
      const s = await t.inspect();
      tensors.push(s.tensors);
      heap.push(s.heapBytes);
    }
    return { weights: await t.getWeights(), losses, tensors, heap };
  } finally {
    await t.close();
  }
}

/** The same training in this thread: tf.variableGrads on the whole batch, then the optimizer. */
async function trainHere(optimizer: 'sgd' | 'adam'): Promise<Float32Array[]> {
  await initEngine('wasm');
  const { adam } = await import('./adam.js');
  const m = mlp(ARGS);
  const opt = optimizer === 'adam' ? adam(0.05) : tf.train.sgd(0.05);
  for (const b of batches()) {
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => m.loss(tf.tensor2d(b.x, [BATCH, ARGS.features]), tf.tensor2d(b.y, [BATCH, ARGS.classes])), m.variables);
      opt.applyGradients(m.variables.map((v) => ({ name: v.name, tensor: grads[v.name] })));
    });
  }
  const w = m.variables.map((v) => Float32Array.from(v.dataSync() as Float32Array));
  tf.dispose(m.variables);
  opt.dispose();
  return w;
}

const bytes = (ws: Float32Array[]) => ws.map((w) => Buffer.from(w.buffer, w.byteOffset, w.byteLength).toString('base64'));
const maxDiff = (a: Float32Array[], b: Float32Array[]) => Math.max(...a.map((w, i) => Math.max(...w.map((v, j) => Math.abs(v - b[i][j])))));

for (const optimizer of ['sgd', 'adam'] as const) {
  test(`data-parallel (${optimizer}): 1 worker is the single-threaded step, 2 workers repeat their bytes and agree to float32 rounding`, async () => {
    const one = await trainParallel(1, optimizer);
    const here = await trainHere(optimizer);
    assert.deepEqual(bytes(one.weights), bytes(here), '1 worker differs from single-threaded training');
    const two = await trainParallel(2, optimizer);
    const again = await trainParallel(2, optimizer);
    assert.deepEqual(bytes(two.weights), bytes(again.weights), '2 workers do not repeat their bytes');
    assert.deepEqual(two.losses, again.losses);
    const d = maxDiff(two.weights, here);
    assert.ok(d <= 1e-4, `2 workers vs 1 thread: max abs diff ${d}`);
    assert.ok(d > 0 || optimizer === 'sgd', 'expected some rounding difference between 2 shards and 1');
    assert.ok(Math.abs(two.losses[0] - one.losses[0]) <= 1e-5, `first loss ${two.losses[0]} vs ${one.losses[0]}`);
    // no tensor leaks and no wasm heap growth in the replicas across steps
    assert.ok(two.tensors.every((n) => n === two.tensors[1]), `tensors per step ${two.tensors}`);
    assert.ok(two.heap.slice(1).every((n) => n === two.heap[1]), `heap per step ${two.heap}`);
  });
}

test('data-parallel rejects bad worker counts and batches with one-line errors', async () => {
  await assert.rejects(DataParallelTrainer.create({ workers: 0, module: MODULE, fn: 'mlp', args: ARGS, optimizer: { name: 'sgd', learningRate: 0.1 }, maxBatch: 8 }), /workers must be a positive integer/);
  const t = await DataParallelTrainer.create({ workers: 2, module: MODULE, fn: 'mlp', args: ARGS, optimizer: { name: 'sgd', learningRate: 0.1 }, maxBatch: 8 });
  try {
    assert.throws(() => t.stepSync(new Float32Array(9 * 20), new Float32Array(9 * 4), 9), /outside \[2, 8\]/);
  } finally {
    await t.close();
  }
  await assert.rejects(DataParallelTrainer.create({ workers: 1, module: MODULE, fn: 'nope', optimizer: { name: 'sgd', learningRate: 0.1 }, maxBatch: 8 }), /exports no function nope/);
});
