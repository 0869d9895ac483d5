/**
 * The contract every registered unlearning method keeps, classifier (src/unlearn registry) and
 * language model (src/lm/methods registry) alike. Registering a method is enough to put it under
 * this suite: it iterates the registries, it does not name methods.
 *
 * For each method, on a tiny model and data set:
 *  1. the input model's weight bytes are unchanged after the run;
 *  2. the same seed gives the same output bytes;
 *  3. the output differs from the input and the forget-set loss moves (no silent no-op);
 *  4. no tensor leaks (tf.memory().numTensors is back where it was once the output is disposed);
 *  5. the manifest records params with defaults filled, the seed, input and output hashes, times;
 *  6. an empty forget set and a forget set equal to the whole training set give INVALID_PARAMS;
 *  7. params outside the schema (an unknown key, a wrong type) give INVALID_PARAMS.
 * Runs use a small params overlay (`FAST`: fewer epochs/steps) where a method's schema has those keys.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { initEngine } from '../engine/backend.js';
import { isUnlearnError } from '../errors.js';
import { hashInMemory, saveModel, type StoredModel } from '../models/io.js';
import { smallDigits } from '../testing/fixtures.js';
import { fitFromScratch, specFor } from '../train/fit.js';
import { predict } from '../train/predict.js';
import { lmHash } from '../lm/io.js';
import { listLmMethods } from '../lm/methods/index.js';
import { LM_CONFIGS, disposeModel, type LanguageModel } from '../lm/model.js';
import { batchTensors as lmBatchTensors, makeBatch, nllLoss } from '../lm/train.js';
import { lmForget, lmTrainWorkflow } from '../lm/workflows.js';
import type { DataSplit } from '../data/dataset.js';
import { listMethods, selectForgetSet, unlearn, type ForgetSet } from './index.js';

/** Small-run overrides, applied only to the keys a method's schema has. */
const FAST: Record<string, unknown> = { epochs: 1, msteps: 1, steps: 3, batchSize: 8 };

/** `FAST` restricted to the schema's keys (all of it when the schema is not an object). */
function fastParams(schema: z.ZodType<unknown>): Record<string, unknown> {
  const shape = unwrapObject(schema)?.shape as Record<string, unknown> | undefined;
  return shape ? Object.fromEntries(Object.entries(FAST).filter(([k]) => k in shape)) : {};
}

function unwrapObject(s: z.ZodType<unknown>): z.ZodObject<z.ZodRawShape> | undefined {
  let t: unknown = s;
  for (let i = 0; i < 5 && t; i++) {
    if (t instanceof z.ZodObject) return t;
    const def = (t as { _def?: { innerType?: unknown; schema?: unknown; in?: unknown } })._def;
    t = def?.innerType ?? def?.schema ?? def?.in;
  }
  return undefined;
}

/** Params outside the schema: an unknown key; and, when the schema has keys, the first one with a string value. */
function badParams(schema: z.ZodType<unknown>): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [{ notAParam: 1 }];
  const first = Object.keys(unwrapObject(schema)?.shape ?? {})[0];
  if (first) out.push({ [first]: 'not-a-valid-value' });
  return out;
}

/** The manifest's params are complete: re-parsing them adds nothing, and every default is present. */
function assertDefaultsFilled(schema: z.ZodType<unknown>, recorded: Record<string, unknown>, given: Record<string, unknown>, id: string) {
  assert.deepEqual(schema.parse(recorded), recorded, `${id}: recorded params are already complete`);
  for (const k of Object.keys(schema.parse(given) as object)) assert.ok(k in recorded, `${id}: default of ${k} is recorded`);
}

const invalid = (e: unknown) => isUnlearnError(e, 'INVALID_PARAMS');

describe('classifier methods', () => {
  let split: DataSplit;
  let original: StoredModel;
  let forget: ForgetSet;
  let dir: string;
  const meanForgetLoss = (m: StoredModel['model']) => predict(m, split.train, forget.forgetIdx).loss.reduce((a, b) => a + b, 0) / forget.forgetIdx.length;

  before(async () => {
    await initEngine('wasm');
    dir = await mkdtemp(join(tmpdir(), 'unlearn-conformance-'));
    split = await smallDigits(300, 100);
    const fit = await fitFromScratch(split, specFor(split, 'mlp', { hidden: [16] }), { epochs: 3, batchSize: 32, seed: 1 }, { quiet: true });
    original = { model: fit.model, manifest: await saveModel(join(dir, 'original'), fit.model, fit.manifest) };
    forget = selectForgetSet(split.train, original.manifest.lineage.trainIds, { randomFraction: 0.1 }, { seed: 4 });
  });
  after(async () => {
    original.model.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  test('the registry holds the classifier methods', () => assert.ok(listMethods().length >= 11, listMethods().map((m) => m.id).join(', ')));

  for (const method of listMethods()) {
    test(`${method.id}: keeps the method contract`, async () => {
      const params = fastParams(method.paramsSchema);
      const inputHash = await hashInMemory(original.model);
      const lossBefore = meanForgetLoss(original.model);
      const tensorsBefore = tf.memory().numTensors;
      const a = await unlearn(original, split, forget, method.id, params, { quiet: true, seed: 9 });
      assert.equal(await hashInMemory(original.model), inputHash, 'the input model is not mutated');
      const b = await unlearn(original, split, forget, method.id, params, { quiet: true, seed: 9 });
      const hashA = await hashInMemory(a.model);
      assert.equal(await hashInMemory(b.model), hashA, 'same seed, same output bytes');
      b.model.dispose();
      assert.notEqual(hashA, inputHash, 'the output differs from the input');
      const lossAfter = meanForgetLoss(a.model);
      assert.ok(Math.abs(lossAfter - lossBefore) > 1e-3, `the forget-set loss moves (${lossBefore} → ${lossAfter} nats)`);
      const saved = await saveModel(join(dir, method.id), a.model, a.manifest);
      a.model.dispose();
      assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor leaks');
      // Manifest: params with defaults, seed, input/output hashes, times.
      assertDefaultsFilled(method.paramsSchema, saved.method.params, params, method.id);
      assert.equal(saved.method.id, method.id);
      assert.equal(saved.seed, 9);
      assert.equal(saved.parent, inputHash);
      assert.equal((saved.extra as { inputModelHash?: string }).inputModelHash, inputHash);
      assert.equal(saved.modelHash, hashA);
      assert.ok(saved.timings.wallSeconds > 0 && Number.isFinite(saved.timings.wallSeconds));
      assert.ok(!Number.isNaN(Date.parse(saved.createdAt)));
      // Degenerate forget sets and bad params: clear errors, nothing runs.
      const all = Int32Array.from(forget.retainIdx.length ? [...forget.retainIdx, ...forget.forgetIdx] : []).sort();
      const empty: ForgetSet = { forgetIdx: new Int32Array(0), retainIdx: all, forgetIds: [], subjects: [] };
      const whole: ForgetSet = { forgetIdx: all, retainIdx: new Int32Array(0), forgetIds: Array.from(all, (i) => split.train.ids[i]), subjects: [] };
      await assert.rejects(unlearn(original, split, empty, method.id, params, { quiet: true }), invalid, 'empty forget set');
      await assert.rejects(unlearn(original, split, whole, method.id, params, { quiet: true }), invalid, 'forget set = whole training set');
      for (const bad of badParams(method.paramsSchema)) await assert.rejects(unlearn(original, split, forget, method.id, { ...params, ...bad }, { quiet: true }), invalid, JSON.stringify(bad));
    });
  }
});

describe('language-model methods', () => {
  const SOURCE = 'moby-dick';
  const config = { ...LM_CONFIGS.tiny, name: 'conformance', contextLength: 32, dModel: 16, nLayers: 1, nHeads: 2, dMlp: 32 };
  let trained: Awaited<ReturnType<typeof lmTrainWorkflow>>;
  let dir: string;
  const forgetLoss = (m: LanguageModel) => {
    const texts = trained.corpus.train.filter((d) => d.source === SOURCE).map((d) => d.text);
    return tf.tidy(() => nllLoss(m, lmBatchTensors(makeBatch(texts, config.contextLength))).dataSync()[0]);
  };

  before(async () => {
    await initEngine('wasm');
    dir = await mkdtemp(join(tmpdir(), 'unlearn-conformance-lm-'));
    trained = await lmTrainWorkflow({
      config,
      corpus: { sources: [SOURCE, 'sotu/george-washington'], maxPassagesPerSource: 8 },
      recipe: { steps: 6, batchSize: 4, seed: 2 },
      backend: 'wasm',
      out: join(dir, 'original'),
    });
  });
  after(async () => {
    disposeModel(trained.model);
    await rm(dir, { recursive: true, force: true });
  });

  test('the registry holds the language-model methods', () => assert.ok(listLmMethods().length >= 6, listLmMethods().map((m) => m.id).join(', ')));

  for (const method of listLmMethods()) {
    test(`${method.id}: keeps the method contract`, async () => {
      const params = fastParams(method.paramsSchema);
      const inputHash = lmHash(trained.model);
      const lossBefore = forgetLoss(trained.model);
      const tensorsBefore = tf.memory().numTensors;
      const run = (out?: string) => lmForget({ model: trained.model, manifest: trained.manifest, corpus: trained.corpus, source: SOURCE, method: method.id, params, seed: 9, out });
      const a = await run(join(dir, method.id));
      assert.equal(lmHash(trained.model), inputHash, 'the input model is not mutated');
      const b = await run();
      const hashA = lmHash(a.model);
      assert.equal(lmHash(b.model), hashA, 'same seed, same output bytes');
      disposeModel(b.model);
      assert.notEqual(hashA, inputHash, 'the output differs from the input');
      const lossAfter = forgetLoss(a.model);
      assert.ok(Math.abs(lossAfter - lossBefore) > 1e-3, `the forget-set loss moves (${lossBefore} → ${lossAfter} nats/byte)`);
      disposeModel(a.model);
      assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor leaks');
      const m = a.manifest;
      const given = method.id === 'retrain' ? { ...trained.manifest.recipe, ...params } : params;
      assertDefaultsFilled(method.paramsSchema, m.method.params, given, method.id);
      assert.equal(m.method.id, method.id);
      assert.equal(m.seed, 9);
      assert.equal(m.parent, inputHash);
      assert.equal(m.modelHash, hashA);
      assert.ok(m.timings.wallSeconds > 0);
      assert.ok(!Number.isNaN(Date.parse(m.createdAt)));
      // Degenerate forget sets: a source without passages, and a source that is all the training data.
      const noPassages = { ...trained.corpus, train: trained.corpus.train.filter((d) => d.source !== SOURCE) };
      await assert.rejects(lmForget({ model: trained.model, manifest: trained.manifest, corpus: noPassages, source: SOURCE, method: method.id, params }), invalid, 'empty forget set');
      const onlySource = { ...trained.manifest, lineage: { ...trained.manifest.lineage, sources: [SOURCE] } };
      const onlyCorpus = { ...trained.corpus, train: trained.corpus.train.filter((d) => d.source === SOURCE) };
      await assert.rejects(lmForget({ model: trained.model, manifest: onlySource, corpus: onlyCorpus, source: SOURCE, method: method.id, params }), invalid, 'forget set = whole training set');
      for (const bad of badParams(method.paramsSchema)) await assert.rejects(lmForget({ model: trained.model, manifest: trained.manifest, corpus: trained.corpus, source: SOURCE, method: method.id, params: { ...params, ...bad } }), invalid, JSON.stringify(bad));
    });
  }
});
