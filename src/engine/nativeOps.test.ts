import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostGrads, initEngine, maxAbsDiff, randomHost, randomInts, Rng, tensorsAround, tf, type HostTensor } from './kernels/test_util.js';
import { setNativeKernelsEnabled } from './kernels/native_blas.js';
import { loadNative, nativeStatus } from './native.js';
import { gelu, layerNorm, maskedSoftmax, nativeOpsActive, softmaxScaledGrad, tokenLogProbs } from './nativeOps.js';

setNativeKernelsEnabled(true); // test_util switches them off for the wasm-kernel tests
const skip = loadNative() ? false : `OpenBLAS addon unavailable (${nativeStatus()}); build it with npm run build:native`;

/** Forward values and gradients (w.r.t. `wrt`) of f, flattened into one list of host arrays. */
function valuesAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: HostTensor[], wrt: number[], rng: Rng): Float32Array[] {
  const value = tf.tidy(() => Float32Array.from(f(...inputs.map((h) => tf.tensor(h.values, h.shape, h.dtype))).dataSync() as Float32Array));
  // a random cotangent, so every output element's gradient counts
  const r = randomHost(rng, [value.length]);
  const grads = hostGrads((...xs) => tf.sum(tf.mul(tf.reshape(f(...xs), [-1]), tf.tensor1d(r.values as Float32Array))) as tf.Scalar, inputs, wrt);
  return [value, ...grads];
}

/** Max abs diff of f's values and gradients: wasm with the native ops vs the cpu backend. Also checks that the native path ran. */
async function nativeVsCpu(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: HostTensor[], wrt: number[]): Promise<number> {
  await tf.setBackend('cpu');
  assert.equal(nativeOpsActive(), false);
  const ref = valuesAndGrads(f, inputs, wrt, new Rng(5));
  await initEngine('wasm');
  assert.ok(nativeOpsActive());
  const got = valuesAndGrads(f, inputs, wrt, new Rng(5));
  const again = valuesAndGrads(f, inputs, wrt, new Rng(5));
  got.forEach((g, i) => assert.deepEqual(Buffer.from(g.buffer), Buffer.from(again[i].buffer), 'the same bytes run to run'));
  return Math.max(...got.map((g, i) => maxAbsDiff(g, ref[i])));
}

test('native GELU: values and gradient match the cpu backend, including large |x|', { skip }, async () => {
  const rng = new Rng(1);
  for (const shape of [[7], [3, 5, 11], [64, 130]]) {
    const x = randomHost(rng, shape, 3);
    (x.values as Float32Array)[0] = 30;
    if (x.values.length > 1) (x.values as Float32Array)[1] = -30;
    const d = await nativeVsCpu((t) => gelu(t), [x], [0]);
    assert.ok(d <= 1e-4, `${shape}: ${d}`);
  }
});

test('native LayerNorm: values and gradients (x, g, b) match the cpu backend', { skip }, async () => {
  const rng = new Rng(2);
  for (const shape of [[4, 16], [2, 3, 33], [5, 1]]) {
    const d = shape[shape.length - 1];
    const x = randomHost(rng, shape, 2, 0.5);
    const g = randomHost(rng, [d], 0.5, 1);
    const b = randomHost(rng, [d]);
    const diff = await nativeVsCpu((xt, gt, bt) => layerNorm(xt, gt, bt), [x, g, b], [0, 1, 2]);
    assert.ok(diff <= 1e-4, `${shape}: ${diff}`);
  }
});

test('native masked softmax and its scaled gradient match the cpu backend (mask repeated over heads, broadcast batch)', { skip }, async () => {
  const rng = new Rng(3);
  const causal = (T: number, S: number): HostTensor => {
    const m = new Float32Array(T * S);
    for (let i = 0; i < T; i++) for (let j = i + 1 + (S - T); j < S; j++) m[i * S + j] = -1e9;
    return { shape: [T, S], values: m, dtype: 'float32' };
  };
  for (const [shape, scale] of [[[2, 3, 5, 5], 0.35], [[1, 2, 4, 9], 1], [[6, 7], 2.5]] as [number[], number][]) {
    const [T, S] = shape.slice(-2);
    const s = randomHost(rng, shape, 3);
    const mask = causal(T, S);
    // a custom op as attentionCore builds it: value via maskedSoftmax, gradient via softmaxScaledGrad
    const op = (st: tf.Tensor, mt: tf.Tensor) =>
      (tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
        const p = maskedSoftmax(x, mt, scale);
        save([p]);
        return { value: p, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => softmaxScaledGrad(saved[0], dy, scale) };
      }) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor)(st);
    const d = await nativeVsCpu(op, [s, mask], [0]);
    assert.ok(d <= 1e-4, `${shape}: ${d}`);
    // and against autodiff of the plain expression on cpu
    await tf.setBackend('cpu');
    const plain = valuesAndGrads((st, mt) => tf.softmax(tf.add(tf.mul(st, scale), mt)), [s, mask], [0], new Rng(5));
    await initEngine('wasm');
    const got = valuesAndGrads(op, [s, mask], [0], new Rng(5));
    assert.ok(Math.max(...got.map((g, i) => maxAbsDiff(g, plain[i]))) <= 1e-4);
  }
});

test('native token log-probabilities match log-softmax + one-hot on cpu, out-of-range targets give 0', { skip }, async () => {
  const rng = new Rng(4);
  for (const [B, T, V] of [[2, 5, 7], [3, 4, 257]]) {
    const logits = randomHost(rng, [B, T, V], 4);
    const targets = randomInts(rng, [B, T], 0, V);
    (targets.values as Int32Array)[0] = V; // outside the vocabulary
    (targets.values as Int32Array)[1] = -1;
    const d = await nativeVsCpu((l, t) => tokenLogProbs(l, t), [logits, targets], [0]);
    assert.ok(d <= 1e-4, `[${B},${T},${V}]: ${d}`);
  }
});

test('native ops leave no tensors behind (forward and gradient) and fall back to the tfjs expressions when switched off', { skip }, async () => {
  await initEngine('wasm');
  const rng = new Rng(6);
  const x = randomHost(rng, [3, 8]);
  const g = randomHost(rng, [8]);
  const t = randomInts(rng, [3], 0, 8);
  const f = (xt: tf.Tensor, gt: tf.Tensor) => tf.sum(tokenLogProbs(gelu(layerNorm(xt, gt, gt)), tf.tensor(t.values, t.shape, 'int32'))) as tf.Scalar;
  const { before, after } = tensorsAround(() => hostGrads(f, [x, g], [0, 1]));
  assert.equal(after, before);
  const on = hostGrads(f, [x, g], [0, 1]);
  setNativeKernelsEnabled(false);
  try {
    assert.equal(nativeOpsActive(), false);
    const off = hostGrads(f, [x, g], [0, 1]);
    assert.ok(Math.max(...on.map((a, i) => maxAbsDiff(a, off[i]))) <= 1e-4);
  } finally {
    setNativeKernelsEnabled(true);
  }
});

test('two-thread native loops give the bytes of one thread; batched small products on two threads repeat their bytes and match cpu', { skip }, async () => {
  await initEngine('wasm');
  const addon = loadNative()!;
  const threads = addon.info().threads;
  const rng = new Rng(7);
  const x = randomHost(rng, [256, 1030], 2); // large enough to be split across threads
  const mask = randomHost(rng, [4, 1030]);
  const a = randomHost(rng, [6, 4, 64, 16]);
  const b = randomHost(rng, [6, 4, 64, 16]);
  const fp = () =>
    tf.tidy(() => {
      const xt = tf.tensor(x.values, x.shape);
      const outs = [
        gelu(xt),
        maskedSoftmax(xt, tf.tensor(mask.values, mask.shape), 0.3),
        ...tf.grads((t: tf.Tensor) => tf.sum(tf.mul(gelu(t), t)) as tf.Scalar)([xt]),
      ];
      return outs.map((t) => Buffer.from(Float32Array.from(t.dataSync() as Float32Array).buffer));
    });
  const mm = () => tf.tidy(() => Float32Array.from(tf.matMul(tf.tensor(a.values, a.shape), tf.tensor(b.values, b.shape), false, true).dataSync() as Float32Array));
  try {
    addon.setThreads(1);
    const one = fp();
    addon.setThreads(2);
    const two = fp();
    one.forEach((bytes, i) => assert.ok(bytes.equals(two[i]), `output ${i}: 1 and 2 threads differ`));
    const m1 = mm();
    assert.ok(Buffer.from(m1.buffer).equals(Buffer.from(mm().buffer)), 'batched products repeat their bytes');
    await tf.setBackend('cpu');
    const ref = mm();
    await initEngine('wasm');
    assert.ok(maxAbsDiff(m1, ref) <= 1e-4);
  } finally {
    addon.setThreads(threads);
  }
});
