/**
 * The audits on a trained `tiny` model (one training run for the file): int8 round-trip keeps the
 * perplexity within 1%, the quantised audit rows, the membership statistics' loss AUC equals the
 * loss attack's, the sequential audit records one row per step, and the scale audit one row per set.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../engine/backend.js';
import { disposeModel, type LanguageModel } from '../model.js';
import { scoreDocs } from '../train.js';
import { defaultProbes, lmForget, lmTrainWorkflow } from '../workflows.js';
import { auditLm } from './index.js';
import { MIA_STATS, membershipAucs } from './membership.js';
import { lossAttackAuc } from './privleak.js';
import { quantizeModel } from './quantize.js';
import { forgetSets, scaleAudit } from './scale.js';
import { sequentialAudit } from './sustainability.js';

const SOURCES = ['moby-dick', 'sotu/abraham-lincoln', 'sotu/george-washington', 'sotu/barack-obama'];
let trained: Awaited<ReturnType<typeof lmTrainWorkflow>>;
const light = { verbPassages: 6, skipRelearn: true, quantBits: [] as number[] };

before(async () => {
  await initEngine('wasm');
  trained = await lmTrainWorkflow({ config: 'tiny', corpus: { sources: SOURCES, maxPassagesPerSource: 20 }, recipe: { steps: 100, batchSize: 16, learningRate: 3e-3, seed: 0 }, backend: 'wasm' });
});

test("int8 round-trip keeps tiny's perplexity within 1%; 4-bit stays within the error bound", () => {
  const texts = trained.corpus.heldOut.map((d) => d.text);
  const full = scoreDocs(trained.model, texts).perplexity;
  for (const bits of [8, 4]) {
    const q = quantizeModel(trained.model, bits);
    try {
      const ppl = scoreDocs(q.model, texts).perplexity;
      assert.ok(q.report.maxErrorOverBound <= 1 + 1e-4, `${bits}-bit error/bound ${q.report.maxErrorOverBound}`);
      assert.equal(q.report.matrices, 2 + 4 * trained.model.config.nLayers);
      if (bits === 8) assert.ok(Math.abs(ppl / full - 1) <= 0.01, `int8 perplexity ${ppl} vs ${full}`);
      else assert.ok(ppl !== full, '4-bit changes the model');
    } finally {
      disposeModel(q.model);
    }
  }
});

test('membership statistics: the loss AUC equals the loss attack; every AUC in [0, 1]; the trained model separates members', () => {
  const members = trained.corpus.train.filter((d) => d.source === 'moby-dick');
  const non = trained.corpus.heldOut.filter((d) => d.source === 'moby-dick');
  const a = membershipAucs(trained.model, members, non);
  assert.ok(Math.abs(a.loss - lossAttackAuc(trained.model, members, non)) < 1e-9, `${a.loss}`);
  for (const s of MIA_STATS) assert.ok(a[s] >= 0 && a[s] <= 1, `${s} ${a[s]}`);
});

test('auditLm over two sources: union of forget passages, quantised rows, PrivLeak of every statistic against a reference', () => {
  const n0 = tf.memory().numTensors;
  const a = auditLm(trained.model, trained.corpus, ['moby-dick', 'sotu/abraham-lincoln'], defaultProbes(), { verbPassages: 6, skipRelearn: true, quantBits: [8, 4] }, { loss: 0.5, zlib: 0.5, minK: 0.5, minKpp: 0.5 });
  assert.equal(tf.memory().numTensors, n0, 'the quantised copies are disposed');
  assert.equal(a.source, 'moby-dick + sotu/abraham-lincoln');
  assert.equal(a.forget.mia.members, trained.corpus.train.filter((d) => a.sources.includes(d.source)).length);
  assert.equal(a.forget.knowledge.probes, defaultProbes().filter((p) => a.sources.includes(p.source)).length);
  assert.deepEqual(a.quantized?.map((q) => q.bits), [8, 4]);
  for (const s of MIA_STATS) assert.ok(Math.abs(a.forget.privLeakByStat![s] - (a.forget.mia.byStat[s] - 0.5) / 0.5) < 1e-12);
  assert.equal(a.forget.privLeak, a.forget.privLeakByStat!.loss);
});

test('sequential audit: three requests one after another, one row per step, utility on what is left', async () => {
  let manifest = trained.manifest;
  const disposed: LanguageModel[] = [];
  const rows = await sequentialAudit({
    model: trained.model,
    sources: SOURCES.slice(0, 3),
    forget: async (model, source) => {
      const r = await lmForget({ model, manifest, corpus: trained.corpus, source, method: 'gradient-difference', params: { steps: 2, batchSize: 4 } });
      manifest = r.manifest as typeof manifest;
      return r;
    },
    audit: (m, removed) => auditLm(m, trained.corpus, removed, defaultProbes(), light),
    dispose: (m) => (disposed.push(m), disposeModel(m)),
  });
  assert.deepEqual(rows.map((r) => r.step), [1, 2, 3]);
  assert.deepEqual(rows.map((r) => r.removed.length), [1, 2, 3]);
  assert.deepEqual(rows[2].removed, SOURCES.slice(0, 3));
  assert.deepEqual(manifest.removed?.sources, SOURCES.slice(0, 3), 'each step starts from the previous one');
  assert.equal(disposed.length, 3);
  assert.ok(!disposed.includes(trained.model));
  for (const r of rows) assert.ok(Number.isFinite(r.audit.retained.perplexity) && r.audit.forget.mia.members > 0);
  // the audited forget set grows with every request
  assert.ok(rows[0].audit.forget.mia.members < rows[2].audit.forget.mia.members);
});

test('scale audit: forget sets of 1, 2 and 4 sources, one row per set', async () => {
  assert.deepEqual(forgetSets(['a', 'b', 'c', 'd', 'e']), [['a'], ['a', 'b'], ['a', 'b', 'c', 'd']]);
  assert.deepEqual(forgetSets(['a', 'b', 'c']), [['a'], ['a', 'b']]);
  const sets = forgetSets(SOURCES, [1, 2]);
  const rows = await scaleAudit({
    sets,
    forget: (s) => lmForget({ model: trained.model, manifest: trained.manifest, corpus: trained.corpus, source: s, method: 'gradient-ascent', params: { steps: 1, batchSize: 4 } }),
    audit: (m, s) => auditLm(m, trained.corpus, s, defaultProbes(), light),
    dispose: disposeModel,
  });
  assert.deepEqual(rows.map((r) => r.sources.length), [1, 2]);
  assert.deepEqual(rows[1].audit.sources, SOURCES.slice(0, 2));
});
