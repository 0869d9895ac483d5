import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fingerprintSplit, type DataSplit } from '../../data/dataset.js';
import { initEngine } from '../../engine/backend.js';
import { isUnlearnError } from '../../errors.js';
import { formatHandlerFor } from '../../models/formats.js';
import { smallDigits } from '../../testing/fixtures.js';
import { sisaFormatHandler } from '../../workflows/sisaFormat.js';
import { range } from '../../train/batches.js';
import { accuracyOf } from '../../train/predict.js';
import { sisaForget } from './forget.js';
import { locate, withoutIds } from './partition.js';
import { checkpointFile, pruneCheckpoints, readSisaManifest, type SisaManifest } from './store.js';
import { trainSisa } from './train.js';

let dir: string;
let split: DataSplit;
const spec = { kind: 'mlp' as const, inputShape: [784], numClasses: 10, hidden: [16], activation: 'relu' as const };
const recipe = { optimizer: 'adam' as const, learningRate: 2e-3, epochs: 6, batchSize: 32, seed: 7 };
const sisa = { shards: 3, slices: 3, workers: 1 };
let A: SisaManifest; // trained sequentially
let forgetIds: string[];
let subject: string;

/** Weights of every shard of a SISA directory, as raw bytes (null for an empty shard). */
const shardBytes = (d: string, m: SisaManifest) => Promise.all(m.shards.map((s) => (s.dir ? readFile(join(d, s.dir, 'weights.bin')) : null)));

before(async () => {
  await initEngine('wasm');
  dir = await mkdtemp(join(tmpdir(), 'unlearn-sisa-'));
  const s = await smallDigits(600, 200);
  // Synthetic "writers" (digits has no subjects): example i belongs to writer i mod 40, so that
  // subjects hold several examples and must stay in one shard and slice.
  const train = { ...s.train, subjects: s.train.ids.map((_, i) => `writer-${i % 40}`) };
  split = { ...s, train, fingerprint: fingerprintSplit('digits', train, s.test) };
  A = (await trainSisa(split, spec, recipe, sisa, { out: join(dir, 'A') })).manifest;
  // The request: one whole subject of shard 0, slice 2 (1-based), one more id of shard 0, slice 3,
  // and one id of shard 2, slice 1 — shard 1 is untouched.
  const where = locate(A.assignment);
  const subjectOf = new Map(split.train.ids.map((id, i) => [id, split.train.subjects[i]]));
  subject = subjectOf.get(A.assignment.shards[0].slices[1][0])!;
  const subjectIds = split.train.ids.filter((id) => subjectOf.get(id) === subject);
  assert.ok(subjectIds.every((id) => where.get(id)!.shard === 0 && where.get(id)!.slice === 1), 'a subject lives in one shard and one slice');
  forgetIds = [...subjectIds, A.assignment.shards[0].slices[2][0], A.assignment.shards[2].slices[0][3]];
});
after(() => rm(dir, { recursive: true, force: true }));

test('training writes S shards with R-1 checkpoints each, the lineage, storage and test accuracy', async () => {
  assert.equal(A.format, 'unlearn-sisa/1');
  assert.equal(A.shards.length, 3);
  assert.equal(A.sisa.sliceEpochs, 3, 'round(2·6/(3+1)) = 3 epochs per slice stage');
  assert.equal(A.lineage.numExamples, 600);
  assert.equal(new Set(A.assignment.shards.flatMap((s) => s.slices.flat())).size, 600, 'disjoint shards and slices covering the training set');
  for (const s of A.shards) {
    assert.equal(s.checkpoints.filter(Boolean).length, 2);
    for (const c of s.checkpoints) assert.ok(existsSync(join(dir, 'A', s.dir!, checkpointFile(c!.slice))));
    assert.ok(Math.abs(s.examples - 200) <= 15, `balanced shards: ${s.examples}`);
  }
  assert.equal(A.storage.checkpoints, 6);
  assert.equal(A.storage.checkpointBytes, 6 * A.shards[0].weightsBytes, 'a checkpoint is the size of the weights (no optimizer state)');
  assert.ok((A.metrics.TA as number) > 0.75, `ensemble test accuracy ${A.metrics.TA}`);
  assert.equal(await formatHandlerFor(join(dir, 'A')), sisaFormatHandler);
});

test('exactness: after a deletion every shard is bit-identical to SISA trained from scratch without the examples', async () => {
  const testAccuracy = (p: (ds: DataSplit['test'], idx: Int32Array) => { predicted: Int32Array; labels: Int32Array }) => accuracyOf(p(split.test, range(split.test.labels.length)));
  const r = await sisaForget(join(dir, 'A'), split, { ids: forgetIds }, join(dir, 'B'), { workers: 1, evaluate: (p) => ({ evaluation: testAccuracy(p), metrics: { TA: testAccuracy(p) } }) });
  const B = r.manifest;
  const C = (await trainSisa(split, spec, recipe, sisa, { out: join(dir, 'C'), assignment: withoutIds(A.assignment, forgetIds) })).manifest;
  assert.deepEqual(await shardBytes(join(dir, 'B'), B), await shardBytes(join(dir, 'C'), C));
  assert.deepEqual(B.shards.map((s) => s.hash), C.shards.map((s) => s.hash));
  assert.deepEqual(B.shards.map((s) => s.checkpoints.map((c) => c?.sha256)), C.shards.map((s) => s.checkpoints.map((c) => c?.sha256)));
  assert.equal(B.modelHash, C.modelHash);
  // Grouped per shard, each from the checkpoint before its earliest affected slice; shard 1 untouched.
  assert.deepEqual(r.retrained, [
    { shard: 0, earliestSlice: 2, fromSlice: 1 },
    { shard: 2, earliestSlice: 1, fromSlice: 0 },
  ]);
  assert.deepEqual(B.shards[1].origin, { kind: 'reused' });
  assert.equal(B.shards[1].hash, A.shards[1].hash);
  assert.notEqual(B.shards[0].hash, A.shards[0].hash);
  assert.equal(B.shards[0].checkpoints[0]!.sha256, A.shards[0].checkpoints[0]!.sha256, 'checkpoint before the affected slice inherited');
  // The new version's record.
  assert.equal(B.parent, A.modelHash);
  assert.equal(B.method.guarantee, 'exact');
  assert.deepEqual(B.removed!.ids, [...forgetIds].sort((a, b) => split.train.ids.indexOf(a) - split.train.ids.indexOf(b)));
  assert.equal(B.lineage.numExamples, 600 - forgetIds.length);
  assert.ok(!B.lineage.trainIds.includes(forgetIds[0]));
  assert.ok(!locate(B.assignment).has(forgetIds[0]));
  assert.equal(r.notes.length, 0);
  assert.ok(r.evaluation! > 0.75);
  assert.equal(B.metrics.TA, r.evaluation, 'the evaluation is written into the manifest');
  // Deleting a subject by name resolves to the same examples.
  const bySubject = await sisaForget(join(dir, 'A'), split, { subjects: [subject] }, join(dir, 'B2'), { workers: 1 });
  assert.deepEqual(bySubject.retrained, [{ shard: 0, earliestSlice: 2, fromSlice: 1 }]);
});

test('parallel shards in worker threads give the same bytes as sequential training, for training and deletion', async () => {
  const P = (await trainSisa(split, spec, recipe, { ...sisa, workers: 2 }, { out: join(dir, 'P') })).manifest;
  assert.deepEqual(await shardBytes(join(dir, 'P'), P), await shardBytes(join(dir, 'A'), A));
  assert.deepEqual(P.shards.map((s) => s.checkpoints.map((c) => c?.sha256)), A.shards.map((s) => s.checkpoints.map((c) => c?.sha256)));
  const Bp = (await sisaForget(join(dir, 'P'), split, { ids: forgetIds }, join(dir, 'Bp'), { workers: 2 })).manifest;
  const B = await readSisaManifest(join(dir, 'B'));
  assert.deepEqual(Bp.shards.map((s) => s.hash), B.shards.map((s) => s.hash));
});

test('a corrupt or missing checkpoint falls back to an earlier one (warned), still exact; a missing shard is rebuilt', async () => {
  await cp(join(dir, 'A'), join(dir, 'A-bad'), { recursive: true });
  await truncate(join(dir, 'A-bad', A.shards[0].dir!, checkpointFile(1)), 100);
  await rm(join(dir, 'A-bad', A.shards[1].dir!, 'weights.bin'));
  const r = await sisaForget(join(dir, 'A-bad'), split, { ids: forgetIds }, join(dir, 'B-bad'), { workers: 1 });
  const B = await readSisaManifest(join(dir, 'B'));
  assert.deepEqual(r.manifest.shards.map((s) => s.hash), B.shards.map((s) => s.hash), 'same weights as the exact result');
  assert.deepEqual(r.retrained.map((x) => [x.shard, x.fromSlice]), [[0, 0], [1, 2], [2, 0]]);
  assert.equal(r.notes.length, 2, r.notes.join('; '));
  assert.match(r.notes.join('\n'), /shard 0: checkpoint after slice 1 missing or corrupt/);
  assert.match(r.notes.join('\n'), /shard 1: weights\.bin missing or corrupt/);
  assert.deepEqual(r.manifest.notes, r.notes);
});

test('a deletion really resumes from the checkpoint it names: a shard retrained from scratch instead is caught', async () => {
  // Bit-exactness cannot tell resuming from retraining (both give the exact weights), so replace
  // shard 0's checkpoint after slice 1 by other valid weights (its checkpoint after slice 2, with
  // the manifest's sha256 updated): a deletion that truly resumes from it must now produce other
  // weights than the exact result, while the shard retrained from scratch (shard 2) is unaffected.
  await cp(join(dir, 'A'), join(dir, 'A-swap'), { recursive: true });
  const shardDir = join(dir, 'A-swap', A.shards[0].dir!);
  const other = await readFile(join(shardDir, checkpointFile(2)));
  await writeFile(join(shardDir, checkpointFile(1)), other);
  const m = JSON.parse(await readFile(join(dir, 'A-swap', 'manifest.json'), 'utf8')) as SisaManifest;
  m.shards[0].checkpoints[0] = { ...m.shards[0].checkpoints[0]!, sha256: m.shards[0].checkpoints[1]!.sha256 };
  await writeFile(join(dir, 'A-swap', 'manifest.json'), JSON.stringify(m));
  const r = await sisaForget(join(dir, 'A-swap'), split, { ids: forgetIds }, join(dir, 'B-swap'), { workers: 1 });
  assert.deepEqual(r.retrained.map((x) => [x.shard, x.fromSlice]), [[0, 1], [2, 0]], 'the manifest says shard 0 resumed after slice 1');
  assert.equal(r.notes.length, 0, 'the swapped checkpoint passes its checksum');
  const B = await readSisaManifest(join(dir, 'B'));
  assert.notEqual(r.manifest.shards[0].hash, B.shards[0].hash, 'shard 0 was trained on from the named checkpoint, not from scratch');
  assert.equal(r.manifest.shards[2].hash, B.shards[2].hash, 'shard 2 (from scratch) does not depend on checkpoints');
  assert.equal(r.manifest.shards[1].hash, B.shards[1].hash, 'shard 1 is reused');
});

test('pruning old checkpoints saves storage and makes deletion restart earlier, with the same result', async () => {
  await cp(join(dir, 'A'), join(dir, 'A-pruned'), { recursive: true });
  const { manifest, freedBytes } = await pruneCheckpoints(join(dir, 'A-pruned'), 2);
  assert.equal(manifest.storage.checkpoints, 3, 'only the checkpoints after slice 2 stay');
  assert.deepEqual(await readSisaManifest(join(dir, 'A-pruned')), manifest);
  assert.equal(A.storage.checkpointBytes - manifest.storage.checkpointBytes, 3 * A.shards[0].weightsBytes);
  assert.equal(freedBytes, 3 * A.shards[0].weightsBytes, 'the removed checkpoint files');
  assert.ok(!existsSync(join(dir, 'A-pruned', A.shards[0].dir!, checkpointFile(1))));
  const r = await sisaForget(join(dir, 'A-pruned'), split, { ids: forgetIds }, join(dir, 'B-pruned'), { workers: 1 });
  assert.deepEqual(r.retrained.map((x) => x.fromSlice), [0, 0]);
  assert.equal(r.notes.length, 0, 'pruning is not an error');
  const B = await readSisaManifest(join(dir, 'B'));
  assert.deepEqual(r.manifest.shards.map((s) => s.hash), B.shards.map((s) => s.hash));
  // Unaffected shards of the new version are hard links to the parent's files: pruning them frees nothing.
  const own = r.manifest.shards.filter((s) => s.origin.kind === 'trained').flatMap((s) => s.checkpoints).reduce((t, c) => t + (c?.bytes ?? 0), 0);
  assert.equal((await pruneCheckpoints(join(dir, 'B-pruned'), r.manifest.sisa.slices)).freedBytes, own);
  await assert.rejects(pruneCheckpoints(join(dir, 'A-pruned'), 4), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
});

test('bad input: S or R out of range, ids not in the lineage, a corrupt manifest — clear errors, nothing written', async () => {
  const bad = (s: number, r: number) => trainSisa(split, spec, recipe, { shards: s, slices: r, workers: 1 }, { out: join(dir, 'never') });
  await assert.rejects(bad(0, 1), (e) => isUnlearnError(e, 'INVALID_PARAMS') && /shards must be an integer ≥ 1/.test((e as Error).message));
  await assert.rejects(bad(2, 0), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
  await assert.rejects(bad(41, 1), (e) => isUnlearnError(e, 'INVALID_PARAMS') && /only 40 subjects/.test((e as Error).message));
  await assert.rejects(bad(8, 6), (e) => isUnlearnError(e, 'INVALID_PARAMS') && /use --slices 5 or fewer/.test((e as { hint?: string }).hint ?? ''));
  await assert.rejects(sisaForget(join(dir, 'A'), split, { ids: ['no-such-id'] }, join(dir, 'never')), (e) => isUnlearnError(e, 'SUBJECT_NOT_FOUND'));
  // An id already removed is no longer in the lineage of the new version.
  await assert.rejects(sisaForget(join(dir, 'B'), split, { ids: [forgetIds[0]] }, join(dir, 'never')), (e) => isUnlearnError(e, 'SUBJECT_NOT_FOUND'));
  await assert.rejects(sisaForget(join(dir, 'A'), split, { subjects: ['writer-99'] }, join(dir, 'never')), (e) => isUnlearnError(e, 'SUBJECT_NOT_FOUND'));
  await cp(join(dir, 'A'), join(dir, 'A-man'), { recursive: true });
  await writeFile(join(dir, 'A-man', 'manifest.json'), '{"format":"unlearn-sisa/1"');
  await assert.rejects(sisaForget(join(dir, 'A-man'), split, { ids: forgetIds }, join(dir, 'never')), (e) => isUnlearnError(e, 'MODEL_CORRUPT'));
  assert.ok(!existsSync(join(dir, 'never')));
  const { readdir } = await import('node:fs/promises');
  assert.ok(!(await readdir(dir)).some((f) => f.includes('.tmp-')), 'no staging directories left behind');
});
