import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, randomHost, randomInts, Rng, tensorsAround, tf, wasmVsCpu } from './test_util.js';

test('gather gradient (UnsortedSegmentSum) on wasm matches cpu', async () => {
  const rng = new Rng(9);
  const cases = [
    { params: [10, 4], idx: [7], axis: 0 },
    { params: [50, 16], idx: [3, 20], axis: 0 }, // embedding lookup: [batch, seq]
    { params: [6, 5, 3], idx: [9], axis: 1 },
    { params: [4, 3], idx: [12], axis: 0 }, // many repeats
  ];
  for (const c of cases) {
    const p = randomHost(rng, c.params);
    const ids = randomInts(rng, c.idx, 0, c.params[c.axis]);
    const outShape = [...c.params.slice(0, c.axis), ...c.idx, ...c.params.slice(c.axis + 1)];
    const r = randomHost(rng, outShape);
    const f = (pt: tf.Tensor, it: tf.Tensor, rt: tf.Tensor) =>
      tf.sum(tf.mul(tf.gather(pt, it, c.axis), rt)) as tf.Scalar;
    const diff = await wasmVsCpu(f, [p, ids, r], [0]);
    assert.ok(diff <= 1e-4, `case ${JSON.stringify(c)}: max abs diff ${diff}`);
  }
});

test('unsortedSegmentSum forward on wasm: float32, int32, dropped out-of-range ids', async () => {
  await initEngine('wasm');
  const x = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]);
  const ids = tf.tensor1d([2, 0, 2, -1], 'int32');
  assert.deepEqual(Array.from(tf.unsortedSegmentSum(x, ids, 3).dataSync()), [3, 4, 0, 0, 6, 8]);
  const xi = tf.tensor1d([1, 2, 3, 4], 'int32');
  const s = tf.unsortedSegmentSum(xi, tf.tensor1d([1, 1, 0, 5], 'int32'), 2);
  assert.equal(s.dtype, 'int32');
  assert.deepEqual(Array.from(s.dataSync()), [3, 3]);
  tf.dispose([x, ids, xi, s]);
});

test('gather gradient leaks no tensors', async () => {
  await initEngine('wasm');
  const p = tf.randomNormal([20, 8]);
  const ids = tf.tensor1d([1, 5, 5, 19], 'int32');
  const g = tf.grad((x: tf.Tensor) => tf.sum(tf.gather(x, ids)) as tf.Scalar);
  const { before, after } = tensorsAround(() => g(p));
  assert.equal(after, before);
  tf.dispose([p, ids]);
});
