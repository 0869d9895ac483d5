import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tf } from './backend.js';
import { adam, FusedAdamOptimizer } from './adam.js';
import { setNativeKernelsEnabled } from './kernels/native_blas.js';
import { loadNative, nativeStatus } from './native.js';
import { Rng } from './rng.js';

const skip = loadNative() ? false : `OpenBLAS addon unavailable (${nativeStatus()}); build it with npm run build:native`;

/** Two parameters after 5 Adam steps of a small least-squares fit. */
function run(makeOpt: () => tf.Optimizer): Float32Array[] {
  const rng = new Rng(41);
  const host = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  const w = tf.variable(tf.tensor2d(host(12 * 5), [12, 5]));
  const b = tf.variable(tf.tensor1d(host(5)));
  const x = tf.tensor2d(host(9 * 12), [9, 12]);
  const y = tf.tensor2d(host(9 * 5), [9, 5]);
  const opt = makeOpt();
  for (let i = 0; i < 5; i++) opt.minimize(() => tf.mean(tf.square(tf.sub(tf.add(tf.matMul(x, w), b), y))) as tf.Scalar);
  const out = [w, b].map((t) => Float32Array.from(t.dataSync() as Float32Array));
  opt.dispose();
  tf.dispose([w, b, x, y]);
  return out;
}

const maxDiff = (a: Float32Array[], b: Float32Array[]) => Math.max(...a.map((x, i) => Math.max(...x.map((v, j) => Math.abs(v - b[i][j])))));

test('fused Adam matches tf.train.adam on wasm (float32 rounding), repeats its own bytes, and is tf.train.adam with the native kernels off', { skip }, async () => {
  await initEngine('wasm');
  const stock = run(() => tf.train.adam(0.05));
  const fused = run(() => adam(0.05));
  // the wasm kernels' vectorised sqrt/div round differently from the C loop's IEEE ones
  assert.ok(maxDiff(fused, stock) <= 1e-6, `max abs diff ${maxDiff(fused, stock)}`);
  assert.deepEqual(run(() => adam(0.05)), fused);
  setNativeKernelsEnabled(false);
  try {
    assert.deepEqual(run(() => adam(0.05)), run(() => tf.train.adam(0.05)));
  } finally {
    setNativeKernelsEnabled(true);
  }
});

test('fused Adam: moments and β powers as tf.train.adam (getWeights), no tensor leaks per step', { skip }, async () => {
  await initEngine('wasm');
  const state = async (opt: tf.Optimizer) => {
    const w = tf.variable(tf.tensor1d([0.5, -1, 2, 3]), true, 'fusedAdamW');
    const loss = () => tf.sum(tf.square(tf.mul(w, tf.tensor1d([1, 2, 3, 4])))) as tf.Scalar;
    opt.minimize(loss);
    const n = tf.memory().numTensors;
    opt.minimize(loss);
    opt.minimize(loss);
    assert.equal(tf.memory().numTensors, n, 'tensors leaked by a step');
    const weights = await opt.getWeights();
    const out = weights.map((x) => `${x.name}:${Array.from(x.tensor.dataSync()).join(',')}`);
    opt.dispose();
    w.dispose();
    return out;
  };
  const fused = await state(adam(0.1));
  const stock = await state(tf.train.adam(0.1));
  assert.equal(fused.length, 3); // iterations, m, v
  assert.deepEqual(fused.map((x) => x.split(':')[0]), stock.map((x) => x.split(':')[0]));
  const values = (xs: string[]) => xs.map((x) => Float32Array.from(x.split(':')[1].split(',').map(Number)));
  assert.ok(maxDiff(values(fused), values(stock)) <= 1e-6);
  assert.ok(adam(0.1) instanceof FusedAdamOptimizer);
});
