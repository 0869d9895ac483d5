import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, randomHost, Rng, tensorsAround, tf, wasmVsCpu } from './test_util.js';
import { isInstalled } from './wasm_util.js';
import { conv2DBackpropInputKernel } from './conv2d_backprop_input.js';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
const cases: { x: number[]; k: number[]; s: [number, number]; pad: Pad }[] = [
  { x: [2, 12, 12, 4], k: [3, 3, 4, 6], s: [1, 1], pad: 'valid' },
  { x: [2, 9, 8, 3], k: [3, 3, 3, 2], s: [2, 2], pad: 'same' },
  { x: [2, 11, 10, 2], k: [2, 3, 2, 3], s: [3, 2], pad: 'valid' },
  { x: [1, 6, 6, 2], k: [3, 3, 2, 2], s: [1, 1], pad: [[0, 0], [3, 1], [0, 4], [0, 0]] }, // stock fallback
];

test('wasm Conv2DBackpropInput is the replacement and matches cpu', async () => {
  await initEngine('wasm');
  assert.ok(isInstalled(conv2DBackpropInputKernel));
  const rng = new Rng(21);
  for (const c of cases) {
    const x = randomHost(rng, c.x);
    const w = randomHost(rng, c.k, 0.5);
    const shape4 = (s: number[]) => s as [number, number, number, number];
    const r = randomHost(rng, tf.backend_util.computeConv2DInfo(shape4(c.x), shape4(c.k), c.s, 1, c.pad).outShape, 0.1);
    const f = (xt: tf.Tensor, wt: tf.Tensor, rt: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(xt as tf.Tensor4D, wt as tf.Tensor4D, c.s, c.pad), rt)) as tf.Scalar;
    const diff = await wasmVsCpu(f, [x, w, r], [0]);
    assert.ok(diff <= 1e-4, `case ${JSON.stringify(c)}: max abs diff ${diff}`);
  }
});

test('Conv2DBackpropInput leaks no tensors', async () => {
  await initEngine('wasm');
  const x = tf.randomNormal([2, 9, 9, 2]);
  const w = tf.randomNormal([3, 3, 2, 4]) as tf.Tensor4D;
  const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.conv2d(xx as tf.Tensor4D, w, 2, 'same')));
  const { before, after } = tensorsAround(() => g(x));
  assert.equal(after, before);
  tf.dispose([x, w]);
});
