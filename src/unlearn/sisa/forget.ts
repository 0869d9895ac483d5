/**
 * SISA deletion (Bourtoule et al., IEEE S&P 2021, §IV-B): the shards holding the deleted examples
 * are found from the lineage; each is retrained, without those examples, from the checkpoint saved
 * just before its earliest affected slice. All deletions of a request are grouped per shard
 * (one retraining per shard, from the earliest affected slice). Unaffected shards are reused
 * untouched (same hash, files hard-linked). The result is a new version with guarantee `exact`.
 *
 * Fallbacks, never a wrong model:
 * - the needed checkpoint is pruned, missing or corrupt (sha256 mismatch): the shard restarts from
 *   the latest valid earlier checkpoint, or from its initial weights (scratch) — exact either way,
 *   only slower; corrupt or missing ones add a warning to `notes`;
 * - an unaffected shard whose weights are missing or corrupt is rebuilt the same way from its last
 *   valid checkpoint (warning); an unaffected shard's corrupt checkpoint is dropped (warning).
 */
import { backendDescription } from '../../engine/backend.js';
import type { TaskPool } from '../../engine/workerPool.js';
import { rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { hashIds, type DataSplit } from '../../data/dataset.js';
import { UnlearnError } from '../../errors.js';
import type { Predictor } from '../../train/predict.js';
import { erasedSubjects, selectForgetSet, type ForgetSelector, type ForgetSet } from '../../data/forgetSet.js';
import { ensemblePredictor } from './ensemble.js';
import { locate, shardSize, withoutIds } from './partition.js';
import {
  checkpointFile,
  commitSisaDir,
  ensembleHash,
  linkOrCopy,
  loadShardModels,
  readSisaManifest,
  readVerified,
  stagingDir,
  type CheckpointEntry,
  type ShardEntry,
  type SisaManifest,
} from './store.js';
import { emptyShard, lineageOf, runShardTasks, shardTask, type ShardTask } from './train.js';
import { ensureDir } from '../../models/io.js';

/** Options of {@link sisaForget}. */
export interface SisaForgetOptions<E = unknown> {
  /** Worker threads for the retrained shards (default: the number of cores; one affected shard trains in this thread). */
  workers?: number;
  /** Retrain the shards on this pool instead (queue workers; the output directory must be on the store they share). */
  pool?: TaskPool;
  /** Seed of the selection (random fractions) and of the evaluation's MIA; default the model's. */
  seed?: number;
  resolveSubject?: (name: string) => string;
  /** How a real subject is written into the manifest (e.g. its pseudonym); default unchanged. */
  displaySubject?: (subject: string) => string;
  /** The request as recorded in the manifest (pseudonymised); default: the selector. */
  request?: Record<string, unknown>;
  log?: (line: string) => void;
  /**
   * Evaluate the new ensemble before it is committed: called with the ensemble's predictor and the
   * resolved forget set; `metrics` go into the manifest, `evaluation` into the result. Supplied by
   * the caller (the workflow layer), so this module needs no metric code.
   */
  evaluate?: (predictor: Predictor, forget: ForgetSet) => { evaluation: E; metrics: Record<string, unknown> };
  /**
   * Retrain every shard from its initial weights (the ensemble's full retrain on the retain set,
   * same partition), instead of only the affected shards from their checkpoints. Exact either way;
   * the escalation path when a shard retrain fails verification.
   */
  fullRetrain?: boolean;
}

/** Result of {@link sisaForget}. `seconds`: wall time of the deletion (selection, shard retraining, writing), evaluation excluded. */
export interface SisaForgetResult<E = unknown> {
  manifest: SisaManifest;
  forget: ForgetSet;
  seconds: number;
  /** Shards retrained: earliest affected slice and the slice they restarted after (1-based; 0 = scratch). */
  retrained: { shard: number; earliestSlice: number; fromSlice: number }[];
  notes: string[];
  /** What `opts.evaluate` returned; absent without it. */
  evaluation?: E;
}

/**
 * Delete the examples chosen by `selector` from the SISA model in `dir`; write the new version to
 * `out` (atomically; `out` may equal `dir`).
 * @throws UnlearnError DATASET_INVALID (split is not the model's), SUBJECT_NOT_FOUND (ids or subjects
 *   not in the lineage), INVALID_PARAMS (empty selection, or every example removed), MODEL_MISSING /
 *   MODEL_CORRUPT (manifest), NUMERIC_ERROR, IO_ERROR.
 */
export async function sisaForget<E = unknown>(dir: string, split: DataSplit, selector: ForgetSelector | ForgetSet, out: string, opts: SisaForgetOptions<E> = {}): Promise<SisaForgetResult<E>> {
  const t0 = performance.now();
  const m = await readSisaManifest(dir);
  if (m.dataset.fingerprint !== split.fingerprint) {
    throw new UnlearnError('DATASET_INVALID', `data fingerprint ${split.fingerprint.slice(0, 12)} differs from the model's ${m.dataset.fingerprint.slice(0, 12)}`, `load dataset ${m.dataset.name} with options ${JSON.stringify(m.dataset.options)}`);
  }
  const seed = opts.seed ?? m.seed;
  const train = split.train;
  const forget = 'forgetIdx' in selector ? selector : selectForgetSet(train, m.lineage.trainIds, selector, { seed, resolveSubject: opts.resolveSubject });
  const R = m.sisa.slices;
  const where = locate(m.assignment);
  /** earliest affected slice per shard, 0-based */
  const earliest = new Map<number, number>();
  for (const id of forget.forgetIds) {
    const l = where.get(id);
    if (!l) throw new UnlearnError('SUBJECT_NOT_FOUND', `example id ${id} is not in the SISA lineage`, 'check the ids against the model manifest');
    earliest.set(l.shard, Math.min(earliest.get(l.shard) ?? R, l.slice));
  }
  const assignment = withoutIds(m.assignment, forget.forgetIds);
  const pos = new Map(train.ids.map((id, i) => [id, i]));
  const notes: string[] = [];
  const warn = (s: string) => (notes.push(s), opts.log?.(`warning: ${s}`));
  const staging = await stagingDir(out);
  const shardsDir = join(staging, 'shards');
  const shards: ShardEntry[] = new Array(m.shards.length);
  const tasks: ShardTask[] = [];
  const restart = new Map<number, { earliestSlice: number; fromSlice: number; inherited: (CheckpointEntry | null)[] }>();
  try {
    for (const s of m.shards) {
      const k = s.index;
      const parentDir = s.dir ? join(dir, s.dir) : null;
      let first = opts.fullRetrain ? 0 : earliest.get(k); // 0-based slice to retrain from
      if (first === undefined) {
        if (!s.hash || !parentDir) {
          shards[k] = s;
          continue;
        }
        const weights = await readVerified(join(parentDir, 'weights.bin'), s.hash);
        if (weights) {
          shards[k] = await reuseShard(s, parentDir, shardsDir, warn);
          continue;
        }
        warn(`shard ${k}: weights.bin missing or corrupt; rebuilt from its checkpoints`);
        first = R - 1;
      }
      // Latest valid checkpoint at or before `first` completed slices (0 = initial weights).
      let from = 0;
      let startWeights: Uint8Array | null = null;
      for (let c = first; c >= 1; c--) {
        const e = s.checkpoints[c - 1];
        if (!e || !parentDir) continue;
        const b = await readVerified(join(parentDir, checkpointFile(c)), e.sha256);
        if (b) {
          from = c;
          startWeights = b;
          break;
        }
        warn(`shard ${k}: checkpoint after slice ${c} missing or corrupt; restarting from an earlier one`);
      }
      const inherited: (CheckpointEntry | null)[] = [];
      for (let c = 1; c <= from; c++) {
        const e = s.checkpoints[c - 1];
        inherited.push(e && parentDir && (c === from || (await readVerified(join(parentDir, checkpointFile(c)), e.sha256))) ? e : null);
      }
      restart.set(k, { earliestSlice: first + 1, fromSlice: from, inherited });
      if (shardSize(assignment.shards[k]) === 0) {
        shards[k] = emptyShard(k, R);
        continue;
      }
      const t = shardTask(train, pos, assignment.shards[k], k, m.spec, m.recipe, shardsDir);
      t.start = from;
      t.startWeights = startWeights;
      tasks.push(t);
    }
    const results = await runShardTasks(tasks, opts.workers ?? availableParallelism(), (r) => opts.log?.(`shard ${r.shard}: retrained in ${r.seconds.toFixed(2)} s`), opts.pool);
    for (const r of results) {
      const k = r.shard;
      const rs = restart.get(k)!;
      const parentDir = join(dir, m.shards[k].dir!);
      const checkpoints = r.checkpoints.map((c, i) => (i < rs.fromSlice ? rs.inherited[i] : c));
      for (const c of checkpoints.slice(0, rs.fromSlice)) if (c) await linkOrCopy(join(parentDir, checkpointFile(c.slice)), join(shardsDir, r.hash, checkpointFile(c.slice)));
      shards[k] = {
        index: k,
        hash: r.hash,
        dir: `shards/${r.hash}`,
        examples: shardSize(assignment.shards[k]),
        weightsBytes: r.weightsBytes,
        modelJsonBytes: r.modelJsonBytes,
        checkpoints,
        origin: { kind: 'trained', fromSlice: rs.fromSlice, seconds: r.seconds, epochLosses: r.epochLosses },
      };
    }
    if (shards.every((s) => !s.hash)) throw new UnlearnError('INVALID_PARAMS', 'the request would leave every shard empty', 'retrain from scratch instead');
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw e;
  }
  const seconds = (performance.now() - t0) / 1000;
  const display = opts.displaySubject ?? ((s: string) => s);
  const removedIds = [...(m.removed?.ids ?? []), ...forget.forgetIds];
  const retrained = [...restart].map(([shard, r]) => ({ shard, earliestSlice: r.earliestSlice, fromSlice: r.fromSlice })).sort((a, b) => a.shard - b.shard);
  const manifest: SisaManifest = {
    ...m,
    modelHash: ensembleHash(m.spec, m.sisa.aggregate, shards),
    lineage: lineageOf(train, pos, assignment),
    assignment,
    shards,
    seed,
    parent: m.modelHash,
    method: { id: 'sisa', guarantee: 'exact', params: { shardsRetrained: retrained, workers: opts.workers ?? availableParallelism(), ...(opts.fullRetrain && { fullRetrain: true }) } },
    removed: {
      ids: removedIds,
      idsSha256: hashIds(removedIds),
      subjects: [...new Set([...(m.removed?.subjects ?? []), ...erasedSubjects(split.train, forget).map(display)])].sort(),
      request: opts.request ?? ('forgetIdx' in selector ? { ids: forget.forgetIds.length } : { ...selector }),
    },
    timings: { wallSeconds: seconds },
    metrics: {},
    backend: backendDescription(),
    createdAt: new Date().toISOString(),
    notes,
  };
  let evaluation: E | undefined;
  if (opts.evaluate) {
    try {
      const models = await loadShardModels(staging, manifest);
      const ev = opts.evaluate(ensemblePredictor(models, m.sisa.aggregate), forget);
      models.forEach((x) => x.dispose());
      evaluation = ev.evaluation;
      manifest.metrics = ev.metrics;
    } catch (e) {
      await rm(staging, { recursive: true, force: true });
      throw e;
    }
  }
  return { manifest: await commitSisaDir(staging, out, manifest), forget, seconds, retrained, notes, evaluation };
}

/** Link an unaffected shard's files into the new version, dropping checkpoints that fail their sha256 (with a warning). */
async function reuseShard(s: ShardEntry, parentDir: string, shardsDir: string, warn: (s: string) => void): Promise<ShardEntry> {
  const d = join(shardsDir, s.hash!);
  await ensureDir(d);
  await linkOrCopy(join(parentDir, 'weights.bin'), join(d, 'weights.bin'));
  await linkOrCopy(join(parentDir, 'model.json'), join(d, 'model.json'));
  const checkpoints: (CheckpointEntry | null)[] = [];
  for (const c of s.checkpoints) {
    if (c && (await readVerified(join(parentDir, checkpointFile(c.slice)), c.sha256))) {
      await linkOrCopy(join(parentDir, checkpointFile(c.slice)), join(d, checkpointFile(c.slice)));
      checkpoints.push(c);
    } else {
      if (c) warn(`shard ${s.index}: checkpoint after slice ${c.slice} missing or corrupt; dropped`);
      checkpoints.push(null);
    }
  }
  return { ...s, checkpoints, origin: { kind: 'reused' } };
}

