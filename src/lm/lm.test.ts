/**
 * End-to-end on the `tiny` model (one training run shared by the tests of this file): the loss
 * falls below a stated bound on a fixed seed, and every unlearning method lowers the verbatim
 * memorisation of the forget source.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../engine/backend.js';
import { isUnlearnError } from '../errors.js';
import { verbMem } from './audit/verbmem.js';
import { listLmMethods } from './methods/index.js';
import { disposeModel } from './model.js';
import { lmHash } from './io.js';
import { lmForget, lmRetrainWorkflow, lmTrainWorkflow } from './workflows.js';

const SOURCE = 'moby-dick';
let trained: Awaited<ReturnType<typeof lmTrainWorkflow>>;
let firstLoss = 0;

before(async () => {
  await initEngine('wasm');
  trained = await lmTrainWorkflow({
    config: 'tiny',
    corpus: { sources: ['moby-dick', 'sotu/abraham-lincoln', 'sotu/george-washington'], maxPassagesPerSource: 30 },
    recipe: { steps: 250, batchSize: 16, learningRate: 3e-3, seed: 0 },
    backend: 'wasm',
  });
  firstLoss = trained.manifest.metrics.lossFirst as number;
});

test('tiny: training loss falls from ln(257) ≈ 5.55 to below 2.0 nats/byte in 250 steps (seed 0)', () => {
  assert.ok(firstLoss > 5.3, `first loss ${firstLoss}`);
  const last = trained.manifest.metrics.finalLoss as number;
  assert.ok(last < 2.0, `final loss ${last}`);
});

test('tiny: every method lowers VerbMem of the forget source', async () => {
  const forgetDocs = trained.corpus.train.filter((d) => d.source === SOURCE);
  const base = verbMem(trained.model, forgetDocs, { maxPassages: 24 }).mean;
  // The tiny model reproduces little verbatim after 250 steps (a few hundredths of ROUGE-L F1 on
  // seed 0, vs 0 for an untrained model); every method must still push it lower.
  assert.ok(base > 0.02, `original VerbMem ${base}`);
  const small = { steps: 10, batchSize: 16 };
  for (const m of listLmMethods()) {
    if (m.id === 'retrain') continue; // the reference: a full training run, exercised by the bench and the CLI
    // SimNPO's paper default β = 2.5 weights the forget term by 2σ(−β·NLL) ≈ 0.05 at the tiny
    // model's ≈ 1.5 nats/byte (token-level LLMs sit far lower), so in 10 steps the retain term
    // wins; β = 0.5 gives the forget term a weight ≈ 0.6.
    // RMU's paper constants (α = 1200 on the retain MSE) hold `tiny` in place for 10 steps (the
    // bench's finding); α = 1 lets its forget term act, which is what this test checks.
    const params =
      m.id === 'generic-labels' ? { ...small, reinforceSteps: 10 } : m.id === 'simnpo' ? { ...small, beta: 0.5 } : m.id === 'rmu' ? { ...small, alpha: 1 } : small;
    const before = tf.memory().numTensors;
    const r = await lmForget({ model: trained.model, manifest: trained.manifest, corpus: trained.corpus, source: SOURCE, method: m.id, params });
    const vm = verbMem(r.model, forgetDocs, { maxPassages: 24 }).mean;
    assert.ok(vm < base, `${m.id}: VerbMem ${vm} not below the original's ${base}`);
    assert.deepEqual(r.manifest.removed?.sources, [SOURCE]);
    if (m.id === 'generic-labels') {
      assert.match(r.notes.join(' '), /anchor-translated passages/);
      assert.deepEqual(r.manifest.metrics.notes, r.notes);
    }
    assert.ok(!r.manifest.lineage.sources.includes(SOURCE));
    disposeModel(r.model);
    assert.equal(tf.memory().numTensors, before, `${m.id} leaks tensors`);
  }
});

test('forgetting a source outside the lineage is SUBJECT_NOT_FOUND; bad params INVALID_PARAMS', async () => {
  await assert.rejects(lmForget({ model: trained.model, manifest: trained.manifest, corpus: trained.corpus, source: 'sotu/barack-obama', method: 'npo' }), (e) => isUnlearnError(e, 'SUBJECT_NOT_FOUND'));
  await assert.rejects(lmForget({ model: trained.model, manifest: trained.manifest, corpus: trained.corpus, source: SOURCE, method: 'npo', params: { beta: -1 } }), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
  await assert.rejects(lmForget({ model: trained.model, manifest: trained.manifest, corpus: trained.corpus, source: SOURCE, method: 'nope' }), (e) => isUnlearnError(e, 'UNKNOWN_METHOD'));
});

test('retraining from the training configuration equals retrain from the original (same weights)', async () => {
  const setup = { config: 'tiny', corpus: { sources: ['moby-dick', 'sotu/george-washington'], maxPassagesPerSource: 12 }, recipe: { steps: 4, batchSize: 4, seed: 3 } };
  const orig = await lmTrainWorkflow({ ...setup, backend: 'wasm' });
  const viaOriginal = await lmForget({ model: orig.model, manifest: orig.manifest, corpus: orig.corpus, source: SOURCE, method: 'retrain' });
  const direct = await lmRetrainWorkflow({ ...setup, source: SOURCE });
  assert.equal(lmHash(direct.model), lmHash(viaOriginal.model));
  assert.equal(direct.manifest.parent, null);
  assert.deepEqual(direct.manifest.lineage, viaOriginal.manifest.lineage);
  assert.deepEqual(direct.manifest.removed, viaOriginal.manifest.removed);
  for (const m of [orig.model, viaOriginal.model, direct.model]) disposeModel(m);
});
