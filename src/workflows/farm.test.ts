import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { specFor } from '../train/fit.js';
import { TrainRecipeSchema } from '../train/recipe.js';
import { smallDigits } from '../testing/fixtures.js';
import { ModelFarm, type FarmContext, type FarmJob } from './farm.js';
import { loadFarmSplit, packSplit, resultPath, runCost, unpackSplit, type FarmJobResult } from './farmJobs.js';

const dir = await mkdtemp(join(tmpdir(), 'unlearn-farm-'));
after(() => rm(dir, { recursive: true, force: true }));

test('the farm runs jobs in workers, caches them by manifest hash, and resumes without retraining', async () => {
  const split = await smallDigits(300, 120);
  const forgetIdx = [3, 10, 50, 77, 120, 200];
  const ctx: FarmContext = {
    source: { module: new URL('../testing/fixtures.ts', import.meta.url).href, fn: 'smallDigits', args: [300, 120] },
    fingerprint: split.fingerprint,
    spec: specFor(split, 'mlp', { hidden: [16] }),
    recipe: TrainRecipeSchema.parse({ epochs: 3, batchSize: 32, learningRate: 0.003 }),
    forgetIdx,
    cacheDir: dir,
  };
  const members = Array.from({ length: 210 }, (_, i) => i * 2);
  const progress: number[] = [];
  const farm = new ModelFarm(ctx, { workers: 2, backend: 'wasm', onProgress: (p) => progress.push(p.done) });
  const phaseA: FarmJob[] = [{ kind: 'original', seed: 0 }, { kind: 'shadow', index: 0, seed: 5, members }];
  const [orig, shadow] = await farm.run(phaseA);
  const phaseB: FarmJob[] = [
    { kind: 'retrain', seed: 1, set: 'A' },
    { kind: 'retrain', seed: 2, set: 'A' },
    { kind: 'unlearn', method: 'finetune', params: { epochs: 1 }, seed: 3, originalKey: farm.key(phaseA[0]) },
    { kind: 'shadow-unlearn', index: 0, shadowKey: farm.key(phaseA[1]), members, method: 'finetune', params: { epochs: 1 }, seed: 4 },
  ];
  const b = await farm.run(phaseB);
  await farm.close();
  assert.equal(orig.phiForget?.length, forgetIdx.length);
  assert.equal(orig.phiTest?.length, 120);
  assert.ok(orig.RA! > 0.6 && orig.TA! > 0.5, `RA ${orig.RA} TA ${orig.TA}`);
  assert.equal(shadow.phiPool?.length, 420);
  assert.notDeepEqual(b[0].phiForget, b[1].phiForget); // different seeds, different models
  assert.equal(b[3].phiForget?.length, forgetIdx.length);
  assert.deepEqual(farm.stats, { computed: 6, cached: 0 });
  assert.deepEqual(progress, [1, 2, 1, 2, 3, 4]);

  // A new farm on the same cache: everything is read back, nothing retrained, identical results.
  const again = new ModelFarm(ctx, { workers: 0 });
  const b2 = await again.run([...phaseA, ...phaseB]);
  assert.deepEqual(again.stats, { computed: 0, cached: 6 });
  assert.ok(b2.every((r) => r.cached));
  assert.deepEqual(b2[2].phiForget, b[0].phiForget);

  // Lose one result (an interrupted run): only that job is recomputed, giving the same values.
  await rm(resultPath(dir, again.key(phaseB[0])));
  const resumed = new ModelFarm(ctx, { workers: 0 });
  const b3 = await resumed.run(phaseB);
  assert.deepEqual(resumed.stats, { computed: 1, cached: 3 });
  assert.deepEqual(b3[0].phiForget, b[0].phiForget); // same seed, same backend: same model
  // A different recipe is a different manifest: no cache hit.
  const other = new ModelFarm({ ...ctx, recipe: { ...ctx.recipe, epochs: 4 } }, { workers: 0 });
  assert.notEqual(other.key(phaseB[0]), resumed.key(phaseB[0]));
});

test('a packed split (what queue workers receive) unpacks to the same split, fingerprint included', async () => {
  const s = await smallDigits(50, 20);
  const u = unpackSplit(packSplit(s));
  assert.equal(u.fingerprint, s.fingerprint);
  assert.deepEqual(u.train.ids, s.train.ids);
  assert.deepEqual(u.test.subjects, s.test.subjects);
  assert.deepEqual(u.train.features, s.train.features);
  // Changed contents are caught (and not cached); the thread's cache then answers by fingerprint with the verified split.
  const bad = packSplit(s);
  bad.train.labels = Int32Array.from(bad.train.labels, (l, i) => (i === 0 ? (l + 1) % 10 : l));
  await assert.rejects(loadFarmSplit({ source: { packed: bad }, fingerprint: s.fingerprint }), /farm data has fingerprint/);
  assert.equal((await loadFarmSplit({ source: { packed: packSplit(s) }, fingerprint: s.fingerprint })).fingerprint, s.fingerprint);
  assert.throws(() => packSplit({ ...s, train: { ...s.train, ids: ['a\nb', ...s.train.ids.slice(1)] } }), /contains a newline/);
});

test('runCost is on CPU time when every run has it, and falls back to wall time otherwise', () => {
  const r = (seconds: number, cpuSeconds?: number): FarmJobResult => ({ key: 'k', kind: 'retrain', seconds, cpuSeconds, backend: 'wasm', createdAt: '' });
  const ref = [r(10, 8), r(30, 8)]; // the second retrain ran on a busier machine: slower wall, same CPU
  const cpu = runCost([r(20, 2), r(20, 2)], ref);
  assert.deepEqual([cpu.clock, cpu.cost, cpu.wallCost, cpu.cpuSeconds, cpu.seconds], ['cpu', 0.25, 1, 2, 20]);
  const wall = runCost([r(20, 2), r(20)], ref);
  assert.deepEqual([wall.clock, wall.cost, wall.cpuSeconds], ['wall', 1, null]);
  assert.throws(() => runCost([], ref), /INVALID_PARAMS|no runs/);
});
