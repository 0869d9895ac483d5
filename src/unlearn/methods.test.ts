import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { subset } from '../data/dataset.js';
import { initEngine } from '../engine/backend.js';
import { isUnlearnError, type UnlearnError } from '../errors.js';
import { buildModel, weightsToHost } from '../models/build.js';
import { hashInMemory, type StoredModel } from '../models/io.js';
import { smallDigits } from '../testing/fixtures.js';
import { range } from '../train/batches.js';
import { fitFromScratch, specFor } from '../train/fit.js';
import { accuracyOf, predict } from '../train/predict.js';
import { trainModel } from '../train/train.js';
import { getMethod, listMethods, registerMethod, selectForgetSet, unlearn } from './index.js';
import { retrain } from './retrain.js';

let original: StoredModel;
/** Forget and retain accuracy (the metrics layer is not imported here: methods and metrics stay independent). */
const accuracies = (m: StoredModel['model'], f: { forgetIdx: Int32Array; retainIdx: Int32Array }) => ({ FA: accuracyOf(predict(m, split.train, f.forgetIdx)), RA: accuracyOf(predict(m, split.train, f.retainIdx)) });
let split: Awaited<ReturnType<typeof smallDigits>>;

before(async () => {
  await initEngine('wasm');
  split = await smallDigits(1500, 500);
  const fit = await fitFromScratch(split, specFor(split, 'mlp', { hidden: [32] }), { epochs: 5, batchSize: 64, seed: 1 }, { quiet: true });
  original = { model: fit.model, manifest: { ...fit.manifest, files: {} as never, modelHash: await hashInMemory(fit.model) } };
});

test('registry: the built-in methods with their guarantees; unknown ids and duplicates fail', () => {
  assert.deepEqual(
    listMethods().map((m) => [m.id, m.guarantee]),
    [['retrain', 'exact'], ...['finetune', 'neggrad-plus', 'scrub', 'scrub-r', 'random-label', 'salun', 'ssd', 'l1-sparse', 'bad-teacher', 'reset-distil'].map((id) => [id, 'approximate'])],
  );
  assert.throws(() => getMethod('nope'), (e) => isUnlearnError(e, 'UNKNOWN_METHOD') && /scrub/.test((e as UnlearnError).hint ?? ''));
  assert.throws(() => registerMethod(retrain), (e) => isUnlearnError(e, 'DUPLICATE_ID'));
});

test('invalid params are rejected before anything runs', async () => {
  await assert.rejects(unlearn(original, split, { classes: [3] }, 'neggrad-plus', { alpha: 2 }), (e) => isUnlearnError(e, 'INVALID_PARAMS') && /alpha/.test((e as Error).message));
  await assert.rejects(unlearn(original, split, { classes: [3] }, 'scrub', { bogus: 1 }), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
});

test('retrain equals training from scratch on the data without the forget set (bit-identical)', async () => {
  const forget = selectForgetSet(split.train, original.manifest.lineage.trainIds, { classes: [3] });
  const res = await unlearn(original, split, forget, 'retrain', {}, { quiet: true });
  const reference = buildModel(original.manifest.spec, original.manifest.recipe.seed);
  const retainOnly = subset(split.train, forget.retainIdx);
  await trainModel(reference, retainOnly, range(retainOnly.labels.length), original.manifest.recipe, { quiet: true });
  assert.deepEqual(weightsToHost(res.model), weightsToHost(reference));
  assert.equal(res.manifest.method.guarantee, 'exact');
  assert.deepEqual(res.manifest.lineage.trainIds, retainOnly.ids);
  assert.equal(res.manifest.parent, original.manifest.modelHash);
});

test('every approximate method moves forget accuracy toward the retrained model, without mutating θ_o', async () => {
  const forget = selectForgetSet(split.train, original.manifest.lineage.trainIds, { classes: [3] });
  const hashBefore = await hashInMemory(original.model);
  const faOrig = accuracies(original.model, forget).FA;
  const ret = await unlearn(original, split, forget, 'retrain', {}, { quiet: true });
  const faRetrain = accuracies(ret.model, forget).FA;
  assert.ok(faOrig > 0.85 && faRetrain < 0.05, `setup: FA original ${faOrig}, retrained ${faRetrain}`);
  const params: Record<string, Record<string, unknown>> = { finetune: { epochs: 3 }, 'neggrad-plus': { epochs: 1 }, scrub: { epochs: 2, msteps: 1 } };
  for (const id of ['finetune', 'neggrad-plus', 'scrub']) {
    const res = await unlearn(original, split, forget, id, params[id], { quiet: true });
    const ev = accuracies(res.model, forget);
    assert.ok(Math.abs(ev.FA - faRetrain) < Math.abs(faOrig - faRetrain) - 0.1, `${id}: FA ${ev.FA} vs original ${faOrig}, retrained ${faRetrain}`);
    assert.ok(ev.RA > 0.8, `${id} keeps utility: RA ${ev.RA}`);
    assert.equal(res.manifest.method.guarantee, 'approximate');
    assert.deepEqual(res.manifest.removed?.ids, forget.forgetIds);
    assert.equal(await hashInMemory(original.model), hashBefore, `${id} must not mutate the original`);
  }
});

test('same inputs and seed give the same unlearned weights', async () => {
  const forget = selectForgetSet(split.train, original.manifest.lineage.trainIds, { randomFraction: 0.05 }, { seed: 2 });
  const a = await unlearn(original, split, forget, 'scrub', { epochs: 1 }, { quiet: true, seed: 5 });
  const b = await unlearn(original, split, forget, 'scrub', { epochs: 1 }, { quiet: true, seed: 5 });
  assert.deepEqual(weightsToHost(a.model), weightsToHost(b.model));
});
