import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tensorsAround, tf } from './test_util.js';
import { identityKernel } from './identity.js';
import { isInstalled } from './wasm_util.js';

test('wasm Identity shares the buffer: clones keep their values after the original is freed, nothing leaks', async () => {
  await initEngine('wasm');
  assert.ok(isInstalled(identityKernel));
  const bytes = tf.memory().numBytes;
  const a = tf.tensor([1, 2, 3, 4], [2, 2]);
  const c = tf.clone(a);
  assert.equal(c.dataId, a.dataId); // one buffer for both
  a.dispose();
  assert.deepEqual(Array.from(c.dataSync()), [1, 2, 3, 4]);
  c.dispose();
  assert.equal(tf.memory().numBytes, bytes);
  const x = tf.tensor([1, 2, 3]);
  const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.clone(t), 2)));
  const { before, after } = tensorsAround(() => assert.deepEqual(Array.from(g(x).dataSync()), [2, 2, 2]));
  assert.equal(after, before);
  const v = tf.variable(tf.tensor([5, 6]));
  v.assign(tf.clone(tf.slice(x, 0, 2)));
  assert.deepEqual(Array.from(v.dataSync()), [1, 2]);
  assert.deepEqual(Array.from(x.dataSync()), [1, 2, 3]);
  tf.dispose([x, v]);
  const s = tf.clone(tf.tensor(['a', 'b']));
  assert.deepEqual(s.dataSync(), ['a', 'b']);
  s.dispose();
});
