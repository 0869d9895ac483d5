/**
 * The jobs of the model farm (farm.ts), run inside worker threads (or in-process): train the
 * original model, retrained models, shadow models; unlearn the original or a shadow with a method.
 * Each job loads its data itself, returns only small per-example arrays (φ, accuracies, wall
 * time), and writes its result (and, for the original and shadows, the model) into the farm's
 * cache directory atomically, so that an interrupted farm resumes where it stopped.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { backendDescription } from '../engine/backend.js';
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

/** How a worker obtains the data: a registry dataset, or a module function returning a split. */
export type SplitSource =
  | { dataset: string; options: Record<string, unknown> }
  | { module: string; fn: string; args: unknown[] };

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
  backend: string;
  createdAt: string;
  /** True when the result was read from the cache rather than computed. */
  cached?: boolean;
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

const splits = new Map<string, Promise<DataSplit>>();
const pools = new Map<string, { split: DataSplit; pool: DataSplit }>();
const storedModels = new Map<string, Promise<StoredModel>>();

/** The split of a context (memoised per thread), checked against the expected fingerprint. */
export async function loadFarmSplit(ctx: Pick<FarmContext, 'source' | 'fingerprint'>): Promise<DataSplit> {
  const id = JSON.stringify(ctx.source);
  if (!splits.has(id)) {
    const s = ctx.source;
    splits.set(id, 'dataset' in s ? loadDataset(s.dataset, s.options) : import(s.module).then((m) => m[s.fn](...s.args) as Promise<DataSplit>));
  }
  const split = await splits.get(id)!;
  if (split.fingerprint !== ctx.fingerprint) {
    throw new UnlearnError('DATASET_INVALID', `farm data has fingerprint ${split.fingerprint.slice(0, 12)}, expected ${ctx.fingerprint.slice(0, 12)}`, 'clear the cache directory or restore the data');
  }
  return split;
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
  const cached = pools.get(split.fingerprint);
  if (cached?.split === split) return cached.pool;
  const train = concat(split.train, split.test);
  const name = `${split.name}+pool`;
  const pool = { ...split, name, train, fingerprint: fingerprintSplit(name, train, split.test) };
  pools.set(split.fingerprint, { split, pool });
  return pool;
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

async function getStored(path: string): Promise<StoredModel> {
  if (!storedModels.has(path)) storedModels.set(path, loadModel(path));
  return storedModels.get(path)!;
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
  const split = await loadFarmSplit(ctx);
  const forget = forgetSetOf(split.train, ctx.forgetIdx);
  const recipe = { ...ctx.recipe, seed: job.seed };
  const base = { key, kind: job.kind, backend: backendDescription(), createdAt: new Date().toISOString() };
  let result: FarmJobResult;
  if (job.kind === 'original') {
    const fit = await fitFromScratch(split, ctx.spec, recipe, { quiet: true });
    await saveModel(modelPath(ctx.cacheDir, key), fit.model, fit.manifest, { replace: true }); // a cache entry: an orphan of a killed run is rewritten
    result = { ...base, ...targetOutputs(fit.model, split, forget), seconds: fit.seconds };
    fit.model.dispose();
  } else if (job.kind === 'retrain') {
    const model = buildModel(ctx.spec, job.seed);
    const r = await trainModel(model, split.train, forget.retainIdx, recipe, { quiet: true });
    result = { ...base, ...targetOutputs(model, split, forget), seconds: r.seconds };
    model.dispose();
  } else if (job.kind === 'unlearn') {
    const dir = modelPath(ctx.cacheDir, job.originalKey);
    if (!existsSync(join(dir, 'manifest.json'))) throw new UnlearnError('MODEL_MISSING', `farm: original model ${job.originalKey.slice(0, 12)} not in the cache`, 'run the original job first');
    const stored = await getStored(dir);
    const res = await unlearn(stored, split, forget, job.method, job.params, { seed: job.seed, quiet: true });
    result = { ...base, ...targetOutputs(res.model, split, forget), seconds: res.seconds };
    res.model.dispose();
  } else if (job.kind === 'shadow') {
    const pool = poolSplit(split);
    const members = Int32Array.from(job.members);
    const model = buildModel(ctx.spec, job.seed);
    const r = await trainModel(model, pool.train, members, recipe, { quiet: true });
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
    result = { ...base, phiPool: Array.from(predictPhi(model, pool.train, range(pool.train.labels.length)).phi), seconds: r.seconds };
    model.dispose();
  } else {
    const pool = poolSplit(split);
    const dir = modelPath(ctx.cacheDir, job.shadowKey);
    if (!existsSync(join(dir, 'manifest.json'))) throw new UnlearnError('MODEL_MISSING', `farm: shadow model ${job.shadowKey.slice(0, 12)} not in the cache`, 'run the shadow job first');
    const stored = await getStored(dir);
    const inShadow = new Set(job.members);
    const ids = ctx.forgetIdx.filter((i) => inShadow.has(i)).map((i) => pool.train.ids[i]);
    if (ids.length === 0) {
      // The shadow never saw a forget example: nothing to unlearn, its outputs stand.
      result = { ...base, phiForget: Array.from(predictPhi(stored.model, pool.train, ctx.forgetIdx).phi), seconds: 0 };
    } else {
      const res = await unlearn(stored, pool, { ids }, job.method, job.params, { seed: job.seed, quiet: true });
      result = { ...base, phiForget: Array.from(predictPhi(res.model, pool.train, ctx.forgetIdx).phi), seconds: res.seconds };
      res.model.dispose();
    }
  }
  await writeAtomic(resultPath(ctx.cacheDir, key), JSON.stringify({ ...result, job: 'members' in job ? { ...job, members: job.members.length } : job }) + '\n');
  return result;
}
