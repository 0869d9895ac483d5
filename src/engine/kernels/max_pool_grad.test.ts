import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostGrads, initEngine, randomHost, Rng, tensorsAround, tf, wasmVsCpu } from './test_util.js';
import type { HostTensor } from './test_util.js';

type Pad = 'same' | 'valid';
const cases: { x: number[]; f: [number, number]; s: [number, number]; pad: Pad; shift: number }[] = [
  { x: [2, 8, 8, 3], f: [2, 2], s: [2, 2], pad: 'valid', shift: 0 },
  { x: [2, 7, 9, 2], f: [3, 3], s: [2, 2], pad: 'same', shift: 0 },
  { x: [1, 9, 8, 4], f: [3, 2], s: [1, 2], pad: 'valid', shift: 0 },
  { x: [2, 6, 6, 3], f: [2, 2], s: [2, 2], pad: 'valid', shift: -10 }, // every window all-negative
  { x: [2, 7, 7, 2], f: [3, 3], s: [2, 2], pad: 'same', shift: -10 },
  { x: [2, 26, 26, 8], f: [2, 2], s: [2, 2], pad: 'valid', shift: 0 },
];

test('MaxPoolGrad on wasm matches cpu, including all-negative windows', async () => {
  const rng = new Rng(5);
  for (const c of cases) {
    const x = randomHost(rng, c.x, 1, c.shift);
    const f = (xt: tf.Tensor, rt: tf.Tensor) =>
      tf.sum(tf.mul(tf.maxPool(xt as tf.Tensor4D, c.f, c.s, c.pad), rt)) as tf.Scalar;
    const outShape = tf.backend_util.computePool2DInfo(c.x as [number, number, number, number], c.f, c.s, 1, c.pad)
      .outShape;
    const r = randomHost(rng, outShape);
    const diff = await wasmVsCpu(f, [x, r], [0]);
    assert.ok(diff <= 1e-4, `case ${JSON.stringify(c)}: max abs diff ${diff}`);
  }
});

test('MaxPoolGrad sends the gradient to the max of an all-negative window (ties: first max)', async () => {
  await initEngine('wasm');
  const x: HostTensor = {
    shape: [1, 2, 4, 1],
    values: Float32Array.from([-3, -1, -2, -2, -5, -6, -7, -2]),
    dtype: 'float32',
  };
  const [g] = hostGrads((xt) => tf.sum(tf.maxPool(xt as tf.Tensor4D, 2, 2, 'valid')) as tf.Scalar, [x], [0]);
  assert.deepEqual(Array.from(g), [0, 1, 1, 0, 0, 0, 0, 0]);
});

test('MaxPoolGrad leaks no tensors', async () => {
  await initEngine('wasm');
  const xt = tf.randomNormal([2, 8, 8, 2]) as tf.Tensor4D;
  const g = tf.grad((x: tf.Tensor) => tf.sum(tf.maxPool(x as tf.Tensor4D, 2, 2, 'same')));
  const { before, after } = tensorsAround(() => g(xt));
  assert.equal(after, before);
  xt.dispose();
});
