/**
 * SISA training (Bourtoule et al., "Machine Unlearning", IEEE S&P 2021, §IV): every shard is an
 * independent model trained slice by slice. Stage r (1-based) of shard k trains the model
 * left by stage r−1 on slices 1..r (cumulative) for `sliceEpochs(e, R)` epochs, then saves a
 * checkpoint. Shards run in parallel in worker threads (one tfjs backend each).
 *
 * What makes a deletion exact (bit-identical to training from scratch without the data):
 * - the shard assignment is fixed (the lineage), and the removed ids just leave their slices;
 * - every random choice is a function of (seed, shard, slice) only: the shard's initial weights
 *   come from `deriveSeed(seed, 'sisa/shard-k/init')`, stage r's shuffling from the recipe seed
 *   `deriveSeed(seed, 'sisa/shard-k/slice-r')`;
 * - the optimizer is **reset at each slice boundary** (a fresh Adam/SGD per stage), so the state at
 *   a checkpoint is the weights alone. Storing Adam's moments instead would also be exact but
 *   triples the checkpoint size; resetting costs nothing in exactness, keeps checkpoints the size
 *   of the model, and makes any LayersModel weight file a valid restart point.
 * So stages 1..r−1 of a shard whose earliest deleted example sits in slice r see exactly the data
 * they saw before, their checkpoint is reused, and stages r..R are recomputed without the ids.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { hashIds, subset, type DataSplit, type Dataset } from '../../data/dataset.js';
import { backendDescription, type BackendName } from '../../engine/backend.js';
import { deriveSeed } from '../../engine/rng.js';
import { WorkerPool, type TaskPool } from '../../engine/workerPool.js';
import { UnlearnError } from '../../errors.js';
import { buildModel } from '../../models/build.js';
import { serializeModel, writeDirAtomic } from '../../models/io.js';
import { ModelSpecSchema, type ModelSpec } from '../../models/spec.js';
import { range } from '../../train/batches.js';
import { TrainRecipeSchema, type TrainRecipe } from '../../train/recipe.js';
import { trainModel } from '../../train/train.js';
import { accuracyOf } from '../../train/predict.js';
import { ensemblePredictor, type Aggregate } from './ensemble.js';
import { partitionSisa, shardSize, sliceEpochs, type PartitionUnit, type SisaAssignment } from './partition.js';
import { SISA_FORMAT, checkpointFile, commitSisaDir, ensembleHash, loadShardModels, sha256, stagingDir, type CheckpointEntry, type ShardEntry, type SisaManifest } from './store.js';

/** SISA training parameters. */
export interface SisaOptions {
  /** Number of shards S ≥ 1. */
  shards: number;
  /** Number of slices R ≥ 1 per shard. */
  slices: number;
  /** Aggregation of the shard outputs (default `vote`). */
  aggregate?: Aggregate;
  /** Keep subjects whole (default) or assign single examples. */
  unit?: PartitionUnit;
  /** Worker threads training shards in parallel (default: the number of cores); ≤ 1 trains in this thread. */
  workers?: number;
  /** Train the shards on this pool instead (queue workers; the output directory must be on the store they share). Not recorded. */
  pool?: TaskPool;
}

/** Seed of shard k's initial weights. */
export const shardInitSeed = (seed: number, k: number) => deriveSeed(seed, `sisa/shard-${k}/init`);

/** The recipe of stage r (1-based) of shard k: the base recipe with the stage's epochs and shuffling seed. */
export function stageRecipe(recipe: TrainRecipe, k: number, r: number, slices: number): TrainRecipe {
  return { ...recipe, epochs: sliceEpochs(recipe.epochs, slices), seed: deriveSeed(recipe.seed, `sisa/shard-${k}/slice-${r}`) };
}

/** A shard's training job; structured-clonable so it can run in a worker thread. */
export interface ShardTask {
  shard: number;
  spec: ModelSpec;
  /** Base recipe (see {@link stageRecipe}). */
  recipe: TrainRecipe;
  slices: number;
  /** The shard's examples in stage order (slice 1 first): features float32 [n·d], labels int32 [n]. */
  data: { features: Float32Array; shape: number[]; labels: Int32Array; numClasses: number };
  /** sliceEnds[r−1] = number of rows in slices 1..r. */
  sliceEnds: number[];
  /** Completed slices to resume from: 0 = from the initial weights, else `startWeights` holds the checkpoint after slice `start`. */
  start: number;
  startWeights: Uint8Array | null;
  /** The shard directory is written to `<shardsDir>/<hash>`. */
  shardsDir: string;
}

/** What a shard job produced. `checkpoints[r−1]` for r = start+1..R−1; null for r ≤ start (kept by the caller). */
export interface ShardResult {
  shard: number;
  hash: string;
  weightsBytes: number;
  modelJsonBytes: number;
  checkpoints: (CheckpointEntry | null)[];
  seconds: number;
  epochLosses: number[][];
}

/** Set a model's weights from a LayersModel weight file (float32, model.weights order). @throws UnlearnError MODEL_CORRUPT on a size mismatch. */
export function setWeightsFromBytes(model: tfl.LayersModel, bytes: Uint8Array): void {
  const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  const shapes = model.weights.map((w) => w.shape as number[]);
  const total = shapes.reduce((s, sh) => s + sh.reduce((a, b) => a * b, 1), 0);
  if (total !== floats.length) throw new UnlearnError('MODEL_CORRUPT', `checkpoint holds ${floats.length} floats, the model has ${total}`, 'the checkpoint belongs to another architecture');
  let o = 0;
  const ts = shapes.map((sh) => {
    const n = sh.reduce((a, b) => a * b, 1);
    const t = tf.tensor(floats.subarray(o, o + n), sh, 'float32');
    o += n;
    return t;
  });
  model.setWeights(ts);
  tf.dispose(ts);
}

/**
 * Train one shard from stage `start + 1` to R, checkpointing after every stage but the last, and
 * write its directory `<shardsDir>/<sha256(weights.bin)>` (model.json, weights.bin,
 * checkpoint-<r>.bin) atomically. Runs in a worker thread or in-process; same result either way.
 * @throws UnlearnError NUMERIC_ERROR if training diverges; MODEL_CORRUPT for bad start weights.
 */
export async function trainShardTask(t: ShardTask): Promise<ShardResult> {
  const t0 = performance.now();
  const model = buildModel(t.spec, shardInitSeed(t.recipe.seed, t.shard));
  try {
    if (t.start > 0) {
      if (!t.startWeights) throw new Error(`shard ${t.shard}: start ${t.start} without checkpoint weights`);
      setWeightsFromBytes(model, t.startWeights);
    }
    const ds: Dataset = { ...t.data, ids: [], subjects: [] };
    const files: Record<string, Uint8Array | string> = {};
    const checkpoints: (CheckpointEntry | null)[] = new Array(t.slices - 1).fill(null);
    const epochLosses: number[][] = [];
    for (let r = t.start + 1; r <= t.slices; r++) {
      const n = t.sliceEnds[r - 1];
      // A stage whose cumulative data was all deleted leaves the weights as they are.
      const res = n > 0 ? await trainModel(model, ds, range(n), stageRecipe(t.recipe, t.shard, r, t.slices), { quiet: true }) : { epochLosses: [] };
      epochLosses.push(res.epochLosses);
      if (r < t.slices) {
        const { weights } = await serializeModel(model);
        files[checkpointFile(r)] = weights;
        checkpoints[r - 1] = { slice: r, sha256: sha256(weights), bytes: weights.byteLength };
      }
    }
    const { modelJson, weights } = await serializeModel(model);
    const hash = sha256(weights);
    files['model.json'] = modelJson;
    files['weights.bin'] = weights;
    await writeDirAtomic(join(t.shardsDir, hash), files);
    return { shard: t.shard, hash, weightsBytes: weights.byteLength, modelJsonBytes: Buffer.byteLength(modelJson), checkpoints, seconds: (performance.now() - t0) / 1000, epochLosses };
  } finally {
    model.dispose();
  }
}

/**
 * Run shard jobs: in a pool of `min(workers, tasks)` worker threads (one tfjs backend each, the
 * backend of this thread) when that is more than one, else one after the other in this thread.
 * Results are in task order.
 */
export async function runShardTasks(tasks: ShardTask[], workers: number, onDone?: (r: ShardResult) => void, remote?: TaskPool): Promise<ShardResult[]> {
  const size = Math.min(workers, tasks.length);
  if (remote) {
    const mod = new URL('./train.ts', import.meta.url).href;
    return Promise.all(tasks.map(async (t) => {
      const r = await remote.run<ShardResult>(mod, 'trainShardTask', t);
      onDone?.(r);
      return r;
    }));
  }
  if (size <= 1) {
    const out: ShardResult[] = [];
    for (const t of tasks) {
      const r = await trainShardTask(t);
      onDone?.(r);
      out.push(r);
    }
    return out;
  }
  const pool = new WorkerPool({ size, backend: tf.getBackend() as BackendName });
  try {
    const mod = new URL('./train.ts', import.meta.url).href;
    // Largest shards first, so the pool does not end waiting on one big job.
    const order = tasks.map((t, i) => i).sort((a, b) => tasks[b].data.labels.length * (tasks[b].slices - tasks[b].start) - tasks[a].data.labels.length * (tasks[a].slices - tasks[a].start));
    const out: ShardResult[] = new Array(tasks.length);
    await Promise.all(
      order.map(async (i) => {
        out[i] = await pool.run<ShardResult>(mod, 'trainShardTask', tasks[i]);
        onDone?.(out[i]);
      }),
    );
    return out;
  } finally {
    await pool.close();
  }
}

/** Build the job of shard k of `assignment` (rows in stage order) — `start`/`startWeights` set by the caller. */
export function shardTask(
  train: Dataset,
  pos: Map<string, number>,
  shard: { slices: string[][] },
  k: number,
  spec: ModelSpec,
  recipe: TrainRecipe,
  shardsDir: string,
): ShardTask {
  const idx: number[] = [];
  const sliceEnds: number[] = [];
  for (const ids of shard.slices) {
    for (const id of ids) idx.push(pos.get(id)!);
    sliceEnds.push(idx.length);
  }
  const sub = subset(train, idx);
  return {
    shard: k,
    spec,
    recipe,
    slices: shard.slices.length,
    data: { features: sub.features, shape: sub.shape, labels: sub.labels, numClasses: sub.numClasses },
    sliceEnds,
    start: 0,
    startWeights: null,
    shardsDir,
  };
}

/** A shard entry for a shard left with no examples. */
export const emptyShard = (k: number, R: number): ShardEntry => ({
  index: k,
  hash: null,
  dir: null,
  examples: 0,
  weightsBytes: 0,
  modelJsonBytes: 0,
  checkpoints: new Array(R - 1).fill(null),
  origin: { kind: 'trained', fromSlice: 0, seconds: 0, epochLosses: [] },
});

/** Lineage fields of a manifest for the ids of an assignment. */
export function lineageOf(train: Dataset, pos: Map<string, number>, a: SisaAssignment): SisaManifest['lineage'] {
  const idx = a.shards.flatMap((s) => s.slices.flat()).map((id) => pos.get(id)!).sort((x, y) => x - y);
  const ids = idx.map((i) => train.ids[i]);
  return { trainIds: ids, trainIdsSha256: hashIds(ids), numExamples: ids.length, numSubjects: new Set(idx.map((i) => train.subjects[i])).size };
}

/** Result of {@link trainSisa}. `seconds` is the wall time of training (partition and shard jobs, shards written; not the test evaluation). `manifest.metrics.TA` is the ensemble's test accuracy. */
export interface SisaTrainResult {
  manifest: SisaManifest;
  seconds: number;
}

/**
 * Train a SISA ensemble on the train side of `split` and write it to directory `out` (format
 * `unlearn-sisa/1`, see store.ts), atomically.
 *
 * @param opts.assignment a given assignment (e.g. an earlier one without some ids: the "trained
 *   from scratch without the data" reference); default: {@link partitionSisa} of every training example.
 * @throws UnlearnError INVALID_PARAMS (S, R, recipe, assignment), SHAPE_MISMATCH (spec vs data),
 *   NUMERIC_ERROR, IO_ERROR.
 */
export async function trainSisa(
  split: DataSplit,
  specIn: ModelSpec,
  recipeIn: Partial<TrainRecipe>,
  sisa: SisaOptions,
  opts: { out: string; assignment?: SisaAssignment; log?: (line: string) => void } ,
): Promise<SisaTrainResult> {
  const t0 = performance.now();
  const spec = ModelSpecSchema.parse(specIn);
  const rp = TrainRecipeSchema.safeParse(recipeIn);
  if (!rp.success) throw new UnlearnError('INVALID_PARAMS', `invalid training recipe: ${rp.error.issues[0]?.path.join('.')}: ${rp.error.issues[0]?.message}`);
  const recipe = rp.data;
  if (spec.inputShape.join('x') !== split.train.shape.join('x') || spec.numClasses !== split.train.numClasses) {
    throw new UnlearnError('SHAPE_MISMATCH', `model expects input [${spec.inputShape}] with ${spec.numClasses} classes, data has [${split.train.shape}] with ${split.train.numClasses}`, 'build the spec from the dataset (specFor)');
  }
  const { shards: S, slices: R } = sisa;
  const unit = sisa.unit ?? 'subject';
  const aggregate = sisa.aggregate ?? 'vote';
  const train = split.train;
  const pos = new Map(train.ids.map((id, i) => [id, i]));
  const assignment = opts.assignment ?? partitionSisa(train, range(train.labels.length), S, R, recipe.seed, unit);
  if (assignment.shards.length !== S || assignment.shards.some((s) => s.slices.length !== R)) {
    throw new UnlearnError('INVALID_PARAMS', `the given assignment is not ${S} shards × ${R} slices`, 'pass the assignment of a model with the same S and R');
  }
  const unknown = assignment.shards.flatMap((s) => s.slices.flat()).find((id) => !pos.has(id));
  if (unknown !== undefined) throw new UnlearnError('INVALID_PARAMS', `assignment names example id ${unknown}, which is not in the training set`, 'check the dataset options');
  const staging = await stagingDir(opts.out);
  const shardsDir = join(staging, 'shards');
  const tasks = assignment.shards.map((s, k) => (shardSize(s) > 0 ? shardTask(train, pos, s, k, spec, recipe, shardsDir) : null));
  const live = tasks.filter((t): t is ShardTask => t !== null);
  const workers = sisa.workers ?? availableParallelism();
  let results: ShardResult[];
  try {
    results = await runShardTasks(live, workers, (r) => opts.log?.(`shard ${r.shard}: trained in ${r.seconds.toFixed(2)} s`), sisa.pool);
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw e;
  }
  const byShard = new Map(results.map((r) => [r.shard, r]));
  const shards: ShardEntry[] = assignment.shards.map((s, k) => {
    const r = byShard.get(k);
    if (!r) return emptyShard(k, R);
    return {
      index: k,
      hash: r.hash,
      dir: `shards/${r.hash}`,
      examples: shardSize(s),
      weightsBytes: r.weightsBytes,
      modelJsonBytes: r.modelJsonBytes,
      checkpoints: r.checkpoints,
      origin: { kind: 'trained', fromSlice: 0, seconds: r.seconds, epochLosses: r.epochLosses },
    };
  });
  const seconds = (performance.now() - t0) / 1000;
  const manifest: SisaManifest = {
    format: SISA_FORMAT,
    modelHash: ensembleHash(spec, aggregate, shards),
    spec,
    recipe,
    sisa: { shards: S, slices: R, aggregate, unit, sliceEpochs: sliceEpochs(recipe.epochs, R), optimizerState: 'reset-per-slice' },
    dataset: { name: split.name, options: split.options, fingerprint: split.fingerprint },
    lineage: lineageOf(train, pos, assignment),
    assignment,
    shards,
    storage: { modelBytes: 0, checkpointBytes: 0, manifestBytes: 0, totalBytes: 0, checkpoints: 0 },
    seed: recipe.seed,
    parent: null,
    method: { id: 'sisa-train', guarantee: 'exact', params: { shards: S, slices: R, aggregate, unit, workers } },
    timings: { wallSeconds: seconds },
    metrics: {},
    backend: backendDescription(),
    createdAt: new Date().toISOString(),
    notes: [],
  };
  try {
    const models = await loadShardModels(staging, manifest);
    const t = ensemblePredictor(models, aggregate)(split.test, range(split.test.labels.length));
    manifest.metrics = { TA: accuracyOf(t) };
    models.forEach((m) => m.dispose());
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw e;
  }
  return { manifest: await commitSisaDir(staging, opts.out, manifest), seconds };
}
