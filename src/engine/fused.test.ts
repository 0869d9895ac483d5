import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tfl from '@tensorflow/tfjs-layers';
import { hostGrads, initEngine, maxAbsDiff, randomHost, Rng, tf, type HostTensor } from './kernels/test_util.js';
import { setNativeKernelsEnabled } from './kernels/native_blas.js';
import { loadNative, nativeStatus } from './native.js';
import { setTrainingFusionEnabled, trainingFusionActive } from './fused.js';

type Loss = (...xs: tf.Tensor[]) => tf.Scalar;

/** Values and gradients (all inputs) of `f` with the fusion on and off, on the active backend. */
function onOff(f: Loss, inputs: HostTensor[]): { on: Float32Array[]; off: Float32Array[] } {
  const wrt = inputs.map((_, i) => i);
  setTrainingFusionEnabled(true);
  const on = hostGrads(f, inputs, wrt);
  setTrainingFusionEnabled(false);
  const off = hostGrads(f, inputs, wrt);
  setTrainingFusionEnabled(true);
  return { on, off };
}

function assertClose(a: Float32Array[], b: Float32Array[], what: string): void {
  assert.equal(a.length, b.length);
  a.forEach((g, i) => {
    const d = maxAbsDiff(g, b[i]);
    assert.ok(d <= 1e-4, `${what}, input ${i}: max abs diff ${d}`);
  });
}

const matCases = [
  { a: [6, 9], b: [9, 5], tA: false, tB: false },
  { a: [9, 6], b: [9, 5], tA: true, tB: false },
  { a: [6, 9], b: [5, 9], tA: false, tB: true },
  { a: [9, 6], b: [5, 9], tA: true, tB: true },
];

/** sum(relu(a·b + bias) · r): r's gradient is the forward value, the others the backward pass. */
function denseLoss(tA: boolean, tB: boolean, withBias: boolean): Loss {
  return (...xs) => {
    const [a, b, r, bias] = xs;
    const y = tf.fused.matMul({ a, b, transposeA: tA, transposeB: tB, bias: withBias ? bias : undefined, activation: 'relu' });
    return tf.sum(tf.mul(y, r));
  };
}

function denseInputs(rng: Rng, c: (typeof matCases)[number], withBias: boolean): HostTensor[] {
  const M = c.tA ? c.a[1] : c.a[0];
  const N = c.tB ? c.b[0] : c.b[1];
  return [randomHost(rng, c.a), randomHost(rng, c.b), randomHost(rng, [M, N]), ...(withBias ? [randomHost(rng, [N])] : [])];
}

/** The kernels one gradient of `f` runs. */
function kernelsOf(f: Loss, inputs: HostTensor[]): Promise<string[]> {
  return tf.profile(() => hostGrads(f, inputs, inputs.map((_, i) => i))).then((p) => p.kernels.map((k) => k.name));
}

for (const backend of ['cpu', 'wasm', 'wasm-openblas'] as const) {
  const setup = async () => {
    await initEngine(backend === 'cpu' ? 'cpu' : 'wasm');
    setNativeKernelsEnabled(backend === 'wasm-openblas');
  };
  const skip = backend === 'wasm-openblas' && !loadNative() ? `native path off: ${nativeStatus()}` : false;

  test(`${backend}: fused relu matMul (transposes, with and without bias) matches the unfused op, forward and backward`, { skip }, async () => {
    await setup();
    const rng = new Rng(16);
    for (const c of matCases) {
      for (const withBias of [true, false]) {
        const inputs = denseInputs(rng, c, withBias);
        const { on, off } = onOff(denseLoss(c.tA, c.tB, withBias), inputs);
        assertClose(on, off, `${JSON.stringify(c)} bias ${withBias}`);
      }
    }
  });

  test(`${backend}: fused relu/linear conv2d with bias matches the unfused op, forward and backward`, { skip }, async () => {
    await setup();
    const rng = new Rng(17);
    for (const c of [
      { x: [2, 7, 6, 3], w: [3, 3, 3, 4], strides: 1, pad: 'valid' as const, act: 'relu' as const },
      { x: [2, 8, 8, 2], w: [3, 3, 2, 5], strides: 2, pad: 'same' as const, act: 'relu' as const },
      { x: [1, 6, 6, 3], w: [2, 2, 3, 4], strides: 1, pad: 'same' as const, act: 'linear' as const },
    ]) {
      const outShape = tf.tidy(() => tf.conv2d(tf.zeros(c.x as [number, number, number, number]) as tf.Tensor4D, tf.zeros(c.w as [number, number, number, number]) as tf.Tensor4D, c.strides, c.pad).shape);
      const inputs = [randomHost(rng, c.x), randomHost(rng, c.w), randomHost(rng, outShape), randomHost(rng, [c.w[3]])];
      const f: Loss = (x, w, r, bias) =>
        tf.sum(tf.mul(tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: c.strides, pad: c.pad, bias, activation: c.act }), r));
      const { on, off } = onOff(f, inputs);
      assertClose(on, off, JSON.stringify(c));
    }
  });

  test(`${backend}: with a tape open the relu layer runs as one fused kernel, no Relu or Add`, { skip }, async () => {
    await setup();
    const inputs = denseInputs(new Rng(18), matCases[0], true);
    assert.ok(trainingFusionActive());
    const fusedKernels = await kernelsOf(denseLoss(false, false, true), inputs);
    assert.ok(fusedKernels.includes('_FusedMatMul'), fusedKernels.join(','));
    assert.ok(!fusedKernels.includes('Relu') && !fusedKernels.includes('Add'), fusedKernels.join(','));
    setTrainingFusionEnabled(false);
    const plain = await kernelsOf(denseLoss(false, false, true), inputs);
    setTrainingFusionEnabled(true);
    assert.ok(plain.includes('Relu'), plain.join(','));
    assert.ok(fusedKernels.length < plain.length, `${fusedKernels.length} vs ${plain.length} kernels`);
  });

  test(`${backend}: a tfjs-layers relu MLP trains the same with and without the fusion, repeats its bytes, leaks nothing`, { skip }, async () => {
    await setup();
    const rng = new Rng(19);
    const x = randomHost(rng, [16, 12]);
    const y = randomHost(rng, [16, 3]);
    const train = async (): Promise<Float32Array> => {
      const model = tfl.sequential();
      model.add(tfl.layers.dense({ inputShape: [12], units: 8, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }));
      model.add(tfl.layers.dense({ units: 3, kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }));
      const opt = tf.train.sgd(0.1);
      const xt = tf.tensor(x.values, x.shape);
      const yt = tf.tensor(y.values, y.shape);
      const step = () => tf.dispose(opt.minimize(() => tf.losses.softmaxCrossEntropy(yt, model.apply(xt, { training: true }) as tf.Tensor), true) ?? []);
      step();
      // the layer itself takes the fused path (tfjs-layers calls tf.fused.matMul)
      const names = (await tf.profile(() => step())).kernels.map((k) => k.name);
      assert.equal(!names.includes('Relu'), trainingFusionActive(), names.join(','));
      const before = tf.memory().numTensors;
      step();
      step();
      assert.equal(tf.memory().numTensors, before, 'tensors leaked by training steps');
      const w = Float32Array.from(model.getWeights().flatMap((t) => Array.from(t.dataSync())));
      tf.dispose([xt, yt]);
      opt.dispose();
      model.dispose();
      return w;
    };
    const a = await train();
    const b = await train();
    assert.deepEqual(a, b, 'two fused runs differ');
    setTrainingFusionEnabled(false);
    const c = await train();
    setTrainingFusionEnabled(true);
    assert.ok(maxAbsDiff(a, c) <= 1e-4, `fused vs unfused weights: ${maxAbsDiff(a, c)}`);
  });
}

test('fused gradients on wasm match the cpu backend', async () => {
  const rng = new Rng(20);
  for (const c of matCases) {
    const inputs = denseInputs(rng, c, true);
    const all = inputs.map((_, i) => i);
    await initEngine('wasm');
    setNativeKernelsEnabled(false);
    const w = hostGrads(denseLoss(c.tA, c.tB, true), inputs, all);
    await initEngine('cpu');
    const cpu = hostGrads(denseLoss(c.tA, c.tB, true), inputs, all);
    assertClose(w, cpu, JSON.stringify(c));
  }
});
