import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../engine/backend.js';
import { isUnlearnError } from '../errors.js';
import { maxAbsDiff } from '../engine/kernels/test_util.js';
import { setNativeKernelsEnabled } from '../engine/kernels/native_blas.js';
import { loadNative } from '../engine/native.js';
import { nativeOpsActive } from '../engine/nativeOps.js';
import { Rng } from '../engine/rng.js';
import { attentionCore, block, causalMask, disposeKvCache, gelu, disposeModel, forward, forwardCached, initModel, numParams, variables, type LmConfig } from './model.js';
import { batchTensors, lmStep, makeBatch, nllLoss } from './train.js';
import { loadLm, saveLm, lmHash } from './io.js';
import { BOS, decode, encode, VOCAB_SIZE } from './tokenizer.js';
import { continueTokens, generate } from './generate.js';

const cfg: LmConfig = { name: 'test', vocabSize: VOCAB_SIZE, contextLength: 12, dModel: 16, nLayers: 2, nHeads: 2, dMlp: 32, tiedHead: false };
const texts = ['Call me Ishmael. Some', 'Fellow-Citizens of the', 'whale ship ahoy!'];

/** Gradients of f w.r.t. every model parameter, as host arrays, on the active backend. */
function paramGrads(f: (m: ReturnType<typeof initModel>) => tf.Scalar): Float32Array[] {
  const m = initModel(cfg, 7);
  const vars = variables(m);
  const out = tf.tidy(() => {
    const { grads } = tf.variableGrads(() => f(m), vars);
    // parameters the loss does not reach have no gradient: compare them as zeros
    return vars.map((v) => (grads[v.name] ? Float32Array.from(grads[v.name].dataSync() as Float32Array) : new Float32Array(v.size)));
  });
  disposeModel(m);
  return out;
}

async function wasmVsCpuParams(f: (m: ReturnType<typeof initModel>) => tf.Scalar): Promise<number> {
  await initEngine('wasm');
  const gw = paramGrads(f);
  await tf.setBackend('cpu');
  const gc = paramGrads(f);
  await initEngine('wasm');
  assert.ok(gc.some((g) => g.some((x) => x !== 0)), 'gradients are not all zero');
  return Math.max(...gw.map((g, i) => maxAbsDiff(g, gc[i])));
}

test('tokenizer: UTF-8 bytes round-trip, BOS dropped on decode', () => {
  const ids = encode('Pequod—ahoy\r\n');
  assert.deepEqual([...ids.subarray(0, 3)], [80, 101, 113]);
  assert.equal(ids.length, 'Pequod'.length + 3 + 'ahoy'.length + 1); // em dash is 3 bytes, CRLF → LF
  assert.equal(decode([BOS, ...ids]), 'Pequod—ahoy\n');
});

test('transformer block gradients: wasm vs cpu, max abs diff ≤ 1e-4', async () => {
  const mask = () => {
    const m = new Float32Array(64);
    for (let i = 0; i < 8; i++) for (let j = i + 1; j < 8; j++) m[i * 8 + j] = -1e9;
    return tf.tensor2d(m, [8, 8]);
  };
  // one block on a fixed input, loss = Σ sin(block(x))
  const d1 = await wasmVsCpuParams((m) => {
    const x = tf.tensor3d(Array.from({ length: 2 * 8 * 16 }, (_, i) => Math.sin(i * 0.37)), [2, 8, 16]);
    return tf.sum(tf.sin(block(m, 0, x, mask())));
  });
  assert.ok(d1 <= 1e-4, `block grad diff ${d1}`);
  // the whole model with the LM loss (embedding gather → UnsortedSegmentSum on wasm)
  const b = makeBatch(texts, cfg.contextLength);
  const d2 = await wasmVsCpuParams((m) => nllLoss(m, batchTensors(b)));
  assert.ok(d2 <= 1e-4, `model grad diff ${d2}`);
});

test('with the native kernels (fused GELU, LayerNorm, attention softmax, token log-probs): model gradients vs cpu ≤ 1e-4, same bytes twice', { skip: loadNative() ? false : 'OpenBLAS addon not built' }, async () => {
  setNativeKernelsEnabled(true); // test_util switches them off
  try {
    await initEngine('wasm');
    assert.ok(nativeOpsActive());
    const b = makeBatch(texts, cfg.contextLength);
    const d = await wasmVsCpuParams((m) => nllLoss(m, batchTensors(b)));
    assert.ok(d <= 1e-4, `model grad diff ${d}`);
    const a1 = paramGrads((m) => nllLoss(m, batchTensors(b)));
    const a2 = paramGrads((m) => nllLoss(m, batchTensors(b)));
    a1.forEach((g, i) => assert.deepEqual(Buffer.from(g.buffer), Buffer.from(a2[i].buffer)));
  } finally {
    setNativeKernelsEnabled(false);
  }
});

test('forward is causal: changing a later token leaves earlier logits unchanged', async () => {
  await initEngine('wasm');
  const m = initModel(cfg, 1);
  const a = tf.tidy(() => forward(m, tf.tensor2d([[BOS, 1, 2, 3, 4]], [1, 5], 'int32')).arraySync());
  const b = tf.tidy(() => forward(m, tf.tensor2d([[BOS, 1, 2, 9, 9]], [1, 5], 'int32')).arraySync());
  assert.ok(maxAbsDiff(a[0].slice(0, 3).flat(), b[0].slice(0, 3).flat()) < 1e-5);
  assert.ok(maxAbsDiff(a[0][4], b[0][4]) > 1e-4);
  disposeModel(m);
});

test('no tensor leaks across a training step, generation and scoring', async () => {
  await initEngine('wasm');
  const m = initModel(cfg, 3);
  const opt = tf.train.adam(1e-3);
  const vars = variables(m);
  const b = makeBatch(texts, cfg.contextLength);
  lmStep(opt, vars, () => nllLoss(m, batchTensors(b))); // creates Adam's slots
  const before = tf.memory().numTensors;
  const l1 = lmStep(opt, vars, () => nllLoss(m, batchTensors(b)));
  assert.equal(tf.memory().numTensors, before);
  const l2 = lmStep(opt, vars, () => nllLoss(m, batchTensors(b)));
  assert.ok(l2 < l1, 'loss falls on a repeated batch');
  generate(m, ['Call', 'x'], { maxNewTokens: 15, strategy: 'sample', topK: 5, temperature: 0.8 });
  assert.equal(tf.memory().numTensors, before);
  opt.dispose();
  disposeModel(m);
});

test('hand-written gradients of GELU and the attention core equal autodiff of their expressions (cpu, ≤ 1e-5)', async () => {
  await tf.setBackend('cpu');
  tf.tidy(() => {
    const rng = new Rng(4);
    const host = (shape: number[]) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * 2), shape);
    const plainGelu = (x: tf.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI))), 1));
    const x = host([3, 7]);
    const w = host([3, 7]);
    const [gCustom] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(gelu(a), w)))([x]);
    const [gPlain] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(plainGelu(a), w)))([x]);
    assert.ok(maxAbsDiff(gCustom.dataSync() as Float32Array, gPlain.dataSync() as Float32Array) <= 1e-5);
    assert.ok(maxAbsDiff(gelu(x).dataSync() as Float32Array, plainGelu(x).dataSync() as Float32Array) <= 1e-6);
    // attention with a cached prefix: T = 3 queries over S = 5 keys
    const [q, k, v] = [host([2, 2, 3, 4]), host([2, 2, 5, 4]), host([2, 2, 5, 4])];
    const mask = tf.slice(causalMask(5), [2, 0], [3, 5]) as tf.Tensor2D;
    const r = host([2, 2, 3, 4]);
    const plain = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.matMul(tf.softmax(tf.add(tf.mul(tf.matMul(a, b, false, true), 0.5), mask)), c);
    const gc = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(attentionCore(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, mask), r)))([q, k, v]);
    const gp = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(plain(a, b, c), r)))([q, k, v]);
    gc.forEach((g, i) => assert.ok(maxAbsDiff(g.dataSync() as Float32Array, gp[i].dataSync() as Float32Array) <= 1e-5, `input ${i}`));
  });
  await initEngine('wasm');
});

test('cached forward: prefix then one token at a time equals the full forward (≤ 1e-4)', async () => {
  await initEngine('wasm');
  const m = initModel(cfg, 5);
  const seq = [BOS, ...encode('Call me Ish')]; // 12 = the context length
  const full = tf.tidy(() => Float32Array.from(forward(m, tf.tensor2d([seq, seq.slice().reverse()], [2, 12], 'int32')).dataSync()));
  const rows = [seq, seq.slice().reverse()];
  let r = forwardCached(m, tf.tensor2d(rows.map((x) => x.slice(0, 5)).flat(), [2, 5], 'int32'));
  const parts: Float32Array[] = [Float32Array.from(r.logits.dataSync())];
  for (let t = 5; t < 12; t++) {
    const next = forwardCached(m, tf.tensor2d(rows.map((x) => x[t]), [2, 1], 'int32'), r.cache);
    r.logits.dispose();
    disposeKvCache(r.cache);
    r = next;
    parts.push(Float32Array.from(r.logits.dataSync()));
  }
  r.logits.dispose();
  disposeKvCache(r.cache);
  // reassemble [2, 12, V] from [2, 5, V] + 7 × [2, 1, V]
  const V = cfg.vocabSize;
  const inc = new Float32Array(2 * 12 * V);
  for (let b = 0; b < 2; b++) {
    inc.set(parts[0].subarray(b * 5 * V, (b + 1) * 5 * V), b * 12 * V);
    for (let t = 5; t < 12; t++) inc.set(parts[t - 4].subarray(b * V, (b + 1) * V), (b * 12 + t) * V);
  }
  assert.ok(maxAbsDiff(inc, full) <= 1e-4, `max abs diff ${maxAbsDiff(inc, full)}`);
  assert.throws(() => tf.tidy(() => forwardCached(m, tf.tensor2d([[1]], [1, 1], 'int32'), { layers: [], length: 12 }).logits), (e) => isUnlearnError(e, 'SHAPE_MISMATCH'));
  disposeModel(m);
});

test('greedy generation with the key/value cache equals recomputing every step, also past the context', async () => {
  await initEngine('wasm');
  const m = initModel(cfg, 9);
  const prompt = [BOS, ...encode('whale')];
  const naive = [...prompt];
  for (let s = 0; s < 15; s++) {
    const win = naive.slice(-cfg.contextLength);
    const row = tf.tidy(() => Float32Array.from(tf.slice(forward(m, tf.tensor2d([win], [1, win.length], 'int32')), [0, win.length - 1, 0], [1, 1, cfg.vocabSize]).dataSync()));
    let best = 0;
    for (let i = 1; i < 256; i++) if (row[i] > row[best]) best = i;
    naive.push(best);
  }
  const before = tf.memory().numTensors;
  assert.deepEqual(continueTokens(m, [prompt], { maxNewTokens: 15 })[0], naive.slice(prompt.length));
  assert.equal(tf.memory().numTensors, before);
  disposeModel(m);
});

test('greedy decoding is deterministic; top-k=1 sampling equals greedy', async () => {
  await initEngine('wasm');
  const m = initModel(cfg, 5);
  const seq = [[BOS, ...encode('Call me')]];
  const g = continueTokens(m, seq, { maxNewTokens: 8 });
  assert.deepEqual(continueTokens(m, seq, { maxNewTokens: 8 }), g);
  assert.deepEqual(continueTokens(m, seq, { maxNewTokens: 8, strategy: 'sample', topK: 1, seed: 3 }), g);
  disposeModel(m);
});

test('save/load round-trip keeps weights and hash; a flipped byte is MODEL_CORRUPT', async () => {
  await initEngine('wasm');
  const dir = mkdtempSync(join(tmpdir(), 'lm-io-'));
  try {
    const m = initModel(cfg, 9);
    assert.equal(numParams(cfg), variables(m).reduce((s, v) => s + v.size, 0));
    const man = await saveLm(join(dir, 'm'), m, {
      format: 'unlearn-lm/1', config: cfg, corpus: { name: 'lm-corpus', options: {} as never, fingerprint: 'x' },
      lineage: { sources: [], numPassages: 0, passageIdsSha256: '' }, recipe: {} as never, seed: 9, parent: null,
      method: { id: 'train', guarantee: 'none', params: {} }, timings: { wallSeconds: 0 }, metrics: {}, backend: 'wasm', createdAt: '',
    });
    assert.equal(man.modelHash, lmHash(m));
    const back = await loadLm(join(dir, 'm'));
    assert.equal(lmHash(back.model), man.modelHash);
    assert.equal(back.tokenizer.kind, 'byte-level');
    const w = join(dir, 'm', 'weights.bin');
    const buf = readFileSync(w);
    buf[10] ^= 0xff;
    writeFileSync(w, buf);
    await assert.rejects(loadLm(join(dir, 'm')), (e) => isUnlearnError(e, 'MODEL_CORRUPT'));
    await assert.rejects(loadLm(join(dir, 'nope')), (e) => isUnlearnError(e, 'MODEL_MISSING'));
    disposeModel(m);
    disposeModel(back.model);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
