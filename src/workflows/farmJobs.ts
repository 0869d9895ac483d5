/**
 * The jobs of the model farm (farm.ts), run inside worker threads (or in-process): train the
 * original model, retrained models, shadow models; unlearn the original or a shadow with a method.
 * Each job loads its data itself, returns only small per-example arrays (φ, accuracies, wall
 * time), and writes its result (and, for the original and shadows, the model) into the farm's
 * cache directory atomically, so that an interrupted farm resumes where it stopped. A thread that
 * runs many jobs (a farm's pool thread, an `unlearn worker`'s) keeps what it loaded in bounded,
 * content-addressed caches (src/engine/inputCache.ts): splits by fingerprint, shadow pools by
 * theirs, stored models by their directory (named by the manifest hash of the job that trained
 * them), so repeated jobs do not reload and get the same bytes a reload would.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { backendDescription } from '../engine/backend.js';
import { withThreadCpu } from '../engine/cpuTime.js';
import { InputCache, inputCacheBytes, type InputCacheStats } from '../engine/inputCache.js';
import { fingerprintSplit, hashIds, type DataSplit, type Dataset } from '../data/dataset.js';
import { loadDataset } from '../data/registry.js';
import { UnlearnError } from '../errors.js';
import { buildModel } from '../models/build.js';
import { ensureDir, loadModel, saveModel, type StoredModel } from '../models/io.js';
import { checkSeal } from '../models/seal.js';
import type { ModelSpec } from '../models/spec.js';
import { fitFromScratch } from '../train/fit.js';
import type { TrainRecipe } from '../train/recipe.js';
import { trainModel } from '../train/train.js';
import type { ForgetSet } from '../data/forgetSet.js';
import { unlearn } from '../unlearn/index.js';
import { predictPhi } from '../eval/phi.js';

/**
 * How a worker obtains the data: a registry dataset, a module function returning a split, or the
 * split itself packed into typed arrays ({@link packSplit}; what a farm sends to queue workers:
 * the queue stores the arrays once, content-addressed, and each worker reads them once).
 */
export type SplitSource =
  | { dataset: string; options: Record<string, unknown> }
  | { module: string; fn: string; args: unknown[] }
  | { packed: PackedSplit };

/** A dataset as typed arrays only: ids and subjects as UTF-8 of their newline-joined lists. */
export interface PackedDataset {
  features: Float32Array;
  shape: number[];
  labels: Int32Array;
  numClasses: number;
  ids: Uint8Array;
  subjects: Uint8Array;
  targets?: Float64Array;
}
/** A split as {@link PackedDataset}s plus its small fields. */
export interface PackedSplit {
  name: string;
  options: Record<string, unknown>;
  classNames: string[];
  meta: Record<string, unknown>;
  train: PackedDataset;
  test: PackedDataset;
}

const utf8 = new TextEncoder();
const packDataset = (d: Dataset): PackedDataset => ({ features: d.features, shape: d.shape, labels: d.labels, numClasses: d.numClasses, ids: utf8.encode(d.ids.join('\n')), subjects: utf8.encode(d.subjects.join('\n')), ...(d.targets && { targets: d.targets }) });
const unpackList = (b: Uint8Array, n: number) => (n === 0 ? [] : new TextDecoder().decode(b).split('\n'));
const unpackDataset = (d: PackedDataset): Dataset => ({ features: d.features, shape: d.shape, labels: d.labels, numClasses: d.numClasses, ids: unpackList(d.ids, d.labels.length), subjects: unpackList(d.subjects, d.labels.length), ...(d.targets && { targets: d.targets }) });

/** A split as typed arrays (ids and subjects must not contain newlines). @throws UnlearnError INVALID_PARAMS when one does. */
export function packSplit(s: DataSplit): PackedSplit {
  for (const d of [s.train, s.test]) {
    const bad = [...d.ids, ...d.subjects].find((x) => x.includes('\n'));
    if (bad !== undefined) throw new UnlearnError('INVALID_PARAMS', `example id or subject ${JSON.stringify(bad.slice(0, 40))} contains a newline`, 'use ids and subjects without newlines');
  }
  return { name: s.name, options: s.options, classNames: s.classNames, meta: s.meta, train: packDataset(s.train), test: packDataset(s.test) };
}

/** Inverse of {@link packSplit}, with the fingerprint recomputed from the contents. */
export function unpackSplit(p: PackedSplit): DataSplit {
  const train = unpackDataset(p.train);
  const test = unpackDataset(p.test);
  return { name: p.name, options: p.options, classNames: p.classNames, meta: p.meta, train, test, fingerprint: fingerprintSplit(p.name, train, test) };
}

/** Everything the jobs of one farm share (structured-cloneable). */
export interface FarmContext {
  source: SplitSource;
  /** Fingerprint the loaded split must have. */
  fingerprint: string;
  spec: ModelSpec;
  /** Recipe of every from-scratch training (its seed is replaced per job). */
  recipe: TrainRecipe;
  /** Sorted indices into split.train of the forget set D_f. */
  forgetIdx: number[];
  /** Cache directory (results in jobs/, models in models/). */
  cacheDir: string;
  /**
   * The engine every job must run on, as {@link backendDescription} gives it (backend and kernel
   * path, e.g. `wasm (openblas 0.3.21 Zen, 1 thread)`): part of the cache key, since results are
   * bit-for-bit reproducible only under the same description. A job run under another engine
   * throws rather than cache a result under a key that misdescribes it. Absent: not checked (and
   * keyed as unknown).
   */
  engine?: string;
}

/** One unit of work. Pool indices: 0..nTrain−1 are train examples, nTrain.. the test examples. */
export type FarmJob =
  | { kind: 'original'; seed: number }
  | { kind: 'retrain'; seed: number; set: string }
  | { kind: 'unlearn'; method: string; params: Record<string, unknown>; seed: number; originalKey: string }
  | { kind: 'shadow'; index: number; seed: number; members: number[] }
  | { kind: 'shadow-unlearn'; index: number; shadowKey: string; members: number[]; method: string; params: Record<string, unknown>; seed: number };

/** What a job returns (and caches). Arrays are plain numbers so they survive JSON. */
export interface FarmJobResult {
  key: string;
  kind: FarmJob['kind'];
  /** φ on the forget set (original / retrain / unlearn / shadow-unlearn), shape [S]. */
  phiForget?: number[];
  /** φ on the test set (original / retrain / unlearn), shape [nTest]. */
  phiTest?: number[];
  /** φ on the whole pool (shadow), shape [nTrain + nTest]. */
  phiPool?: number[];
  /** Accuracies in [0, 1] (target models). */
  RA?: number;
  FA?: number;
  TA?: number;
  /** Wall time of the training or of the unlearning method alone, seconds. */
  seconds: number;
  /**
   * CPU seconds of the worker thread over the same work (src/engine/cpuTime.ts): the cost
   * measure that does not move with the machine's load. Absent where the thread CPU clock is
   * unavailable, and in results cached before it was recorded.
   */
  cpuSeconds?: number;
  backend: string;
  createdAt: string;
  /** True when the result was read from the cache rather than computed. */
  cached?: boolean;
  /** Where the job's inputs (split, and input model when it has one) came from: this thread's input cache, or loaded. */
  inputs?: 'cached' | 'loaded';
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Version of the cache layout. 2: keys include the engine description, and cached models carry
 * sealed manifests (src/models/seal.ts). Entries of version 1 are never hit (they are rebuilt).
 */
export const FARM_CACHE_VERSION = 2;

/**
 * The cache key of a job: sha256 of its manifest — cache version, engine (backend and kernel
 * path), data fingerprint, model spec, recipe, forget ids (hash), and the job (kind, seed,
 * method + params, shadow members as a hash).
 */
export function jobKey(ctx: FarmContext, job: FarmJob): string {
  const j: Record<string, unknown> = { ...job };
  if ('members' in job) j.members = sha256(job.members.join(','));
  const manifest = { v: FARM_CACHE_VERSION, engine: ctx.engine ?? null, fingerprint: ctx.fingerprint, spec: ctx.spec, recipe: { ...ctx.recipe, seed: undefined }, forget: sha256(ctx.forgetIdx.join(',')), job: j };
  return sha256(JSON.stringify(manifest));
}

export const resultPath = (cacheDir: string, key: string) => join(cacheDir, 'jobs', `${key}.json`);
export const modelPath = (cacheDir: string, key: string) => join(cacheDir, 'models', key);

/** Write text atomically (temp name unique per thread, then rename). */
async function writeAtomic(path: string, text: string): Promise<void> {
  await ensureDir(dirname(path));
  const tmp = `${path}.tmp-${process.pid}-${threadId}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/**
 * A cached result, or undefined when absent, unreadable, or (when it has one) its model is missing
 * or its manifest's seal is broken (e.g. written before manifests were sealed): such entries are
 * recomputed and overwritten, never loaded.
 */
export async function readCachedResult(cacheDir: string, key: string, needsModel: boolean): Promise<FarmJobResult | undefined> {
  const p = resultPath(cacheDir, key);
  if (!existsSync(p)) return undefined;
  if (needsModel) {
    const mp = join(modelPath(cacheDir, key), 'manifest.json');
    if (!existsSync(mp)) return undefined;
    try {
      checkSeal(JSON.parse(await readFile(mp, 'utf8')) as object, modelPath(cacheDir, key));
    } catch {
      return undefined;
    }
  }
  try {
    const r = JSON.parse(await readFile(p, 'utf8')) as FarmJobResult;
    return r.key === key ? { ...r, cached: true } : undefined;
  } catch {
    return undefined; // unreadable: recompute
  }
}

const datasetBytes = (d: Dataset) => d.features.byteLength + d.labels.byteLength + 64 * d.ids.length;
/** This thread's splits (and shadow pools) by fingerprint. */
const splits = new InputCache<DataSplit>({ maxBytes: inputCacheBytes(), sizeOf: (s) => datasetBytes(s.train) + datasetBytes(s.test) });
/** This thread's stored models by directory (its last component is the training job's key, a content hash). */
const storedModels = new InputCache<StoredModel>({ maxBytes: inputCacheBytes(), sizeOf: (m) => 4 * m.model.countParams(), dispose: (m) => m.model.dispose() });

/** Hits and misses of this thread's input caches (splits and stored models). */
export function farmInputCacheStats(): { splits: InputCacheStats; models: InputCacheStats } {
  return { splits: splits.stats, models: storedModels.stats };
}

/** Load the split a {@link SplitSource} names (no fingerprint check). @throws whatever the loader throws. */
export async function loadSplitSource(s: SplitSource): Promise<DataSplit> {
  if ('packed' in s) return unpackSplit(s.packed);
  return 'dataset' in s ? loadDataset(s.dataset, s.options) : ((await import(s.module))[s.fn](...s.args) as Promise<DataSplit>);
}

/**
 * The split of a context, checked against the expected fingerprint: from this thread's input
 * cache (keyed by the fingerprint, the split's content hash) or loaded from its source.
 * @throws UnlearnError DATASET_INVALID when the source gives data with another fingerprint (not cached).
 */
export async function loadFarmSplit(ctx: Pick<FarmContext, 'source' | 'fingerprint'>): Promise<DataSplit> {
  return (await farmSplit(ctx)).split;
}

async function farmSplit(ctx: Pick<FarmContext, 'source' | 'fingerprint'>): Promise<{ split: DataSplit; cached: boolean }> {
  const { value, cached } = await splits.get(ctx.fingerprint, async () => {
    const split = await loadSplitSource(ctx.source);
    if (split.fingerprint !== ctx.fingerprint) {
      throw new UnlearnError('DATASET_INVALID', `farm data has fingerprint ${split.fingerprint.slice(0, 12)}, expected ${ctx.fingerprint.slice(0, 12)}`, 'clear the cache directory or restore the data');
    }
    return split;
  });
  return { split: value, cached };
}

function concat(a: Dataset, b: Dataset): Dataset {
  const features = new Float32Array(a.features.length + b.features.length);
  features.set(a.features);
  features.set(b.features, a.features.length);
  const labels = new Int32Array(a.labels.length + b.labels.length);
  labels.set(a.labels);
  labels.set(b.labels, a.labels.length);
  return { features, labels, shape: a.shape, numClasses: a.numClasses, ids: [...a.ids, ...b.ids], subjects: [...a.subjects, ...b.subjects] };
}

/**
 * The shadow models' data: a split whose train side is the pool (train then test examples of
 * `split`) and whose test side is the original test set, with its own fingerprint.
 */
export function poolSplit(split: DataSplit): DataSplit {
  const train = concat(split.train, split.test);
  const name = `${split.name}+pool`;
  return { ...split, name, train, fingerprint: fingerprintSplit(name, train, split.test) };
}

/** {@link poolSplit} from this thread's input cache (keyed by the split's fingerprint). */
async function cachedPool(split: DataSplit): Promise<DataSplit> {
  return (await splits.get(`pool:${split.fingerprint}`, async () => poolSplit(split))).value;
}

/** The ForgetSet of given sorted train indices (lineage = every train example). */
export function forgetSetOf(train: Dataset, forgetIdx: ArrayLike<number>): ForgetSet {
  const f = new Set(Array.from(forgetIdx));
  const retain: number[] = [];
  for (let i = 0; i < train.labels.length; i++) if (!f.has(i)) retain.push(i);
  const fIdx = Int32Array.from(forgetIdx);
  return {
    forgetIdx: fIdx,
    retainIdx: Int32Array.from(retain),
    forgetIds: Array.from(fIdx, (i) => train.ids[i]),
    subjects: [...new Set(Array.from(fIdx, (i) => train.subjects[i]))].sort(),
  };
}

const meanOf = (c: Uint8Array) => c.reduce((a, b) => a + b, 0) / Math.max(c.length, 1);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** φ and accuracies of a target model on forget, retain and test sets. */
function targetOutputs(model: import('@tensorflow/tfjs-layers').LayersModel, split: DataSplit, forget: ForgetSet) {
  const f = predictPhi(model, split.train, forget.forgetIdx);
  const r = predictPhi(model, split.train, forget.retainIdx);
  const t = predictPhi(model, split.test, range(split.test.labels.length));
  return { phiForget: Array.from(f.phi), phiTest: Array.from(t.phi), FA: meanOf(f.correct), RA: meanOf(r.correct), TA: meanOf(t.correct) };
}

/** Run `fn` with the stored model at `path`, from this thread's input cache (pinned while `fn` runs) or loaded. */
function withStored<R>(path: string, fn: (m: StoredModel, cached: boolean) => Promise<R>): Promise<R> {
  return storedModels.use(path, () => loadModel(path), fn);
}

/**
 * Run one farm job (inside a pool worker or in-process) and cache its result. The caller has
 * already checked the cache; a job whose result exists is recomputed and overwritten.
 * @throws UnlearnError BACKEND_UNAVAILABLE when this thread's engine is not `ctx.engine`;
 *   DATASET_INVALID when the data's fingerprint differs from the context's;
 *   MODEL_MISSING when a job's input model (original / shadow) is not in the cache; and whatever
 *   training or the method throws.
 */
export async function runFarmJob(args: { ctx: FarmContext; job: FarmJob }): Promise<FarmJobResult> {
  const { ctx, job } = args;
  const key = jobKey(ctx, job);
  if (ctx.engine !== undefined && backendDescription() !== ctx.engine) {
    throw new UnlearnError('BACKEND_UNAVAILABLE', `farm job runs on ${backendDescription()}, the farm expects ${ctx.engine}`, 'run every farm worker with the same --backend, native build and UNLEARN_NATIVE_THREADS');
  }
  const { split, cached: splitCached } = await farmSplit(ctx);
  let inputsCached = splitCached;
  const forget = forgetSetOf(split.train, ctx.forgetIdx);
  const recipe = { ...ctx.recipe, seed: job.seed };
  const base = { key, kind: job.kind, backend: backendDescription(), createdAt: new Date().toISOString() };
  let result: FarmJobResult;
  if (job.kind === 'original') {
    const { result: fit, cpuSeconds } = await withThreadCpu(() => fitFromScratch(split, ctx.spec, recipe, { quiet: true }));
    await saveModel(modelPath(ctx.cacheDir, key), fit.model, fit.manifest, { replace: true }); // a cache entry: an orphan of a killed run is rewritten
    result = { ...base, ...targetOutputs(fit.model, split, forget), seconds: fit.seconds, cpuSeconds };
    fit.model.dispose();
  } else if (job.kind === 'retrain') {
    const model = buildModel(ctx.spec, job.seed);
    const { result: r, cpuSeconds } = await withThreadCpu(() => trainModel(model, split.train, forget.retainIdx, recipe, { quiet: true }));
    result = { ...base, ...targetOutputs(model, split, forget), seconds: r.seconds, cpuSeconds };
    model.dispose();
  } else if (job.kind === 'unlearn') {
    const dir = modelPath(ctx.cacheDir, job.originalKey);
    if (!existsSync(join(dir, 'manifest.json'))) throw new UnlearnError('MODEL_MISSING', `farm: original model ${job.originalKey.slice(0, 12)} not in the cache`, 'run the original job first');
    result = await withStored(dir, async (stored, hit) => {
      inputsCached &&= hit;
      const { result: res, cpuSeconds } = await withThreadCpu(() => unlearn(stored, split, forget, job.method, job.params, { seed: job.seed, quiet: true }));
      const out = { ...base, ...targetOutputs(res.model, split, forget), seconds: res.seconds, cpuSeconds };
      res.model.dispose();
      return out;
    });
  } else if (job.kind === 'shadow') {
    const pool = await cachedPool(split);
    const members = Int32Array.from(job.members);
    const model = buildModel(ctx.spec, job.seed);
    const { result: r, cpuSeconds } = await withThreadCpu(() => trainModel(model, pool.train, members, recipe, { quiet: true }));
    const ids = Array.from(members, (i) => pool.train.ids[i]);
    await saveModel(modelPath(ctx.cacheDir, key), model, {
      format: 'unlearn-model/1',
      spec: ctx.spec,
      dataset: { name: pool.name, options: split.options, fingerprint: pool.fingerprint },
      lineage: { trainIds: ids, trainIdsSha256: hashIds(ids), numExamples: ids.length, numSubjects: new Set(Array.from(members, (i) => pool.train.subjects[i])).size },
      recipe,
      seed: job.seed,
      parent: null,
      method: { id: 'train', guarantee: 'exact', params: {} },
      timings: { wallSeconds: r.seconds },
      metrics: { trainLoss: r.epochLosses },
      backend: backendDescription(),
      createdAt: base.createdAt,
      extra: { shadow: job.index },
    }, { replace: true });
    result = { ...base, phiPool: Array.from(predictPhi(model, pool.train, range(pool.train.labels.length)).phi), seconds: r.seconds, cpuSeconds };
    model.dispose();
  } else {
    const pool = await cachedPool(split);
    const dir = modelPath(ctx.cacheDir, job.shadowKey);
    if (!existsSync(join(dir, 'manifest.json'))) throw new UnlearnError('MODEL_MISSING', `farm: shadow model ${job.shadowKey.slice(0, 12)} not in the cache`, 'run the shadow job first');
    result = await withStored(dir, async (stored, hit) => {
      inputsCached &&= hit;
      const inShadow = new Set(job.members);
      const ids = ctx.forgetIdx.filter((i) => inShadow.has(i)).map((i) => pool.train.ids[i]);
      if (ids.length === 0) {
        // The shadow never saw a forget example: nothing to unlearn, its outputs stand.
        return { ...base, phiForget: Array.from(predictPhi(stored.model, pool.train, ctx.forgetIdx).phi), seconds: 0, cpuSeconds: 0 };
      }
      const { result: res, cpuSeconds } = await withThreadCpu(() => unlearn(stored, pool, { ids }, job.method, job.params, { seed: job.seed, quiet: true }));
      const out = { ...base, phiForget: Array.from(predictPhi(res.model, pool.train, ctx.forgetIdx).phi), seconds: res.seconds, cpuSeconds };
      res.model.dispose();
      return out;
    });
  }
  result.inputs = inputsCached ? 'cached' : 'loaded';
  await writeAtomic(resultPath(ctx.cacheDir, key), JSON.stringify({ ...result, job: 'members' in job ? { ...job, members: job.members.length } : job }) + '\n');
  return result;
}

/** The cost of a set of runs as a fraction of retraining (see `runCost`). */
export interface RunCost {
  /** Mean wall seconds of one run. */
  seconds: number;
  /** Mean worker-thread CPU seconds of one run; null when any run (or reference) lacks it. */
  cpuSeconds: number | null;
  /** The headline cost: CPU seconds / the reference's mean CPU seconds when both are known, else the wall ratio. */
  cost: number;
  /** Wall seconds / the reference's mean wall seconds (moves with the machine's load). */
  wallCost: number;
  /** Which clock `cost` is on. */
  clock: 'cpu' | 'wall';
}

/**
 * Cost of `runs` against the reference retrained models `reference` (the NeurIPS 2023 challenge's
 * budget is a fraction of retraining time). CPU time is preferred: on a shared machine the wall
 * time of jobs run later in a farm grows with the load, while a worker thread's CPU time does not.
 * Throws UnlearnError INVALID_PARAMS when either list is empty.
 */
export function runCost(runs: FarmJobResult[], reference: FarmJobResult[]): RunCost {
  if (runs.length === 0 || reference.length === 0) throw new UnlearnError('INVALID_PARAMS', 'runCost: no runs or no reference runs', 'pass at least one run and one retrained model');
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const seconds = avg(runs.map((r) => r.seconds));
  const wallCost = seconds / avg(reference.map((r) => r.seconds));
  const known = (xs: FarmJobResult[]) => xs.every((r) => typeof r.cpuSeconds === 'number');
  if (!known(runs) || !known(reference)) return { seconds, cpuSeconds: null, cost: wallCost, wallCost, clock: 'wall' };
  const cpuSeconds = avg(runs.map((r) => r.cpuSeconds!));
  return { seconds, cpuSeconds, cost: cpuSeconds / avg(reference.map((r) => r.cpuSeconds!)), wallCost, clock: 'cpu' };
}
