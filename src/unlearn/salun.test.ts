import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initEngine } from '../engine/backend.js';
import { weightsToHost } from '../models/build.js';
import { hashInMemory, type StoredModel } from '../models/io.js';
import { smallDigits } from '../testing/fixtures.js';
import { fitFromScratch, specFor } from '../train/fit.js';
import { selectForgetSet, unlearn } from './index.js';
import { forgetGradient, saliencyMask } from './salun.js';

test('saliencyMask keeps exactly the top-k% largest |gradient| entries, one global ranking', () => {
  const g = [Float32Array.from([0.1, -5, 0.3]), Float32Array.from([2, -0.2, 0, 4, -3])];
  // |g| ranked: 5, 4, 3, 2, 0.3, 0.2, 0.1, 0 → the top half (4 of 8) are −5, 4, −3, 2.
  assert.deepEqual(saliencyMask(g, 0.5).map((m) => [...m]), [[0, 1, 0], [1, 0, 0, 1, 1]]);
  // ⌈0.3·8⌉ = 3 kept: −5, 4, −3. A fraction of 1 keeps everything.
  assert.deepEqual(saliencyMask(g, 0.3).map((m) => [...m]), [[0, 1, 0], [0, 0, 0, 1, 1]]);
  assert.deepEqual(saliencyMask(g, 1).flatMap((m) => [...m]), [1, 1, 1, 1, 1, 1, 1, 1]);
});

let original: StoredModel;
let split: Awaited<ReturnType<typeof smallDigits>>;

before(async () => {
  await initEngine('wasm');
  split = await smallDigits(400, 100);
  const fit = await fitFromScratch(split, specFor(split, 'mlp', { hidden: [16] }), { epochs: 2, batchSize: 64, seed: 3 }, { quiet: true });
  original = { model: fit.model, manifest: { ...fit.manifest, files: {} as never, modelHash: await hashInMemory(fit.model) } };
});

test('salun on a real model: masked-in weights have the largest forget gradients, and only they change', async () => {
  const forget = selectForgetSet(split.train, original.manifest.lineage.trainIds, { randomFraction: 0.05 }, { seed: 1 });
  const grads = forgetGradient(original.model, split.train, forget.forgetIdx, 64);
  const masks = saliencyMask(grads, 0.2);
  const inside: number[] = [];
  const outside: number[] = [];
  grads.forEach((g, i) => g.forEach((v, k) => (masks[i][k] ? inside : outside).push(Math.abs(v))));
  assert.equal(inside.length, Math.ceil(0.2 * (inside.length + outside.length)));
  assert.ok(Math.min(...inside) >= Math.max(...outside), 'every salient weight has a larger |∇| than every other weight');
  assert.ok(Math.max(...outside) > 0, 'the forget gradient is not trivially zero');
  const res = await unlearn(original, split, forget, 'salun', { maskFraction: 0.2, epochs: 1 }, { quiet: true });
  const before = weightsToHost(original.model);
  const after = weightsToHost(res.model);
  let changed = 0;
  before.forEach((w, i) => w.forEach((v, k) => {
    if (!masks[i][k]) assert.equal(after[i][k], v, 'a non-salient weight keeps θ_o’s value exactly');
    else if (after[i][k] !== v) changed++;
  }));
  assert.ok(changed > inside.length / 2, `most salient weights moved (${changed} of ${inside.length})`);
  assert.equal(res.manifest.method.params.maskFraction, 0.2);
});
