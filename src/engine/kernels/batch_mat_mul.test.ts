import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostGrads, initEngine, maxAbsDiff, randomHost, Rng, tensorsAround, tf, wasmVsCpu } from './test_util.js';
import { isInstalled } from './wasm_util.js';
import { batchMatMulKernel } from './batch_mat_mul.js';

const cases: { a: number[]; b: number[]; tA: boolean; tB: boolean }[] = [
  { a: [5, 7], b: [7, 3], tA: false, tB: false },
  { a: [7, 5], b: [7, 3], tA: true, tB: false },
  { a: [5, 7], b: [3, 7], tA: false, tB: true },
  { a: [7, 5], b: [3, 7], tA: true, tB: true },
  { a: [4, 6, 5], b: [4, 6, 3], tA: true, tB: false },
  { a: [2, 5, 6], b: [2, 3, 6], tA: false, tB: true },
  { a: [32, 78], b: [32, 25], tA: true, tB: false },
  // batches of matrices (attention's shapes): one fast 2-D product per matrix
  { a: [2, 3, 5, 4], b: [2, 3, 4, 6], tA: false, tB: false },
  { a: [2, 3, 5, 4], b: [2, 3, 6, 4], tA: false, tB: true },
  { a: [3, 4, 5], b: [3, 4, 6], tA: true, tB: false },
];

test('wasm BatchMatMul is the replacement kernel', async () => {
  await initEngine('wasm');
  assert.ok(isInstalled(batchMatMulKernel));
});

test('matMul with transposes: values and gradients on wasm match cpu', async () => {
  const rng = new Rng(7);
  for (const c of cases) {
    const a = randomHost(rng, c.a);
    const b = randomHost(rng, c.b);
    const mm = (at: tf.Tensor, bt: tf.Tensor) => tf.matMul(at, bt, c.tA, c.tB);
    const outShape = tf.tidy(() => mm(tf.zeros(c.a), tf.zeros(c.b)).shape);
    const r = randomHost(rng, outShape);
    const f = (at: tf.Tensor, bt: tf.Tensor, rt: tf.Tensor) => tf.sum(tf.mul(mm(at, bt), rt)) as tf.Scalar;
    const diff = await wasmVsCpu(f, [a, b, r], [0, 1]);
    assert.ok(diff <= 1e-4, `case ${JSON.stringify(c)}: max abs diff ${diff}`);
    // forward values too (the gradient of sum(mm·r) w.r.t. r is mm itself)
    const fw = hostGrads(f, [a, b, r], [2])[0];
    await tf.setBackend('cpu');
    const fc = hostGrads(f, [a, b, r], [2])[0];
    await initEngine('wasm');
    assert.ok(maxAbsDiff(fw, fc) <= 1e-4, `forward ${JSON.stringify(c)}`);
  }
});

test('broadcast batch matMul with transposes (forward) matches cpu', async () => {
  // (tfjs-core 4.22's BatchMatMul gradient itself fails for broadcast batch dims, on every backend.)
  const rng = new Rng(10);
  const a = randomHost(rng, [2, 6, 5]);
  const b = randomHost(rng, [1, 3, 6]);
  const run = () =>
    tf.tidy(() => Float32Array.from(tf.matMul(tf.tensor(a.values, a.shape), tf.tensor(b.values, b.shape), true, true).dataSync()));
  await initEngine('wasm');
  const w = run();
  await tf.setBackend('cpu');
  const c = run();
  await initEngine('wasm');
  assert.equal(w.length, 2 * 5 * 3);
  assert.ok(maxAbsDiff(w, c) <= 1e-4);
});

test('broadcast batches against one matrix (forward) match cpu', async () => {
  const rng = new Rng(11);
  for (const [sa, sb] of [[[3, 4, 5], [1, 5, 2]], [[1, 4, 5], [3, 5, 2]], [[2, 2, 4, 5], [5, 3]]] as const) {
    const a = randomHost(rng, [...sa]);
    const b = randomHost(rng, [...sb]);
    const run = () => tf.tidy(() => Float32Array.from(tf.matMul(tf.tensor(a.values, a.shape), tf.tensor(b.values, b.shape)).dataSync()));
    await initEngine('wasm');
    const w = run();
    await tf.setBackend('cpu');
    const c = run();
    await initEngine('wasm');
    assert.equal(w.length, c.length);
    assert.ok(maxAbsDiff(w, c) <= 1e-4, `${sa} x ${sb}: ${maxAbsDiff(w, c)}`);
  }
});

test('batched matMul leaks no tensors and keeps wasm memory', async () => {
  await initEngine('wasm');
  const a = tf.randomNormal([4, 3, 8, 5]);
  const b = tf.randomNormal([4, 3, 5, 6]);
  tf.matMul(a, b).dispose();
  const bytes = tf.memory().numBytes;
  const { before, after } = tensorsAround(() => tf.matMul(a, b));
  assert.equal(after, before);
  assert.equal(tf.memory().numBytes, bytes);
  tf.dispose([a, b]);
});

test('fused matMul with transposes and bias matches cpu', async () => {
  const rng = new Rng(8);
  const a = randomHost(rng, [6, 4]);
  const b = randomHost(rng, [5, 6]);
  const bias = randomHost(rng, [5]);
  const f = (at: tf.Tensor, bt: tf.Tensor, ct: tf.Tensor) =>
    tf.sum(
      tf.square(
        tf.fused.matMul({ a: at as tf.Tensor2D, b: bt as tf.Tensor2D, transposeA: true, transposeB: true, bias: ct, activation: 'relu' }),
      ),
    ) as tf.Scalar;
  const diff = await wasmVsCpu(f, [a, b, bias], [0, 1, 2]);
  assert.ok(diff <= 1e-4, `max abs diff ${diff}`);
});

test('transposed matMul gradient leaks no tensors', async () => {
  await initEngine('wasm');
  const a = tf.randomNormal([8, 5]);
  const b = tf.randomNormal([8, 3]);
  const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.matMul(x, y, true, false)) as tf.Scalar);
  const { before, after } = tensorsAround(() => g([a, b]));
  assert.equal(after, before);
  tf.dispose([a, b]);
});
