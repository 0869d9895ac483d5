import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { initEngine } from '../engine/backend.js';
import { isUnlearnError } from '../errors.js';
import { buildModel, cloneModel, weightsToHost } from './build.js';
import { hashInMemory, loadModel, saveModel } from './io.js';
import { claimOutDir } from './staging.js';
import type { ModelManifest } from './manifest.js';
import { hashIds } from '../data/dataset.js';
import type { ModelSpec } from './spec.js';

const spec: ModelSpec = { kind: 'mlp', inputShape: [20], numClasses: 3, hidden: [8], activation: 'relu' };
const manifest = (): Omit<ModelManifest, 'files' | 'modelHash'> => ({
  format: 'unlearn-model/1',
  spec,
  dataset: { name: 'synthetic', options: {}, fingerprint: 'f'.repeat(64) },
  lineage: { trainIds: ['a', 'b'], trainIdsSha256: hashIds(['a', 'b']), numExamples: 2, numSubjects: 2 },
  recipe: { optimizer: 'adam', learningRate: 1e-3, momentum: 0.9, weightDecay: 0, epochs: 1, batchSize: 2, seed: 7 },
  seed: 7,
  parent: null,
  method: { id: 'train', guarantee: 'exact', params: {} },
  timings: { wallSeconds: 0 },
  metrics: {},
  backend: 'wasm',
  createdAt: new Date(0).toISOString(),
});

before(async () => {
  await initEngine('wasm');
});

test('the same spec and seed give bit-identical weights; another seed differs', () => {
  const a = weightsToHost(buildModel(spec, 7));
  const b = weightsToHost(buildModel(spec, 7));
  const c = weightsToHost(buildModel(spec, 8));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a[0], c[0]);
  // Glorot-uniform limit for the first kernel: sqrt(6 / (20 + 8)).
  const limit = Math.sqrt(6 / 28);
  assert.ok(a[0].every((v) => Math.abs(v) <= limit) && a[0].some((v) => Math.abs(v) > limit / 2));
  assert.ok(a[1].every((v) => v === 0), 'biases start at zero');
});

test('save → load round-trips the weights and the hash; no temp directory is left', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'unlearn-io-'));
  const model = buildModel(spec, 3);
  const saved = await saveModel(join(dir, 'm'), model, manifest());
  assert.equal(saved.modelHash, await hashInMemory(model));
  const loaded = await loadModel(join(dir, 'm'));
  assert.deepEqual(weightsToHost(loaded.model), weightsToHost(model));
  assert.equal(loaded.manifest.modelHash, saved.modelHash);
  assert.deepEqual(readdirSync(dir), ['m']);
  // Overwriting an existing directory (claimed with --force) is atomic too; unclaimed, it is refused.
  await assert.rejects(saveModel(join(dir, 'm'), buildModel(spec, 4), manifest()), (e: unknown) => isUnlearnError(e, 'IO_ERROR'));
  claimOutDir(join(dir, 'm'), { force: true });
  await saveModel(join(dir, 'm'), buildModel(spec, 4), manifest());
  assert.deepEqual(readdirSync(dir), ['m']);
  assert.notEqual((await loadModel(join(dir, 'm'))).manifest.modelHash, saved.modelHash);
});

test('cloneModel copies weights and leaves the input untouched', () => {
  const m = buildModel(spec, 5);
  const c = cloneModel(m, spec);
  assert.notEqual(c, m);
  assert.deepEqual(weightsToHost(c), weightsToHost(m));
});

test('missing, truncated or tampered files fail with MODEL_MISSING / MODEL_CORRUPT', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'unlearn-io-'));
  const model = buildModel(spec, 3);
  const fresh = async (name: string) => {
    await saveModel(join(dir, name), model, manifest());
    return join(dir, name);
  };
  await assert.rejects(loadModel(join(dir, 'nope')), (e) => isUnlearnError(e, 'MODEL_MISSING'));
  const t = await fresh('trunc');
  await truncate(join(t, 'weights.bin'), 10);
  await assert.rejects(loadModel(t), (e) => isUnlearnError(e, 'MODEL_CORRUPT') && /truncated/.test((e as Error).message));
  const f = await fresh('flip');
  const w = await readFile(join(f, 'weights.bin'));
  w[0] ^= 0xff;
  await writeFile(join(f, 'weights.bin'), w);
  await assert.rejects(loadModel(f), (e) => isUnlearnError(e, 'MODEL_CORRUPT') && /sha256/.test((e as Error).message));
  const j = await fresh('json');
  await writeFile(join(j, 'manifest.json'), '{not json');
  await assert.rejects(loadModel(j), (e) => isUnlearnError(e, 'MODEL_CORRUPT'));
  assert.ok(existsSync(join(j, 'weights.bin')), 'a failed load deletes nothing');
  // The manifest's own claims are checked too: lineage and model hash.
  for (const [name, edit] of [
    ['lineage', (m: ModelManifest) => void m.lineage.trainIds.pop()],
    ['hash', (m: ModelManifest) => void (m.modelHash = '0'.repeat(64))],
  ] as const) {
    const d = await fresh(name);
    const m = JSON.parse(await readFile(join(d, 'manifest.json'), 'utf8'));
    edit(m);
    await writeFile(join(d, 'manifest.json'), JSON.stringify(m));
    await assert.rejects(loadModel(d), (e) => isUnlearnError(e, 'MODEL_CORRUPT'), name);
  }
});

test('defect 4: the same model built in two contexts (fresh process, after other models) has the same modelHash', async () => {
  const cnn: ModelSpec = { kind: 'cnn', inputShape: [8, 8, 1], numClasses: 3, filters: [2], kernelSize: 3, dense: 4 };
  const hashOf = async (s: ModelSpec) => {
    const m = buildModel(s, 11);
    const h = await hashInMemory(m);
    m.dispose();
    return h;
  };
  const first = { mlp: await hashOf(spec), cnn: await hashOf(cnn) };
  for (let i = 0; i < 3; i++) buildModel(spec, i).dispose(); // shifts tfjs's automatic layer counters
  assert.equal(await hashOf(spec), first.mlp);
  assert.equal(await hashOf(cnn), first.cnn);
  // Another process (as the CLI or the demo would build it) gives the same hash.
  const script = `import { initEngine } from ${JSON.stringify(new URL('../engine/backend.ts', import.meta.url).href)};
import { buildModel } from ${JSON.stringify(new URL('./build.ts', import.meta.url).href)};
import { hashInMemory } from ${JSON.stringify(new URL('./io.ts', import.meta.url).href)};
await initEngine('cpu');
buildModel(${JSON.stringify(cnn)}, 1);
process.stdout.write(await hashInMemory(buildModel(${JSON.stringify(spec)}, 11)));`;
  const { execFileSync } = await import('node:child_process');
  const other = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  assert.equal(other.trim().slice(-64), first.mlp);
  // A saved and reloaded model keeps its hash.
  const dir = join(await mkdtemp(join(tmpdir(), 'unlearn-hash-')), 'm');
  const m = buildModel(spec, 11);
  const saved = await saveModel(dir, m, manifest());
  assert.equal(saved.modelHash, first.mlp);
  const re = await loadModel(dir);
  assert.equal(await hashInMemory(re.model), first.mlp);
  assert.doesNotMatch(await readFile(join(dir, 'model.json'), 'utf8'), /sequential_\d|_Dense\d/);
});

test('defect 5: the whole manifest is sealed — an edited recipe is MODEL_CORRUPT; the software versions are recorded', async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'unlearn-seal-')), 'm');
  const saved = await saveModel(dir, buildModel(spec, 2), manifest());
  assert.equal(saved.software?.unlearn, JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')).version);
  assert.match(saved.software?.tfjs ?? '', /^\d+\.\d+\.\d+/);
  assert.ok(saved.software?.backend && saved.software.node === process.version);
  assert.equal((await loadModel(dir)).manifest.manifestSha256, saved.manifestSha256);
  const text = await readFile(join(dir, 'manifest.json'), 'utf8');
  for (const edit of [(m: ModelManifest) => (m.recipe.learningRate = 0.5), (m: ModelManifest) => (m.method.guarantee = 'certified'), (m: ModelManifest) => ((m.spec as { hidden: number[] }).hidden = [9]), (m: ModelManifest) => delete m.manifestSha256]) {
    const m = JSON.parse(text) as ModelManifest;
    edit(m);
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(m, null, 1));
    await assert.rejects(loadModel(dir), (e: unknown) => isUnlearnError(e, 'MODEL_CORRUPT') && /manifestSha256/.test((e as Error).message));
  }
});
