import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { DataSplit, Dataset } from '../data/dataset.js';
import { isUnlearnError } from '../errors.js';
import { sealManifest } from '../models/seal.js';
import { specFor } from '../train/fit.js';
import { TrainRecipeSchema } from '../train/recipe.js';
import { checkModelFitsData, readTunedParams, resolveBenchForget, specLine, subjectByRank } from './benchSetup.js';
import { FARM_CACHE_VERSION, jobKey, modelPath, readCachedResult, resultPath, type FarmContext } from './farmJobs.js';

const dir = await mkdtemp(join(tmpdir(), 'unlearn-bench-setup-'));
after(() => rm(dir, { recursive: true, force: true }));

/** A split whose train subjects are the given list (features irrelevant). */
function splitOf(subjects: string[], shape = [2]): DataSplit {
  const n = subjects.length;
  const ds = (k: number): Dataset => ({ features: new Float32Array(k * shape.reduce((a, b) => a * b, 1)), labels: new Int32Array(k), shape, numClasses: 2, ids: Array.from({ length: k }, (_, i) => `e${i}`), subjects: subjects.slice(0, k) });
  return { name: 'toy', options: {}, train: ds(n), test: ds(2), fingerprint: 'f'.repeat(64) } as unknown as DataSplit;
}

test('subjectByRank: most training examples first, ties by id; resolveBenchForget adds that subject', () => {
  const split = splitOf(['b', 'a', 'c', 'c', 'b', 'c', 'a']);
  assert.equal(subjectByRank(split, 1), 'c');
  assert.equal(subjectByRank(split, 2), 'a', 'a and b have 2 each: the smaller id first');
  assert.equal(subjectByRank(split, 3), 'b');
  assert.deepEqual(resolveBenchForget(split, { subjectRank: 2 }), { subjects: ['a'] });
  assert.deepEqual(resolveBenchForget(split, { randomFraction: 0.1 }), { randomFraction: 0.1 });
  for (const bad of [0, 4, 1.5]) assert.throws(() => subjectByRank(split, bad), (e) => isUnlearnError(e, 'INVALID_PARAMS') && /not in \[1, 3\]/.test(e.message));
});

test('a CNN refuses flat data with a hint, and takes image-shaped data', () => {
  assert.throws(() => checkModelFitsData('cnn', splitOf(['a'], [784])), (e) => isUnlearnError(e, 'INVALID_ARGS') && /image=true/.test(e.hint ?? ''));
  checkModelFitsData('cnn', splitOf(['a'], [28, 28, 1]));
  checkModelFitsData('mlp', splitOf(['a'], [784]));
  assert.match(specLine(specFor(splitOf(['a'], [28, 28, 1]), 'cnn', { filters: [8, 16], dense: 32 })), /^CNN filters \[8,16\], kernel 3, dense 32/);
});

test('readTunedParams takes each method\'s chosen params and refuses manifests for other data or models', async () => {
  const split = splitOf(['a', 'b']);
  const spec = specFor(split, 'mlp', { hidden: [8] });
  const manifest = (method: string, chosen: unknown, over: Record<string, unknown> = {}) => ({ format: 'unlearn-tune/1', method, dataset: { name: 'toy', options: {}, fingerprint: split.fingerprint }, spec, chosen, ...over });
  const put = async (root: string, sub: string, m: unknown) => (await mkdir(join(root, sub), { recursive: true }), writeFile(join(root, sub, 'tune.json'), JSON.stringify(m)));
  const ok = join(dir, 'ok');
  await put(ok, 'finetune', manifest('finetune', { trial: 2, params: { epochs: 1, learningRate: 0.001 } }));
  await put(ok, 'ssd', manifest('ssd', null));
  const t = readTunedParams(ok, { fingerprint: split.fingerprint, spec });
  assert.deepEqual(t.params.finetune.params, { epochs: 1, learningRate: 0.001 });
  assert.equal(t.params.finetune.trial, 2);
  assert.deepEqual(t.untuned.map((u) => u.method), ['ssd']);
  assert.equal(t.params.ssd, undefined);

  const otherData = join(dir, 'other-data');
  await put(otherData, 'finetune', manifest('finetune', { trial: 0, params: {} }, { dataset: { fingerprint: 'e'.repeat(64) } }));
  assert.throws(() => readTunedParams(otherData, { fingerprint: split.fingerprint, spec }), (e) => isUnlearnError(e, 'INVALID_ARGS') && /other data/.test(e.message));
  const otherModel = join(dir, 'other-model');
  await put(otherModel, 'finetune', manifest('finetune', { trial: 0, params: {} }, { spec: specFor(split, 'mlp', { hidden: [16] }) }));
  assert.throws(() => readTunedParams(otherModel, { fingerprint: split.fingerprint, spec }), (e) => isUnlearnError(e, 'INVALID_ARGS') && /another model/.test(e.message));
  const twice = join(dir, 'twice');
  await put(twice, 'a', manifest('finetune', { trial: 0, params: {} }));
  await put(twice, 'b', manifest('finetune', { trial: 1, params: {} }));
  assert.throws(() => readTunedParams(twice, { fingerprint: split.fingerprint, spec }), (e) => isUnlearnError(e, 'INVALID_ARGS') && /two manifests/.test(e.message));
  await mkdir(join(dir, 'empty'));
  assert.throws(() => readTunedParams(join(dir, 'empty'), { fingerprint: split.fingerprint, spec }), (e) => isUnlearnError(e, 'INVALID_ARGS') && /no tune.json/.test(e.message));
  assert.throws(() => readTunedParams(join(dir, 'absent'), { fingerprint: split.fingerprint, spec }), (e) => isUnlearnError(e, 'INVALID_ARGS') && /not a directory/.test(e.message));
});

test('farm cache keys depend on the engine and the cache version; cached models with a broken or missing seal are recomputed', async () => {
  const split = splitOf(['a', 'b']);
  const ctx: FarmContext = { source: { dataset: 'toy', options: {} }, fingerprint: split.fingerprint, spec: specFor(split, 'mlp', { hidden: [8] }), recipe: TrainRecipeSchema.parse({}), forgetIdx: [0], cacheDir: join(dir, 'cache') };
  const job = { kind: 'original' as const, seed: 0 };
  const k = jobKey({ ...ctx, engine: 'wasm (openblas 0.3.21 Zen, 1 thread)' }, job);
  assert.notEqual(k, jobKey({ ...ctx, engine: 'wasm' }, job));
  assert.notEqual(k, jobKey({ ...ctx, engine: 'wasm (openblas 0.3.21 Zen, 2 threads)' }, job));
  assert.equal(k, jobKey({ ...ctx, engine: 'wasm (openblas 0.3.21 Zen, 1 thread)' }, job));
  assert.equal(FARM_CACHE_VERSION, 2);

  const put = async (manifest: object) => {
    await mkdir(modelPath(ctx.cacheDir, k), { recursive: true });
    await writeFile(join(modelPath(ctx.cacheDir, k), 'manifest.json'), JSON.stringify(manifest));
    await mkdir(join(ctx.cacheDir, 'jobs'), { recursive: true });
    await writeFile(resultPath(ctx.cacheDir, k), JSON.stringify({ key: k, kind: 'original', seconds: 1, backend: 'wasm', createdAt: '' }));
  };
  await put({ format: 'unlearn-model/1', spec: ctx.spec }); // an old cache entry: no seal
  assert.equal(await readCachedResult(ctx.cacheDir, k, true), undefined);
  await put({ ...sealManifest({ format: 'unlearn-model/1', spec: ctx.spec }), spec: 'edited' }); // seal broken
  assert.equal(await readCachedResult(ctx.cacheDir, k, true), undefined);
  await put(sealManifest({ format: 'unlearn-model/1', spec: ctx.spec }));
  assert.equal((await readCachedResult(ctx.cacheDir, k, true))?.cached, true);
  assert.equal((await readCachedResult(ctx.cacheDir, k, false))?.key, k);
});
