/**
 * The method benchmark behind `unlearn bench`: for one dataset, model, recipe and forget request,
 * train (in the model farm, farm.ts) the original model, N retrained models (the reference), N
 * more retrained models with other seeds (the ceiling row), N unlearning runs of each method from
 * the original, K shadow models on random halves of train ∪ test, and the shadows unlearned by each
 * method; then score every method with the NeurIPS 2023 challenge score, the loss-threshold MIA,
 * LiRA (online, offline) and U-LiRA, and its cost vs retraining.
 */
import type { TaskPool } from '../engine/workerPool.js';
import { availableParallelism } from 'node:os';
import { hashIds, type DataSplit } from '../data/dataset.js';
import { loadSplitSource, runCost } from './farmJobs.js';
import type { BackendName } from '../engine/backend.js';
import { deriveSeed, Rng } from '../engine/rng.js';
import { SubjectIndex } from '../data/pseudonym.js';
import { UnlearnError } from '../errors.js';
import type { Guarantee } from '../models/manifest.js';
import { specFor } from '../train/fit.js';
import { TrainRecipeSchema, type TrainRecipe } from '../train/recipe.js';
import { selectForgetSet, type ForgetSelector } from '../data/forgetSet.js';
import { getMethod } from '../unlearn/registry.js';
import { challengeScore, minResolvingModels, type ChallengeScoreAggregate } from '../eval/challengeScore.js';
import { initEngine, backendDescription } from '../engine/backend.js';
import { configureNativeForPool } from '../engine/native.js';
import { checkModelFitsData, resolveBenchForget, type BenchForget, type BenchModelKind } from './benchSetup.js';
import { ModelFarm, type FarmContext, type FarmJob, type FarmJobResult, type FarmProgress, type SplitSource } from './farm.js';
import { lira, sameClassHeldOut, type AttackAggregate } from '../eval/lira.js';
import { lossMembershipInference } from '../eval/lossMia.js';
import { lossFromPhi } from '../eval/phi.js';
import { ulira } from '../eval/ulira.js';

/** One method of the benchmark with its params. */
export interface BenchMethod {
  id: string;
  params?: Record<string, unknown>;
}

/** Options of {@link runBenchmark}. */
export interface BenchOptions {
  /** Registry dataset and its options, or a module function giving the split (tests). */
  source: SplitSource;
  methods: BenchMethod[];
  /** N: unlearning runs per method and retrained models per side. ≥ 2. */
  models: number;
  /** K: shadow models for LiRA / U-LiRA (even, ≥ 2). */
  shadows: number;
  forget: BenchForget;
  /** Model kind (default `mlp`); a `cnn` needs image-shaped data ([h, w, c], e.g. `image: true`). */
  model?: BenchModelKind;
  /** Model: MLP hidden sizes (default [128]). */
  hidden?: number[];
  /** CNN: conv filters per block (default [16, 32]) and dense width (default 64). */
  filters?: number[];
  dense?: number;
  /** Training recipe of every from-scratch model (defaults: Adam 1e-3, 8 epochs, batch 128). */
  recipe?: Partial<TrainRecipe>;
  seed?: number;
  cacheDir: string;
  workers?: number;
  backend?: BackendName | 'auto';
  onProgress?: (p: FarmProgress) => void;
  /** Run the farm's jobs on this pool (queue workers) instead of local threads. */
  pool?: TaskPool;
  /** LiRA / U-LiRA with one global variance per side (default: when K < 64, as Carlini et al. advise). */
  globalVariance?: boolean;
  /** Params taken from tune manifests (recorded in the result; `methods` already carry them). */
  tuned?: { method: string; from: string; trial: number }[];
  /** One line for the report's header (e.g. a documented reduction of the data or the model). */
  note?: string;
}

/** One leaderboard row. Accuracies in [0, 1]; AUCs in [0, 1]; seconds of wall time. */
export interface BenchRow {
  /** `original`, `retrain` (the ceiling: independent retrained models) or a method id. */
  method: string;
  guarantee: Guarantee | 'none';
  params: Record<string, unknown>;
  /** Challenge score against the N reference retrained models. */
  challenge: ChallengeScoreAggregate;
  /** Mean over the row's models. */
  RA: number;
  FA: number;
  TA: number;
  /** Loss-threshold MIA (forget vs test), mean AUC over the row's models. */
  lossMiaAuc: number;
  /** LiRA online / offline (targets: forget = member, test examples of the forget set's classes = non-member, under the row's models). */
  lira: AttackAggregate;
  liraOffline: AttackAggregate;
  /** U-LiRA: the row's models vs the reference retrained models on the forget set. */
  ulira: AttackAggregate;
  /** Mean wall time of one run of the method (training time for original / retrain), seconds. */
  seconds: number;
  /** Mean worker-thread CPU seconds of one run; null when not measured (see runCost). */
  cpuSeconds: number | null;
  /** Cost vs retraining on `costClock`: CPU seconds / mean retrain CPU seconds when measured, else the wall ratio. */
  cost: number;
  /** seconds / mean retrain seconds (moves with the machine's load). */
  wallCost: number;
  costClock: 'cpu' | 'wall';
  /** Per forget example ε of the challenge score (forget-set order). */
  epsilon: number[];
}

/** Everything a benchmark produced (JSON-serialisable). */
export interface BenchResult {
  config: {
    dataset: string;
    datasetOptions: Record<string, unknown>;
    fingerprint: string;
    spec: FarmContext['spec'];
    recipe: TrainRecipe;
    forget: BenchForget;
    forgetSize: number;
    forgetIdsSha256: string;
    models: number;
    shadows: number;
    seed: number;
    workers: number;
    backend: string;
    methods: BenchMethod[];
    globalVariance: boolean;
    /** Methods whose params came from tune manifests. */
    tuned?: { method: string; from: string; trial: number }[];
    note?: string;
    /** LiRA's non-member targets (see sameClassHeldOut in src/eval/lira.ts) and how many there are. */
    liraNonMembers: { rule: string; count: number };
  };
  rows: BenchRow[];
  farm: { jobs: number; computed: number; cached: number };
  wallSeconds: number;
  createdAt: string;
}

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

/**
 * Run the benchmark (see the module comment). Deterministic for a given seed and backend; cached
 * farm results are reused (see farm.ts).
 * @throws UnlearnError INVALID_PARAMS (N below minResolvingModels() = 3, K odd or < 2, empty method list), UNKNOWN_METHOD,
 *   SUBJECT_NOT_FOUND / INVALID_PARAMS from the forget selector, DATASET_* from loading.
 */
export async function runBenchmark(o: BenchOptions): Promise<BenchResult> {
  const t0 = performance.now();
  const N = o.models;
  const K = o.shadows;
  const minN = minResolvingModels();
  if (!Number.isInteger(N) || N < minN) {
    throw new UnlearnError('INVALID_PARAMS', `--models ${N} cannot resolve any ε: N models per side show at most ε = ln(N − 1 − Nδ), which is > 0 only from N = ${minN}`, `use --models ${minN} or more (32 for a meaningful score)`);
  }
  if (!Number.isInteger(K) || K < 2 || K % 2) throw new UnlearnError('INVALID_PARAMS', `--shadows must be an even integer ≥ 2, got ${K}`);
  const methods = o.methods.filter((m) => m.id !== 'retrain');
  // Fail fast, before any training: unknown ids and invalid params.
  for (const m of o.methods) {
    const p = getMethod(m.id).paramsSchema.safeParse(m.params ?? {});
    if (!p.success) throw new UnlearnError('INVALID_PARAMS', `${m.id}: ${p.error.issues[0]?.path.join('.') || 'params'}: ${p.error.issues[0]?.message}`, `see \`unlearn methods\` for ${m.id}'s params`);
  }
  const seed = o.seed ?? 0;
  const split: DataSplit = await loadSplitSource(o.source);
  const source: SplitSource = 'dataset' in o.source ? { dataset: o.source.dataset, options: split.options } : o.source;
  // Subjects may be named by pseudonym; reports record only pseudonyms (personal data).
  const subjectIndex = SubjectIndex.forSplit(split);
  const selector = resolveBenchForget(split, o.forget);
  checkModelFitsData(o.model ?? 'mlp', split);
  const forget = selectForgetSet(split.train, split.train.ids, selector, { seed, resolveSubject: (s) => subjectIndex.resolve(s) });
  const forgetRecord: ForgetSelector = selector.subjects ? { ...selector, subjects: selector.subjects.map((s) => subjectIndex.display(subjectIndex.resolve(s))) } : selector;
  if (o.forget.subjectRank !== undefined) (forgetRecord as BenchForget).subjectRank = o.forget.subjectRank;
  const recipe = TrainRecipeSchema.parse({ optimizer: 'adam', learningRate: 1e-3, epochs: 8, batchSize: 128, ...o.recipe, seed });
  const ctx: FarmContext = {
    source,
    fingerprint: split.fingerprint,
    spec: specFor(split, o.model ?? 'mlp', { hidden: o.hidden ?? [128], filters: o.filters, dense: o.dense }),
    recipe,
    forgetIdx: Array.from(forget.forgetIdx),
    cacheDir: o.cacheDir,
    // Local workers run the engine this thread runs: it is part of every cache key. Queue workers
    // are other processes (their engine is recorded per result, not keyed).
    engine: o.pool ? undefined : (configureNativeForPool(o.workers ?? availableParallelism()), await initEngine(o.backend ?? 'auto'), backendDescription()),
  };
  const farm = new ModelFarm(ctx, { workers: o.workers, backend: o.backend, onProgress: o.onProgress, pool: o.pool });
  try {
    // Shadow memberships: every pool example in exactly K/2 shadows (Carlini et al.'s construction).
    const nPool = split.train.labels.length + split.test.labels.length;
    const rng = new Rng(deriveSeed(seed, 'shadows'));
    const members: number[][] = Array.from({ length: K }, () => []);
    for (let x = 0; x < nPool; x++) {
      const perm = rng.permutation(K);
      for (let j = 0; j < K / 2; j++) members[perm[j]].push(x);
    }
    for (const m of members) m.sort((a, b) => a - b);
    const originalJob: FarmJob = { kind: 'original', seed };
    const shadowJobs: FarmJob[] = members.map((mem, k) => ({ kind: 'shadow', index: k, seed: deriveSeed(seed, `shadow/${k}`), members: mem }));
    const retrainA: FarmJob[] = Array.from({ length: N }, (_, i) => ({ kind: 'retrain', set: 'reference', seed: deriveSeed(seed, `retrain/reference/${i}`) }));
    const retrainB: FarmJob[] = Array.from({ length: N }, (_, i) => ({ kind: 'retrain', set: 'ceiling', seed: deriveSeed(seed, `retrain/ceiling/${i}`) }));
    const originalKey = farm.key(originalJob);
    const unlearnJobs = methods.map((m) => Array.from({ length: N }, (_, i): FarmJob => ({ kind: 'unlearn', method: m.id, params: m.params ?? {}, seed: deriveSeed(seed, `unlearn/${m.id}/${i}`), originalKey })));
    const shadowMethods = [{ id: 'retrain', params: {} }, ...methods];
    const shadowUnlearnJobs = shadowMethods.map((m) =>
      shadowJobs.map((sj, k): FarmJob => ({ kind: 'shadow-unlearn', index: k, shadowKey: farm.key(sj), members: members[k], method: m.id, params: m.params ?? {}, seed: deriveSeed(seed, `shadow-unlearn/${m.id}/${k}`) })),
    );
    const phaseA = [originalJob, ...shadowJobs];
    // Method by method (its N runs, then its K unlearned shadows), so that an interrupted run
    // leaves whole methods in the cache, which a rerun with those methods re-scores for free.
    const phaseB = [...retrainA, ...retrainB, ...shadowUnlearnJobs[0], ...methods.flatMap((_, i) => [...unlearnJobs[i], ...shadowUnlearnJobs[i + 1]])];
    const total = phaseA.length + phaseB.length;
    const [original, ...shadows] = await farm.run(phaseA, { total });
    const b = await farm.run(phaseB, { offset: phaseA.length, total });
    const ref = b.slice(0, N);
    const ceiling = b.slice(N, 2 * N);
    const shadowUnlearned = [b.slice(2 * N, 2 * N + K)];
    let at = 2 * N + K;
    const runs = methods.map(() => {
      const r = b.slice(at, at + N);
      shadowUnlearned.push(b.slice(at + N, at + N + K));
      at += N + K;
      return r;
    });

    // LiRA shadows over the pool: role 1 = trained on the example.
    const inPool = members.map((mem) => {
      const r = new Int8Array(nPool);
      for (const x of mem) r[x] = 1;
      return r;
    });
    const liraShadows = { phi: shadows.map((s) => s.phiPool!), role: inPool };
    const forgetPool = ctx.forgetIdx; // pool index of a train example = its train index
    const nTrain = split.train.labels.length;
    const nTest = split.test.labels.length;
    // LiRA's non-member targets: held-out examples of the forget set's classes (same-class contrast).
    const liraTest = sameClassHeldOut(split.train.labels, forgetPool, split.test.labels);
    const shadowForgetRole = inPool.map((r) => forgetPool.map((x) => r[x]));
    // Per-example variances need many shadows; below 64 Carlini et al. use one global variance.
    const globalVariance = o.globalVariance ?? K < 64;

    const score = (method: string, guarantee: Guarantee | 'none', params: Record<string, unknown>, models: FarmJobResult[], uliraShadowPhi: number[][]): BenchRow => {
      const c = challengeScore({
        unlearnedPhi: models.length === N ? models.map((m) => m.phiForget!) : Array.from({ length: N }, () => models[0].phiForget!),
        retrainedPhi: ref.map((m) => m.phiForget!),
        unlearnedRA: models.length === N ? models.map((m) => m.RA!) : Array(N).fill(models[0].RA!),
        unlearnedTA: models.length === N ? models.map((m) => m.TA!) : Array(N).fill(models[0].TA!),
        retrainedRA: ref.map((m) => m.RA!),
        retrainedTA: ref.map((m) => m.TA!),
      });
      const miaAucs = models.map((m, i) => lossMembershipInference({ forgetLosses: m.phiForget!.map(lossFromPhi), testLosses: m.phiTest!.map(lossFromPhi), seed: deriveSeed(seed, `mia/${i}`) }).aggregate.auc);
      const S = forgetPool.length;
      const targetPhi: number[] = [];
      const targetExample: number[] = [];
      const isMember: number[] = [];
      for (const m of models) {
        m.phiForget!.forEach((v, j) => (targetPhi.push(v), targetExample.push(forgetPool[j]), isMember.push(1)));
        for (const t of liraTest) (targetPhi.push(m.phiTest![t]), targetExample.push(nTrain + t), isMember.push(0));
      }
      const liraIn = { shadows: liraShadows, targetPhi, targetExample, isMember, globalVariance };
      const u = ulira({ shadowPhi: uliraShadowPhi, shadowUnlearned: shadowForgetRole, unlearnedPhi: models.map((m) => m.phiForget!), retrainedPhi: ref.map((m) => m.phiForget!), globalVariance });
      const c$ = runCost(models, ref);
      if (S === 0 || nTest === 0) throw new UnlearnError('INVALID_PARAMS', 'empty forget or test set');
      return {
        method,
        guarantee,
        params,
        challenge: c.aggregate,
        RA: mean(models.map((m) => m.RA!)),
        FA: mean(models.map((m) => m.FA!)),
        TA: mean(models.map((m) => m.TA!)),
        lossMiaAuc: mean(miaAucs),
        lira: lira(liraIn).aggregate,
        liraOffline: lira({ ...liraIn, mode: 'offline' }).aggregate,
        ulira: u.aggregate,
        seconds: c$.seconds,
        cpuSeconds: c$.cpuSeconds,
        cost: c$.cost,
        wallCost: c$.wallCost,
        costClock: c$.clock,
        epsilon: Array.from(c.perExample.epsilon),
      };
    };
    const rows: BenchRow[] = [];
    // θ_o itself as the "method" that does nothing: U-LiRA's shadows are the trained shadows.
    rows.push(score('original', 'none', {}, [original], shadows.map((s) => forgetPool.map((x) => s.phiPool![x]))));
    rows.push(score('retrain', 'exact', {}, ceiling, shadowUnlearned[0].map((s) => s.phiForget!)));
    methods.forEach((m, i) => rows.push(score(m.id, getMethod(m.id).guarantee, m.params ?? {}, runs[i], shadowUnlearned[i + 1].map((s) => s.phiForget!))));
    return {
      config: {
        dataset: split.name,
        datasetOptions: split.options,
        fingerprint: split.fingerprint,
        spec: ctx.spec,
        recipe,
        forget: forgetRecord,
        forgetSize: forget.forgetIdx.length,
        forgetIdsSha256: hashIds(forget.forgetIds),
        models: N,
        shadows: K,
        seed,
        workers: o.workers ?? availableParallelism(),
        backend: original.backend,
        methods: o.methods,
        globalVariance: o.globalVariance ?? K < 64,
        ...(o.tuned ? { tuned: o.tuned } : {}),
        ...(o.note ? { note: o.note } : {}),
        liraNonMembers: { rule: 'test examples of the forget set\'s classes', count: liraTest.length },
      },
      rows,
      farm: { jobs: total, ...farm.stats },
      wallSeconds: (performance.now() - t0) / 1000,
      createdAt: new Date().toISOString(),
    };
  } finally {
    await farm.close();
  }
}
