import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initEngine } from '../engine/backend.js';
import { smallDigits } from '../testing/fixtures.js';
import { fitFromScratch, specFor } from '../train/fit.js';
import type { ForgetSet } from '../data/forgetSet.js';
import { evaluateModel } from './evaluate.js';
import { subset } from '../data/dataset.js';
import { Rng } from '../engine/rng.js';

before(async () => {
  await initEngine('wasm');
});

test('the loss MIA finds membership on an overfit model and none on examples it never saw', async () => {
  // A model trained (to overfitting) on a random half of 600 train examples; the other half is never seen.
  const split = await smallDigits(600, 300);
  const perm = new Rng(9).permutation(600);
  const inIdx = perm.slice(0, 300).sort();
  const outIdx = perm.slice(300).sort();
  const fit = await fitFromScratch({ ...split, train: subset(split.train, inIdx) }, specFor(split, 'mlp', { hidden: [128] }), { epochs: 40, batchSize: 32, learningRate: 2e-3, seed: 0 }, { quiet: true });
  const members: ForgetSet = { forgetIdx: inIdx, retainIdx: outIdx, forgetIds: [], subjects: [] };
  const ev = evaluateModel(fit.model, split, members, 0);
  assert.ok(ev.FA > 0.99 && ev.TA < ev.FA - 0.05, `overfit: train accuracy ${ev.FA}, TA ${ev.TA}`);
  assert.ok(ev.mia.auc > 0.65, `MIA AUC, members vs test: ${ev.mia.auc}`);
  const nonMembers: ForgetSet = { forgetIdx: outIdx, retainIdx: inIdx, forgetIds: [], subjects: [] };
  const ev2 = evaluateModel(fit.model, split, nonMembers, 0);
  assert.ok(Math.abs(ev2.mia.auc - 0.5) < 0.1, `MIA AUC, never-seen train examples vs test: ${ev2.mia.auc}`);
});
