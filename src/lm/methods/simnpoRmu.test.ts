/**
 * SimNPO's and RMU's losses on hand-computed tensors, RMU's random direction and parameter
 * selection, and RMU end to end on a random `tiny` model (only the selected MLPs move).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../engine/backend.js';
import type { LmDocument } from '../data.js';
import { disposeModel, forward, initModel, layerNorm, lmConfig } from '../model.js';
import { parseLmParams } from './method.js';
import { randomUnitVector, residualAt, rmu, rmuLoss, rmuTrainable } from './rmu.js';
import { simnpoForgetLoss } from './simnpo.js';

before(async () => {
  await initEngine('wasm');
});

const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);
const scalar = (f: () => tf.Scalar) => {
  const t = tf.tidy(f);
  const v = t.dataSync()[0];
  t.dispose();
  return v;
};

test('SimNPO forget loss on hand-computed inputs', () => {
  // log-likelihoods −10 (5 tokens) and −2 (4 tokens), β = 2, γ = 0.5:
  // z = 2·(−10/5) + 0.5 = −3.5 and 2·(−2/4) + 0.5 = −0.5;
  // (2/β)·mean softplus(z) = (0.0297502 + 0.4740770)/2 = 0.2519137.
  close(scalar(() => simnpoForgetLoss(tf.tensor1d([-10, -2]), tf.tensor1d([5, 4]), 2, 0.5)), 0.2519137);
  // β = 0.5, γ = 0, one sequence of 3 tokens with log-likelihood −6: (2/0.5)·softplus(0.5·(−2)) = 4·0.3132617 = 1.2530468.
  close(scalar(() => simnpoForgetLoss(tf.tensor1d([-6]), tf.tensor1d([3]), 0.5, 0)), 1.2530468);
  // Length normalisation: doubling a sequence and its log-likelihood leaves the loss unchanged.
  close(scalar(() => simnpoForgetLoss(tf.tensor1d([-12]), tf.tensor1d([6]), 0.5, 0)), 1.2530468);
});

test('RMU loss on hand-computed tensors (padding excluded)', () => {
  // forget: h = [[1,2],[3,4]], second position padding; c·u = 5·(0.6, 0.8) = (3, 4);
  // position 0: ((1−3)² + (2−4)²)/2 = 4 → forget term 4.
  // retain: h = [[1,1],[0,0]] vs frozen [[0,1],[0,2]]: (1 + 0)/2 = 0.5 and (0 + 4)/2 = 2 → mean 1.25; α = 2 → 2.5.
  const v = scalar(() =>
    rmuLoss(
      tf.tensor3d([[[1, 2], [3, 4]]]), tf.tensor2d([[1, 0]]), tf.tensor1d([0.6, 0.8]), 5,
      tf.tensor3d([[[1, 1], [0, 0]]]), tf.tensor3d([[[0, 1], [0, 2]]]), tf.tensor2d([[1, 1]]), 2,
    ),
  );
  close(v, 6.5);
});

test('RMU direction: unit norm, non-negative (uniform draws), seeded', () => {
  const u = randomUnitVector(64, 3);
  close(Math.hypot(...u), 1, 1e-6);
  assert.ok(u.every((x) => x >= 0));
  assert.deepEqual(randomUnitVector(64, 3), u);
  assert.notDeepEqual(randomUnitVector(64, 4), u);
});

test('RMU updates the MLPs of blocks ℓ−2..ℓ only', () => {
  const sel = rmuTrainable(2, 3);
  for (const n of ['h0.mlp.w1', 'h1.mlp.b2', 'h2.mlp.w2']) assert.ok(sel(n), n);
  for (const n of ['h3.mlp.w1', 'h1.attn.wqkv', 'h2.ln2.g', 'wte', 'lnf.g']) assert.ok(!sel(n), n);
  assert.ok(rmuTrainable(0, 3)('h0.mlp.w1'));
});

test('residual stream after the last block, through the final LayerNorm and tied head, equals forward', () => {
  const m = initModel(lmConfig('tiny'), 5);
  try {
    const diff = scalar(() => {
      const tok = tf.tensor2d([[256, 72, 101, 108, 108, 111]], [1, 6], 'int32');
      const h = residualAt(m, tok, m.config.nLayers - 1);
      const logits = tf.matMul(tf.reshape(layerNorm(h, m.params.get('lnf.g')!, m.params.get('lnf.b')!), [6, 64]), m.params.get('wte')!, false, true);
      return tf.max(tf.abs(tf.sub(logits, tf.reshape(forward(m, tok), [6, -1])))) as tf.Scalar;
    });
    assert.ok(diff < 1e-4, `max diff ${diff}`);
  } finally {
    disposeModel(m);
  }
});

test('rmu on a random tiny model: θ_o unchanged, only block 0\'s MLP moves, no tensor leaks', async () => {
  const n0 = tf.memory().numTensors;
  const m = initModel(lmConfig('tiny'), 1);
  const doc = (source: string, i: number): LmDocument => ({ id: `${source}#${i}`, source, index: i, text: `${source} passage number ${i} with some words` });
  const before = new Map([...m.params].map(([k, v]) => [k, Array.from(v.dataSync())]));
  const r = await rmu.run(m, parseLmParams(rmu, { steps: 2, batchSize: 2 }) as never, { forget: [0, 1, 2].map((i) => doc('f', i)), retain: [0, 1, 2].map((i) => doc('r', i)), seed: 0 });
  try {
    assert.equal(r.details?.layer, 0);
    for (const [k, v] of m.params) assert.deepEqual(Array.from(v.dataSync()), before.get(k), `θ_o's ${k} changed`);
    for (const [k, v] of r.model.params) {
      const same = Array.from(v.dataSync()).every((x, i) => x === before.get(k)![i]);
      const moves = k === 'h0.mlp.w1' || k === 'h0.mlp.w2';
      if (moves) assert.ok(!same, `${k} did not move`);
      else if (!k.startsWith('h0.mlp.')) assert.ok(same, `${k} moved`);
    }
  } finally {
    disposeModel(r.model);
    disposeModel(m);
  }
  assert.equal(tf.memory().numTensors, n0, 'leaks');
});
