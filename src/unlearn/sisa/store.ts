/**
 * The SISA model directory (format `unlearn-sisa/1`):
 *
 * ```
 * DIR/manifest.json                       the ensemble manifest (SisaManifest)
 * DIR/shards/<hash>/model.json            shard model topology (TensorFlow.js LayersModel format)
 * DIR/shards/<hash>/weights.bin           shard weights after its last slice
 * DIR/shards/<hash>/checkpoint-<r>.bin    weights after slice r, r = 1..R-1 (same layout as weights.bin)
 * ```
 *
 * `<hash>` is the shard hash: sha256 of its weights.bin bytes, so a shard directory is named by
 * its content and an unaffected shard keeps its name across versions. A new version reuses the
 * files of unaffected shards by hard link (a copy where links are impossible): files are never
 * modified in place, so sharing them is safe. Checkpoint 0 (the initial weights) is not stored:
 * it is rebuilt from the shard's seed. Checkpoint R equals weights.bin and is not duplicated.
 * Checkpoints store weights only; the optimizer is reset at each slice boundary (see train.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, link, mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UnlearnError } from '../../errors.js';
import { checkModelKind, writeFileSynced } from '../../models/io.js';
import { commitStaging, stagingPath } from '../../models/staging.js';
import { checkSeal, sealManifest } from '../../models/seal.js';
import type { Guarantee, ModelManifest } from '../../models/manifest.js';
import type { ModelSpec } from '../../models/spec.js';
import type { TrainRecipe } from '../../train/recipe.js';
import type { Aggregate } from './ensemble.js';
import type { PartitionUnit, SisaAssignment } from './partition.js';

/** Manifest format id of a SISA model directory. */
export const SISA_FORMAT = 'unlearn-sisa/1';

/** A stored checkpoint: weights after slice `slice` (1-based); sha256 hex and size in bytes of its file. */
export interface CheckpointEntry {
  slice: number;
  sha256: string;
  bytes: number;
}

/** One shard of a SISA version. */
export interface ShardEntry {
  /** 0-based shard index. */
  index: number;
  /** sha256 hex of weights.bin; null for a shard left without examples (it takes no part in the ensemble). */
  hash: string | null;
  /** Directory relative to the model directory (`shards/<hash>`), null when empty. */
  dir: string | null;
  examples: number;
  weightsBytes: number;
  modelJsonBytes: number;
  /** Checkpoints of slices 1..R-1 (index r-1); null where pruned, missing or never written. */
  checkpoints: (CheckpointEntry | null)[];
  /** How this version got the shard: trained from slice `fromSlice` (0 = from scratch), or reused from the parent. */
  origin: { kind: 'trained'; fromSlice: number; seconds: number; epochLosses: number[][] } | { kind: 'reused' };
}

/** Storage of a SISA directory in bytes (logical: hard-linked files count once per version). */
export interface SisaStorage {
  modelBytes: number;
  checkpointBytes: number;
  manifestBytes: number;
  totalBytes: number;
  checkpoints: number;
}

/** `manifest.json` of a SISA model directory. Times in seconds, sizes in bytes, hashes sha256 hex. */
export interface SisaManifest {
  format: typeof SISA_FORMAT;
  /** sha256 over the spec, aggregation and the shard hashes in order: identifies the ensemble. */
  modelHash: string;
  spec: ModelSpec;
  /** The base recipe; slice stage r of shard k trains with `stageRecipe(recipe, k, r, R)`. */
  recipe: TrainRecipe;
  sisa: {
    shards: number;
    slices: number;
    aggregate: Aggregate;
    unit: PartitionUnit;
    /** Epochs of every slice stage (partition.ts sliceEpochs). */
    sliceEpochs: number;
    /** The optimizer is rebuilt at each slice boundary; checkpoints hold weights only. */
    optimizerState: 'reset-per-slice';
  };
  dataset: ModelManifest['dataset'];
  lineage: ModelManifest['lineage'];
  /** The SISA lineage: ids per shard per slice. */
  assignment: SisaAssignment;
  shards: ShardEntry[];
  storage: SisaStorage;
  seed: number;
  parent: string | null;
  method: { id: string; guarantee: Guarantee; params: Record<string, unknown> };
  removed?: ModelManifest['removed'];
  timings: { wallSeconds: number };
  metrics: Record<string, unknown>;
  backend: string;
  createdAt: string;
  /** Warnings of the run that produced this version (fallbacks taken). */
  notes: string[];
}

export const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** The ensemble hash recorded as `modelHash` (see {@link SisaManifest}). */
export function ensembleHash(spec: ModelSpec, aggregate: Aggregate, shards: Pick<ShardEntry, 'hash'>[]): string {
  return sha256(JSON.stringify({ format: SISA_FORMAT, spec, aggregate, shards: shards.map((s) => s.hash) }));
}

/** File name of the checkpoint after slice r (1-based). */
export const checkpointFile = (r: number) => `checkpoint-${r}.bin`;

const corrupt = (dir: string, m: string) => new UnlearnError('MODEL_CORRUPT', `SISA model ${dir}: ${m}`, 'restore the directory from a backup or retrain it');

/**
 * Read and sanity-check the manifest of a SISA directory (files are verified when loaded).
 * @throws UnlearnError MODEL_MISSING (no manifest.json), MODEL_CORRUPT (unparsable, not SISA, or inconsistent).
 */
export async function readSisaManifest(dir: string): Promise<SisaManifest> {
  const p = join(dir, 'manifest.json');
  if (!existsSync(p)) throw new UnlearnError('MODEL_MISSING', `model ${dir}: manifest.json not found`, 'pass a directory written by `unlearn train --sisa`');
  let m: SisaManifest;
  try {
    m = JSON.parse(await readFile(p, 'utf8'));
  } catch (e) {
    throw corrupt(dir, `manifest.json is not valid JSON (${(e as Error).message})`);
  }
  checkModelKind(dir, m, SISA_FORMAT);
  if (m?.format !== SISA_FORMAT) throw corrupt(dir, `manifest.json is not a ${SISA_FORMAT} manifest`);
  checkSeal(m, dir);
  if (!Array.isArray(m.shards) || m.shards.length !== m.sisa?.shards || m.assignment?.shards?.length !== m.sisa.shards) throw corrupt(dir, 'shard list does not match the SISA parameters');
  if (ensembleHash(m.spec, m.sisa.aggregate, m.shards) !== m.modelHash) throw corrupt(dir, 'modelHash does not match the shard hashes');
  return m;
}

/** Read a file and check it against its expected sha256; null when absent or different. */
export async function readVerified(path: string, want: string): Promise<Uint8Array | null> {
  if (!existsSync(path)) return null;
  const b = await readFile(path);
  return sha256(b) === want ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : null;
}

/** A tfjs-layers model of `spec` topology (model.json text) with the given weight bytes (float32, LayersModel order). */
export async function modelFromFiles(modelJson: string, weights: Uint8Array): Promise<tfl.LayersModel> {
  const json = JSON.parse(modelJson) as { modelTopology: object; weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] };
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  return tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData }));
}

/**
 * Load the shard models of a SISA directory, verifying every weights.bin against the manifest.
 * Empty shards are skipped. The caller disposes the models.
 * @throws UnlearnError MODEL_MISSING / MODEL_CORRUPT naming the shard.
 */
export async function loadShardModels(dir: string, m: SisaManifest): Promise<tfl.LayersModel[]> {
  const models: tfl.LayersModel[] = [];
  for (const s of m.shards) {
    if (!s.hash || !s.dir) continue;
    const d = join(dir, s.dir);
    if (!existsSync(join(d, 'weights.bin')) || !existsSync(join(d, 'model.json'))) {
      throw new UnlearnError('MODEL_MISSING', `SISA model ${dir}: shard ${s.index} files missing in ${s.dir}`, `run \`unlearn forget\` on the parent version to rebuild it, or retrain`);
    }
    const w = await readVerified(join(d, 'weights.bin'), s.hash);
    if (!w) throw corrupt(dir, `shard ${s.index} weights.bin does not match its sha256`);
    models.push(await modelFromFiles(await readFile(join(d, 'model.json'), 'utf8'), w));
  }
  return models;
}

/** Storage of a shard list in bytes (model files + stored checkpoints) plus the manifest. */
export function storageOf(shards: ShardEntry[], manifestBytes: number): SisaStorage {
  let modelBytes = 0;
  let checkpointBytes = 0;
  let checkpoints = 0;
  for (const s of shards) {
    modelBytes += s.weightsBytes + s.modelJsonBytes;
    for (const c of s.checkpoints) if (c) (checkpointBytes += c.bytes, checkpoints++);
  }
  return { modelBytes, checkpointBytes, manifestBytes, checkpoints, totalBytes: modelBytes + checkpointBytes + manifestBytes };
}

/** Hard-link `src` to `dst`, or copy it when the file system refuses links. */
export async function linkOrCopy(src: string, dst: string): Promise<void> {
  try {
    await link(src, dst);
  } catch {
    await copyFile(src, dst);
  }
}


/** A fresh staging directory beside `out` (same file system, so the final rename is atomic). */
export async function stagingDir(out: string): Promise<string> {
  const tmp = stagingPath(out);
  await mkdir(join(tmp, 'shards'), { recursive: true });
  return tmp;
}

/**
 * Write the manifest (with its storage filled in) into `staging` and move `staging` to `out` with
 * {@link commitStaging} (an existing `out` is replaced only under a `--force` claim). A crash leaves the old directory or the new one, never half.
 */
export async function commitSisaDir(staging: string, out: string, m: SisaManifest): Promise<SisaManifest> {
  // Storage includes the manifest itself: compute with a placeholder, then settle the byte count.
  let text = '';
  for (let i = 0; i < 3; i++) {
    m.storage = storageOf(m.shards, Buffer.byteLength(text));
    text = JSON.stringify(sealManifest(m)) + '\n';
  }
  try {
    await writeFileSynced(join(staging, 'manifest.json'), text);
    await commitStaging(staging, out);
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    if (e instanceof UnlearnError) throw e;
    throw new UnlearnError('IO_ERROR', `cannot write ${out}: ${(e as Error).message}`, 'check the output path and free disk space');
  }
  return JSON.parse(text);
}

/**
 * Prune the checkpoints of slices 1..`beforeSlice`−1 of every shard of a SISA directory, in
 * place: fewer bytes on disk, but a deletion that hits slice r < beforeSlice then retrains its
 * shard from the latest kept checkpoint before r, or from scratch — always exact, only slower.
 * The manifest is rewritten (atomically) before the files are removed, so a crash leaves at most
 * unreferenced files. Returns the new manifest.
 * @throws UnlearnError INVALID_PARAMS when beforeSlice is not an integer in [1, R]; MODEL_* as {@link readSisaManifest}.
 */
export async function pruneCheckpoints(dir: string, beforeSlice: number): Promise<{ manifest: SisaManifest; freedBytes: number }> {
  const m = await readSisaManifest(dir);
  const R = m.sisa.slices;
  if (!Number.isInteger(beforeSlice) || beforeSlice < 1 || beforeSlice > R) {
    throw new UnlearnError('INVALID_PARAMS', `prune point ${beforeSlice} outside [1, ${R}]`, `keep checkpoints from slice p in 1..${R} (${R} removes every checkpoint)`);
  }
  const doomed: string[] = [];
  for (const s of m.shards) {
    s.checkpoints = s.checkpoints.map((c) => {
      if (c && c.slice < beforeSlice && s.dir) {
        doomed.push(join(dir, s.dir, checkpointFile(c.slice)));
        return null;
      }
      return c;
    });
  }
  let text = '';
  for (let i = 0; i < 3; i++) {
    m.storage = storageOf(m.shards, Buffer.byteLength(text));
    text = JSON.stringify(sealManifest(m)) + '\n';
  }
  const tmp = join(dir, `.manifest.json.tmp-${process.pid}`);
  await writeFileSynced(tmp, text);
  await rename(tmp, join(dir, 'manifest.json'));
  // A checkpoint hard-linked from the parent version (an unaffected shard) frees no space when
  // unlinked here: count only the files whose last link goes.
  let freedBytes = 0;
  for (const f of doomed) {
    const st = await stat(f).catch(() => undefined);
    if (st && st.nlink === 1) freedBytes += st.size;
    await rm(f, { force: true });
  }
  return { manifest: JSON.parse(text), freedBytes };
}

/** Bytes actually used on disk by the files under `dir` (each file counted once per directory). */
export async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += (await stat(join(e.parentPath, e.name))).size;
  }
  return total;
}
