import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, randomHost, Rng, tensorsAround, tf, wasmVsCpu } from './test_util.js';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
const cases: { x: number[]; k: number[]; s: [number, number]; pad: Pad }[] = [
  { x: [2, 8, 8, 1], k: [3, 3, 1, 4], s: [1, 1], pad: 'valid' },
  { x: [2, 9, 7, 3], k: [3, 3, 3, 5], s: [1, 1], pad: 'same' },
  { x: [3, 11, 10, 2], k: [3, 2, 2, 4], s: [2, 2], pad: 'valid' },
  { x: [2, 10, 9, 3], k: [5, 3, 3, 2], s: [2, 3], pad: 'same' },
  { x: [2, 7, 8, 2], k: [3, 3, 2, 3], s: [2, 1], pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { x: [1, 6, 6, 4], k: [1, 1, 4, 3], s: [1, 1], pad: 'valid' },
  { x: [2, 28, 28, 1], k: [3, 3, 1, 8], s: [1, 1], pad: 'valid' },
];

test('Conv2DBackpropFilter on wasm matches cpu (filter and input gradients)', async () => {
  const rng = new Rng(11);
  for (const c of cases) {
    const x = randomHost(rng, c.x);
    const w = randomHost(rng, c.k, 0.5);
    const outShape = tf.backend_util.computeConv2DInfo(
      c.x as [number, number, number, number],
      c.k as [number, number, number, number],
      c.s,
      1,
      c.pad,
    ).outShape;
    const r = randomHost(rng, outShape, 0.1);
    const f = (xt: tf.Tensor, wt: tf.Tensor, rt: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(xt as tf.Tensor4D, wt as tf.Tensor4D, c.s, c.pad), rt)) as tf.Scalar;
    const diff = await wasmVsCpu(f, [x, w, r], [0, 1]);
    if (process.env.KDEBUG) console.log(diff);
    assert.ok(diff <= 1e-4, `case ${JSON.stringify(c)}: max abs diff ${diff}`);
  }
});

test('Conv2DBackpropFilter leaks no tensors', async () => {
  await initEngine('wasm');
  const rng = new Rng(3);
  const x = randomHost(rng, [2, 9, 9, 2]);
  const w = randomHost(rng, [3, 3, 2, 4]);
  const xt = tf.tensor4d(x.values, x.shape as [number, number, number, number]);
  const wt = tf.tensor4d(w.values, w.shape as [number, number, number, number]);
  const g = tf.grad((ww: tf.Tensor) => tf.sum(tf.conv2d(xt, ww as tf.Tensor4D, 2, 'same')));
  const { before, after } = tensorsAround(() => g(wt));
  assert.equal(after, before);
  tf.dispose([xt, wt]);
});
