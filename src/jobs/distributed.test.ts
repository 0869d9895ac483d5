// Farms and SISA on queue workers (real Redis of UNLEARN_TEST_REDIS) give the same bytes as the
// local run: the challenge-score farm's φ and accuracies, SISA shard weights on training and on
// deletion.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { initEngine } from '../engine/backend.js';
import { fingerprintSplit, type DataSplit } from '../data/dataset.js';
import { startQueueWorker } from '../service/worker.js';
import { smallDigits } from '../testing/fixtures.js';
import { specFor } from '../train/fit.js';
import { TrainRecipeSchema } from '../train/recipe.js';
import { sisaForget } from '../unlearn/sisa/forget.js';
import type { SisaManifest } from '../unlearn/sisa/store.js';
import { trainSisa } from '../unlearn/sisa/train.js';
import { ModelFarm, type FarmContext, type FarmJob } from '../workflows/farm.js';
import { RemotePool, type RunningWorker } from './bull.js';

const REDIS = process.env.UNLEARN_TEST_REDIS;

describe('farm and SISA on queue workers', { skip: REDIS ? false : 'UNLEARN_TEST_REDIS is not set: distributed farm and SISA tests skipped' }, () => {
  let dir: string;
  let pool: RemotePool;
  let worker: RunningWorker;
  before(async () => {
    await initEngine('wasm');
    dir = await mkdtemp(join(tmpdir(), 'unlearn-dist-'));
    const prefix = `t${randomBytes(5).toString('hex')}`;
    worker = await startQueueWorker({ url: REDIS!, prefix, store: join(dir, 'store'), concurrency: 2, backend: 'wasm' });
    pool = new RemotePool({ url: REDIS!, prefix, store: join(dir, 'store'), pollMs: 50 });
  });
  after(async () => {
    await pool?.close();
    await worker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('challenge-score farm: remote results equal local ones', async () => {
    const split = await smallDigits(200, 80);
    const ctx = (cacheDir: string): FarmContext => ({
      source: { module: new URL('../testing/fixtures.ts', import.meta.url).href, fn: 'smallDigits', args: [200, 80] },
      fingerprint: split.fingerprint,
      spec: specFor(split, 'mlp', { hidden: [8] }),
      recipe: TrainRecipeSchema.parse({ epochs: 2, batchSize: 32, learningRate: 0.003 }),
      forgetIdx: [1, 5, 9, 40],
      cacheDir,
    });
    const local = new ModelFarm(ctx(join(dir, 'local-cache')), { workers: 0, backend: 'wasm' });
    const remote = new ModelFarm(ctx(join(dir, 'store', 'farm-cache')), { pool });
    const phaseA: FarmJob[] = [{ kind: 'original', seed: 0 }, { kind: 'retrain', seed: 1, set: 'A' }, { kind: 'retrain', seed: 2, set: 'B' }];
    const strip = (r: { phiForget?: number[]; phiTest?: number[]; RA?: number; FA?: number; TA?: number; key: string }) => ({ key: r.key, phiForget: r.phiForget, phiTest: r.phiTest, RA: r.RA, FA: r.FA, TA: r.TA });
    const [l, r] = [await local.run(phaseA), await remote.run(phaseA)];
    assert.deepEqual(r.map(strip), l.map(strip));
    const phaseB: FarmJob[] = [{ kind: 'unlearn', method: 'finetune', params: { epochs: 1 }, seed: 3, originalKey: local.key(phaseA[0]!) }];
    assert.deepEqual((await remote.run(phaseB)).map(strip), (await local.run(phaseB)).map(strip));
    assert.equal(remote.stats.computed, 4);
    // Two worker threads, three jobs on one split: each thread loads it once, the third job finds it in its thread's input cache.
    const inputs = r.map((x) => x.inputs);
    assert.ok(inputs.includes('cached'), `some job on a warm thread: ${inputs.join(', ')}`);
    await local.close();
  });

  test('SISA training and deletion: remote shard weights equal local ones', async () => {
    const s = await smallDigits(240, 60);
    const train = { ...s.train, subjects: s.train.ids.map((_, i) => `writer-${i % 12}`) };
    const split: DataSplit = { ...s, train, fingerprint: fingerprintSplit('digits', train, s.test) };
    const spec = { kind: 'mlp' as const, inputShape: [784], numClasses: 10, hidden: [8], activation: 'relu' as const };
    const recipe = { optimizer: 'adam' as const, learningRate: 2e-3, epochs: 3, batchSize: 32, seed: 7 };
    const bytes = (d: string, m: SisaManifest) => Promise.all(m.shards.map((x) => (x.dir ? readFile(join(d, x.dir, 'weights.bin')) : null)));
    const L = join(dir, 'sisa-local');
    const R = join(dir, 'store', 'sisa-remote');
    const a = (await trainSisa(split, spec, recipe, { shards: 3, slices: 2, workers: 1 }, { out: L })).manifest;
    const b = (await trainSisa(split, spec, recipe, { shards: 3, slices: 2, workers: 1, pool }, { out: R })).manifest;
    assert.deepEqual(b.shards.map((x) => x.hash), a.shards.map((x) => x.hash));
    assert.deepEqual(await bytes(R, b), await bytes(L, a));
    // The shards' data went through the store as content-addressed inputs; training the same shards again reads none of it again.
    const before = worker.inputs();
    assert.ok(before.misses >= 3, `shard data read from the store: ${JSON.stringify(before)}`);
    const b2 = (await trainSisa(split, spec, recipe, { shards: 3, slices: 2, workers: 1, pool }, { out: join(dir, 'store', 'sisa-remote-2') })).manifest;
    assert.deepEqual(b2.shards.map((x) => x.hash), a.shards.map((x) => x.hash));
    assert.equal(worker.inputs().misses, before.misses, 'no input read again');
    assert.ok(worker.inputs().hits >= before.hits + 3);
    const ids = [a.assignment.shards[0]!.slices[1]![0]!, a.assignment.shards[2]!.slices[0]![0]!];
    const fa = (await sisaForget(L, split, { ids }, join(dir, 'sisa-local-B'), { workers: 1 })).manifest;
    const fb = (await sisaForget(R, split, { ids }, join(dir, 'store', 'sisa-remote-B'), { workers: 1, pool })).manifest;
    assert.deepEqual(fb.shards.map((x) => x.hash), fa.shards.map((x) => x.hash));
    assert.equal(fb.modelHash, fa.modelHash);
  });
});
