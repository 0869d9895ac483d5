import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, randomHost, Rng, tensorsAround, tf, wasmVsCpu } from './test_util.js';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
const cases: { x: number[]; k: number[]; s: [number, number]; d: [number, number]; pad: Pad }[] = [
  { x: [2, 8, 8, 3], k: [3, 3, 3, 1], s: [1, 1], d: [1, 1], pad: 'valid' },
  { x: [2, 9, 7, 4], k: [3, 3, 4, 2], s: [1, 1], d: [1, 1], pad: 'same' },
  { x: [3, 11, 10, 2], k: [3, 2, 2, 3], s: [2, 2], d: [1, 1], pad: 'valid' },
  { x: [2, 10, 9, 3], k: [5, 3, 3, 1], s: [2, 3], d: [1, 1], pad: 'same' },
  { x: [2, 7, 8, 2], k: [3, 3, 2, 2], s: [2, 1], d: [1, 1], pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { x: [1, 6, 6, 5], k: [1, 1, 5, 4], s: [1, 1], d: [1, 1], pad: 'valid' },
  { x: [4, 14, 14, 8], k: [3, 3, 8, 1], s: [2, 2], d: [1, 1], pad: 'same' },
];

test('depthwise conv backprops on wasm match cpu (input and filter gradients)', async () => {
  const rng = new Rng(23);
  for (const c of cases) {
    const x = randomHost(rng, c.x);
    const w = randomHost(rng, c.k, 0.5);
    const outShape = tf.backend_util.computeConv2DInfo(
      c.x as [number, number, number, number],
      c.k as [number, number, number, number],
      c.s,
      c.d,
      c.pad,
      undefined,
      true,
    ).outShape;
    const r = randomHost(rng, outShape, 0.1);
    const f = (xt: tf.Tensor, wt: tf.Tensor, rt: tf.Tensor) =>
      tf.sum(tf.mul(tf.depthwiseConv2d(xt as tf.Tensor4D, wt as tf.Tensor4D, c.s, c.pad, 'NHWC', c.d), rt)) as tf.Scalar;
    const diff = await wasmVsCpu(f, [x, w, r], [0, 1]);
    assert.ok(diff <= 1e-4, `case ${JSON.stringify(c)}: max abs diff ${diff}`);
  }
});

// tfjs's gradient of depthwiseConv2d refuses dilations > 1 and the cpu backprop kernels ignore
// them, but these kernels take them: checked as adjoints of the (cpu) forward conv,
// ⟨conv(x, w), dy⟩ = ⟨x, dx(dy, w)⟩ = ⟨w, dw(x, dy)⟩.
test('dilated depthwise conv backprop kernels are the adjoints of the forward conv', async () => {
  const rng = new Rng(29);
  const x = randomHost(rng, [2, 12, 11, 3]);
  const w = randomHost(rng, [3, 3, 3, 2], 0.5);
  const attrs = { strides: [1, 1], dilations: [2, 2], pad: 'same' } as const;
  const outShape = tf.backend_util.computeConv2DInfo([2, 12, 11, 3], [3, 3, 3, 2], [1, 1], [2, 2], 'same', undefined, true).outShape;
  const dy = randomHost(rng, outShape);
  const [xt, wt, dyt] = [x, w, dy].map((h) => tf.tensor(h.values, h.shape));
  await initEngine('wasm');
  const dx = tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: dyt, filter: wt }, { ...attrs, inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor;
  const dw = tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: xt, dy: dyt }, { ...attrs, filterShape: w.shape } as unknown as tf.NamedAttrMap) as tf.Tensor;
  const dot = (p: ArrayLike<number>, q: ArrayLike<number>) => Array.from(p).reduce((s, v, i) => s + v * q[i], 0);
  const viaDx = dot(x.values, dx.dataSync());
  const viaDw = dot(w.values, dw.dataSync());
  await tf.setBackend('cpu');
  const y = tf.depthwiseConv2d(tf.tensor4d(x.values, x.shape as [number, number, number, number]), tf.tensor4d(w.values, w.shape as [number, number, number, number]), 1, 'same', 'NHWC', 2);
  const direct = dot(y.dataSync(), dy.values);
  y.dispose();
  await initEngine('wasm');
  assert.ok(Math.abs(viaDx - direct) <= 1e-4 * Math.abs(direct), `⟨x, dx⟩ ${viaDx} vs ⟨conv, dy⟩ ${direct}`);
  assert.ok(Math.abs(viaDw - direct) <= 1e-4 * Math.abs(direct), `⟨w, dw⟩ ${viaDw} vs ⟨conv, dy⟩ ${direct}`);
  tf.dispose([xt, wt, dyt, dx, dw]);
});

test('depthwise conv backprops repeat their bytes and leak neither tensors nor wasm heap', async () => {
  await initEngine('wasm');
  const rng = new Rng(5);
  const x = randomHost(rng, [3, 10, 10, 4]);
  const w = randomHost(rng, [3, 3, 4, 2]);
  const xt = tf.tensor4d(x.values, x.shape as [number, number, number, number]);
  const wt = tf.tensor4d(w.values, w.shape as [number, number, number, number]);
  const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))));
  const run = () => tf.tidy(() => g([xt, wt]).map((t) => Buffer.from((t.dataSync() as Float32Array).buffer).toString('base64')));
  const first = run();
  const heap = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
  const heapBefore = heap();
  for (let i = 0; i < 5; i++) assert.deepEqual(run(), first);
  assert.equal(heap(), heapBefore, 'wasm heap grew across steps');
  const { before, after } = tensorsAround(() => g([xt, wt]));
  assert.equal(after, before);
  tf.dispose([xt, wt]);
});

test('depthwise conv backprops reject non-float32 inputs with a one-line error', async () => {
  await initEngine('wasm');
  const dy = tf.zeros([1, 4, 4, 2], 'int32');
  const w = tf.zeros([3, 3, 2, 1]);
  assert.throws(
    () => tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: w }, { inputShape: [1, 4, 4, 2], strides: 1, dilations: 1, pad: 'same' }),
    /needs float32 inputs, got int32/,
  );
  tf.dispose([dy, w]);
});
