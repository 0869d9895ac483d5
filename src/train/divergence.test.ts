import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initEngine } from '../engine/backend.js';
import { isUnlearnError } from '../errors.js';
import { raCollapseWarning } from '../eval/collapse.js';
import { initModel, disposeModel, type LmConfig } from '../lm/model.js';
import { trainLm, parseRecipe } from '../lm/train.js';
import { VOCAB_SIZE } from '../lm/tokenizer.js';
import { buildModel } from '../models/build.js';
import { smallDigits } from '../testing/fixtures.js';
import { range } from './batches.js';
import { checkDivergence } from './divergence.js';
import { TrainRecipeSchema } from './recipe.js';
import { trainModel } from './train.js';

before(async () => {
  await initEngine('wasm');
});

const diverged = (e: unknown) => isUnlearnError(e, 'NUMERIC_ERROR') && /diverged/.test((e as Error).message) && /lower the learning rate/.test((e as { hint?: string }).hint ?? '');

test('defect 6: a classifier trained at learning rate 1e6 stops with NUMERIC_ERROR instead of being saved', async () => {
  const split = await smallDigits(300, 50);
  const spec = { kind: 'mlp' as const, inputShape: [784], numClasses: 10, hidden: [16], activation: 'relu' as const };
  const m = buildModel(spec, 1);
  await assert.rejects(trainModel(m, split.train, range(300), TrainRecipeSchema.parse({ epochs: 2, batchSize: 64, learningRate: 1e6, seed: 1 }), { quiet: true }), diverged);
  // A sane learning rate on the same data passes the check.
  const ok = await trainModel(buildModel(spec, 1), split.train, range(300), TrainRecipeSchema.parse({ epochs: 2, batchSize: 64, seed: 1 }), { quiet: true });
  assert.equal(ok.epochLosses.length, 2);
});

test('defect 6: a language model trained at learning rate 1e6 stops with NUMERIC_ERROR', () => {
  const cfg: LmConfig = { name: 'test', vocabSize: VOCAB_SIZE, contextLength: 12, dModel: 16, nLayers: 1, nHeads: 2, dMlp: 32, tiedHead: true };
  const m = initModel(cfg, 3);
  const docs = ['Call me Ishmael. Some years ago', 'Fellow-Citizens of the Senate', 'whale ship ahoy! there she blows'].map((text, i) => ({ id: `d${i}`, source: 's', index: i, text }));
  assert.throws(() => trainLm(m, docs, parseRecipe({ steps: 20, batchSize: 3, learningRate: 1e6 })), diverged);
  disposeModel(m);
});

test('defect 6: divergence bound and the retain-accuracy collapse warning', () => {
  assert.doesNotThrow(() => checkDivergence(2, 0.7, '', 'x'));
  assert.throws(() => checkDivergence(8, 0.7, 'at epoch 2', 'x'), (e: unknown) => isUnlearnError(e, 'NUMERIC_ERROR') && /at epoch 2/.test((e as Error).message));
  assert.throws(() => checkDivergence(Infinity, 0.7, '', 'x'), (e: unknown) => isUnlearnError(e, 'NUMERIC_ERROR'));
  assert.equal(raCollapseWarning('finetune', 0.95, 0.99), undefined);
  assert.match(raCollapseWarning('neggrad-plus', 0.68, 0.99) ?? '', /neggrad-plus collapsed the retain accuracy \(RA 68\.00% against the original's 99\.00%\)/);
});
