/**
 * `unlearn tune`: search a method's params within the NeurIPS 2023 challenge's compute budget.
 *
 * Protocol (seeded, documented, small):
 * 1. The scored forget set D_f is resolved exactly as `unlearn bench` resolves it (same selector,
 *    seed), and a validation forget set D_v of the same kind and size is drawn *disjoint* from it
 *    ({@link validationForgetSet}); D_f is never looked at again.
 * 2. In the model farm (farm.ts): the original θ_o, N models retrained without D_v (the reference
 *    and the retrain time T_r), and for each trial N runs of the method from θ_o on D_v.
 * 3. Trials: the method's defaults first, then a seeded random sample without replacement from the
 *    grid {@link SEARCH_SPACES}[method] (random search over a small grid).
 * 4. Each trial is scored by the challenge score on D_v (F × RA ratio × TA ratio against the N
 *    reference retrained models) and its cost = mean method time / T_r. A trial is eligible only
 *    when its cost ≤ budget (the challenge allowed ~20% of the retrain time); the chosen params are
 *    the eligible trial with the highest score (ties: lower cost). When none is eligible, nothing
 *    is chosen and the result says so.
 */
import { hashIds, type DataSplit } from '../data/dataset.js';
import { selectForgetSet, type ForgetSelector, type ForgetSet } from '../data/forgetSet.js';
import { SubjectIndex } from '../data/pseudonym.js';
import { loadSplitSource, runCost } from './farmJobs.js';
import { backendDescription, initEngine, type BackendName } from '../engine/backend.js';
import { configureNativeForPool } from '../engine/native.js';
import { availableParallelism } from 'node:os';
import { checkModelFitsData, resolveBenchForget, specLine, type BenchForget, type BenchModelKind } from './benchSetup.js';
import { deriveSeed, Rng } from '../engine/rng.js';
import { UnlearnError } from '../errors.js';
import { challengeScore } from '../eval/challengeScore.js';
import { specFor } from '../train/fit.js';
import { TrainRecipeSchema, type TrainRecipe } from '../train/recipe.js';
import { getMethod } from '../unlearn/registry.js';
import { ModelFarm, type FarmContext, type FarmJob, type FarmProgress, type SplitSource } from './farm.js';

/**
 * The grid each method's random search samples from (param → candidate values; everything not
 * listed keeps its default). Learning-rate candidates are absolute Adam step sizes around the
 * benchmark recipe's 1e-3.
 */
export const SEARCH_SPACES: Record<string, Record<string, unknown[]>> = {
  finetune: { epochs: [1, 2, 3], learningRate: [5e-4, 1e-3, 2e-3] },
  'neggrad-plus': { alpha: [0.95, 0.99, 0.999], epochs: [1, 2], learningRate: [5e-4, 1e-3, 2e-3] },
  scrub: { epochs: [1, 2, 3], msteps: [1, 2], learningRate: [5e-4, 1e-3], alpha: [0.001, 0.1] },
  'scrub-r': { epochs: [2, 3], msteps: [1, 2], learningRate: [5e-4, 1e-3] },
  'random-label': { epochs: [1, 2], learningRate: [2.5e-4, 5e-4, 1e-3] },
  salun: { maskFraction: [0.3, 0.5, 0.7], epochs: [1, 2], learningRate: [2.5e-4, 5e-4, 1e-3] },
  ssd: { alpha: [1, 3, 10, 30], lambda: [0.5, 1, 2] },
  'l1-sparse': { gamma: [1e-4, 5e-4, 2e-3], epochs: [1, 2, 3], learningRate: [5e-4, 1e-3, 2e-3] },
  'bad-teacher': { epochs: [1, 2], temperature: [1, 2, 4], retainFraction: [0.1, 0.3], learningRate: [2.5e-4, 1e-3] },
  'reset-distil': { scope: ['weights', 'layers'], fraction: [0.1, 0.3, 0.5], epochs: [1, 2], noise: [0, 0.01] },
};

/** Options of {@link runTune}. */
export interface TuneOptions {
  source: SplitSource;
  method: string;
  /** Largest admissible cost (method time / retrain time), e.g. 0.2. */
  budget: number;
  /** The scored forget request (the one `unlearn bench` uses); D_v is drawn disjoint from it. */
  forget: BenchForget;
  /** N: runs per trial and retrained reference models. Default 8. */
  models?: number;
  /** Trials including the defaults. Default 6. */
  trials?: number;
  /** Model kind (default `mlp`) and its sizes, as in `unlearn bench`. */
  model?: BenchModelKind;
  hidden?: number[];
  filters?: number[];
  dense?: number;
  recipe?: Partial<TrainRecipe>;
  seed?: number;
  cacheDir: string;
  workers?: number;
  backend?: BackendName | 'auto';
  onProgress?: (p: FarmProgress) => void;
}

/** One row of the search table. Cost = mean method seconds / mean retrain seconds. */
export interface TuneTrial {
  trial: number;
  params: Record<string, unknown>;
  F: number;
  raRatio: number;
  taRatio: number;
  score: number;
  /** Mean wall seconds of one run. */
  seconds: number;
  /** Mean worker-thread CPU seconds of one run, or null where not measured. */
  cpuSeconds: number | null;
  /** Fraction of retraining on `costClock` (CPU time when measured): what the budget is checked against. */
  cost: number;
  /** Wall-time fraction of retraining. */
  wallCost: number;
  costClock: 'cpu' | 'wall';
  withinBudget: boolean;
}

/** Result of {@link runTune} (JSON-serialisable; the tune manifest). */
export interface TuneResult {
  format: 'unlearn-tune/1';
  method: string;
  budget: number;
  dataset: { name: string; options: Record<string, unknown>; fingerprint: string };
  spec: FarmContext['spec'];
  recipe: TrainRecipe;
  seed: number;
  models: number;
  scoredForget: { selector: BenchForget; size: number; idsSha256: string };
  validationForget: { size: number; idsSha256: string; disjointFromScored: true; rule: string };
  retrainSeconds: number;
  /** Mean CPU seconds of one reference retraining, or null where not measured. */
  retrainCpuSeconds: number | null;
  search: { kind: 'random over a grid, defaults first'; space: Record<string, unknown[]>; trials: number; seed: number };
  table: TuneTrial[];
  /** Params of the best trial within the budget (method defaults filled), or null when none fits. */
  chosen: { trial: number; params: Record<string, unknown> } | null;
  farm: { jobs: number; computed: number; cached: number };
  wallSeconds: number;
  createdAt: string;
}

/**
 * A validation forget set disjoint from `scored`, of the same kind and size:
 * - random fraction or ids: the same number of examples drawn uniformly from outside D_f;
 * - classes: for each forgotten class c the next class (c + 1, c + 2, … mod K) not forgotten;
 * - subjects: as many other subjects, those whose example counts are closest to the forgotten
 *   ones' (seeded tie-break).
 * @throws UnlearnError INVALID_PARAMS when no disjoint set of that kind exists (e.g. all classes forgotten).
 */
export function validationForgetSet(split: DataSplit, scored: ForgetSet, selector: ForgetSelector, seed: number): { forget: ForgetSet; rule: string } {
  const train = split.train;
  const inF = new Uint8Array(train.labels.length);
  for (const i of scored.forgetIdx) inF[i] = 1;
  const rng = new Rng(deriveSeed(seed, 'tune/validation'));
  if (selector.classes?.length) {
    const K = train.numClasses;
    const taken = new Set(selector.classes);
    const classes = selector.classes.map((c) => {
      for (let d = 1; d < K; d++) if (!taken.has((c + d) % K)) return (taken.add((c + d) % K), (c + d) % K);
      throw new UnlearnError('INVALID_PARAMS', 'every class is forgotten: no disjoint validation class is left', 'tune on a smaller class forget');
    });
    return { forget: selectForgetSet(train, train.ids, { classes }), rule: `classes ${JSON.stringify(classes)} (the next classes not forgotten)` };
  }
  if (selector.subjects?.length) {
    const count = new Map<string, number>();
    train.subjects.forEach((s, i) => !inF[i] && count.set(s, (count.get(s) ?? 0) + 1));
    const forgotten = new Set(scored.subjects);
    const candidates = rng.shuffle([...count.keys()].filter((s) => !forgotten.has(s)));
    const picked: string[] = [];
    for (const s of scored.subjects) {
      const size = scored.forgetIdx.filter((i) => train.subjects[i] === s).length;
      let best = -1;
      candidates.forEach((c, k) => !picked.includes(c) && (best < 0 || Math.abs(count.get(c)! - size) < Math.abs(count.get(candidates[best])! - size)) && (best = k));
      if (best < 0) throw new UnlearnError('INVALID_PARAMS', 'no other subject is left for a validation forget set', 'tune on a dataset with more subjects');
      picked.push(candidates[best]);
    }
    const f = selectForgetSet(train, train.ids, { subjects: picked });
    if (f.forgetIdx.some((i) => inF[i])) throw new UnlearnError('INVALID_PARAMS', 'validation subjects share examples with the scored forget set');
    return { forget: f, rule: `${picked.length} other subject(s) of the closest sizes (seeded)` };
  }
  const outside = Int32Array.from(train.labels.keys()).filter((i) => !inF[i]);
  const ids = Array.from(rng.shuffle(outside).slice(0, scored.forgetIdx.length), (i) => train.ids[i]);
  return { forget: selectForgetSet(train, train.ids, { ids }), rule: `${ids.length} examples drawn uniformly outside the scored forget set (seeded)` };
}

/** The trials: the defaults ({}), then up to `n − 1` distinct grid points in seeded random order. */
export function sampleTrials(space: Record<string, unknown[]>, n: number, seed: number): Record<string, unknown>[] {
  const keys = Object.keys(space);
  const total = keys.reduce((p, k) => p * space[k].length, 1);
  const order = new Rng(deriveSeed(seed, 'tune/trials')).permutation(total);
  const out: Record<string, unknown>[] = [{}];
  for (const code of order.slice(0, Math.max(0, n - 1))) {
    let c = code;
    const p: Record<string, unknown> = {};
    for (const k of keys) ((p[k] = space[k][c % space[k].length]), (c = Math.floor(c / space[k].length)));
    out.push(p);
  }
  return out;
}

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

/**
 * Run the search (see the module comment).
 * @throws UnlearnError UNKNOWN_METHOD; INVALID_PARAMS (budget ≤ 0, N < 2, trials < 1, a method
 *   without a search space, or a grid point its schema rejects); what selection and loading throw.
 */
export async function runTune(o: TuneOptions): Promise<TuneResult> {
  const t0 = performance.now();
  const method = getMethod(o.method);
  const space = SEARCH_SPACES[o.method];
  if (!space) throw new UnlearnError('INVALID_PARAMS', `no search space for method "${o.method}"`, `tunable: ${Object.keys(SEARCH_SPACES).join(', ')}`);
  if (!(o.budget > 0)) throw new UnlearnError('INVALID_PARAMS', `--budget must be > 0, got ${o.budget}`, 'e.g. --budget 0.2 (20% of the retrain time)');
  const N = o.models ?? 8;
  const nTrials = o.trials ?? 6;
  if (!Number.isInteger(N) || N < 2) throw new UnlearnError('INVALID_PARAMS', `--models must be an integer ≥ 2, got ${N}`);
  if (!Number.isInteger(nTrials) || nTrials < 1) throw new UnlearnError('INVALID_PARAMS', `--trials must be an integer ≥ 1, got ${nTrials}`);
  const seed = o.seed ?? 0;
  const trials = sampleTrials(space, nTrials, seed).map((p) => {
    const r = method.paramsSchema.safeParse(p);
    if (!r.success) throw new UnlearnError('INVALID_PARAMS', `${o.method}: grid point ${JSON.stringify(p)}: ${r.error.issues[0]?.message}`);
    return r.data as Record<string, unknown>;
  });
  const split: DataSplit = await loadSplitSource(o.source);
  const source: SplitSource = 'dataset' in o.source ? { dataset: o.source.dataset, options: split.options } : o.source;
  const subjectIndex = SubjectIndex.forSplit(split);
  const selector = resolveBenchForget(split, o.forget);
  checkModelFitsData(o.model ?? 'mlp', split);
  const scored = selectForgetSet(split.train, split.train.ids, selector, { seed, resolveSubject: (s) => subjectIndex.resolve(s) });
  const { forget: validation, rule } = validationForgetSet(split, scored, selector, seed);
  const recipe = TrainRecipeSchema.parse({ optimizer: 'adam', learningRate: 1e-3, epochs: 8, batchSize: 128, ...o.recipe, seed });
  const ctx: FarmContext = { source, fingerprint: split.fingerprint, spec: specFor(split, o.model ?? 'mlp', { hidden: o.hidden ?? [128], filters: o.filters, dense: o.dense }), recipe, forgetIdx: Array.from(validation.forgetIdx), cacheDir: o.cacheDir, engine: (configureNativeForPool(o.workers ?? availableParallelism()), await initEngine(o.backend ?? 'auto'), backendDescription()) };
  const farm = new ModelFarm(ctx, { workers: o.workers, backend: o.backend, onProgress: o.onProgress });
  try {
    const originalJob: FarmJob = { kind: 'original', seed };
    const originalKey = farm.key(originalJob);
    const retrains: FarmJob[] = Array.from({ length: N }, (_, i) => ({ kind: 'retrain', set: 'tune-reference', seed: deriveSeed(seed, `tune/retrain/${i}`) }));
    const runs: FarmJob[] = trials.flatMap((params, t) => Array.from({ length: N }, (_, i): FarmJob => ({ kind: 'unlearn', method: o.method, params, seed: deriveSeed(seed, `tune/${o.method}/${t}/${i}`), originalKey })));
    const total = 1 + retrains.length + runs.length;
    await farm.run([originalJob], { total });
    const results = await farm.run([...retrains, ...runs], { offset: 1, total });
    const ref = results.slice(0, N);
    const retrainSeconds = mean(ref.map((r) => r.seconds));
    const retrainCpuSeconds = ref.every((r) => typeof r.cpuSeconds === 'number') ? mean(ref.map((r) => r.cpuSeconds!)) : null;
    const table: TuneTrial[] = trials.map((params, t) => {
      const rs = results.slice(N + t * N, N + (t + 1) * N);
      const c = challengeScore({
        unlearnedPhi: rs.map((r) => r.phiForget!),
        retrainedPhi: ref.map((r) => r.phiForget!),
        unlearnedRA: rs.map((r) => r.RA!),
        unlearnedTA: rs.map((r) => r.TA!),
        retrainedRA: ref.map((r) => r.RA!),
        retrainedTA: ref.map((r) => r.TA!),
      }).aggregate;
      const { seconds, cpuSeconds, cost, wallCost, clock } = runCost(rs, ref);
      return { trial: t, params, F: c.F, raRatio: c.raRatio, taRatio: c.taRatio, score: c.score, seconds, cpuSeconds, cost, wallCost, costClock: clock, withinBudget: cost <= o.budget };
    });
    const best = table.filter((r) => r.withinBudget).sort((a, b) => b.score - a.score || a.cost - b.cost)[0];
    return {
      format: 'unlearn-tune/1',
      method: o.method,
      budget: o.budget,
      dataset: { name: split.name, options: split.options, fingerprint: split.fingerprint },
      spec: ctx.spec,
      recipe,
      seed,
      models: N,
      scoredForget: { selector: { ...(selector.subjects ? { ...selector, subjects: selector.subjects.map((s) => subjectIndex.display(subjectIndex.resolve(s))) } : selector), ...(o.forget.subjectRank !== undefined ? { subjectRank: o.forget.subjectRank } : {}) }, size: scored.forgetIdx.length, idsSha256: hashIds(scored.forgetIds) },
      validationForget: { size: validation.forgetIdx.length, idsSha256: hashIds(validation.forgetIds), disjointFromScored: true, rule },
      retrainSeconds,
      retrainCpuSeconds,
      search: { kind: 'random over a grid, defaults first', space, trials: trials.length, seed },
      table,
      chosen: best ? { trial: best.trial, params: best.params } : null,
      farm: { jobs: total, ...farm.stats },
      wallSeconds: (performance.now() - t0) / 1000,
      createdAt: new Date().toISOString(),
    };
  } finally {
    await farm.close();
  }
}

/** The search table and choice as Markdown (the tune report). */
export function tuneMarkdown(r: TuneResult): string {
  const f = (x: number, d = 4) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
  const lines = [
    `# Tuning ${r.method} within ${r.budget} × retrain time: ${r.dataset.name}`,
    '',
    `- model: ${specLine(r.spec)}; recipe: ${r.recipe.optimizer} lr ${r.recipe.learningRate}, ${r.recipe.epochs} epochs, batch ${r.recipe.batchSize}; seed ${r.seed}`,
    `- scored forget set ${JSON.stringify(r.scoredForget.selector)} → ${r.scoredForget.size} examples (ids sha256 \`${r.scoredForget.idsSha256.slice(0, 16)}\`), not used by the search`,
    `- validation forget set: ${r.validationForget.rule} → ${r.validationForget.size} examples (ids sha256 \`${r.validationForget.idsSha256.slice(0, 16)}\`), disjoint from the scored one`,
    `- N = ${r.models} runs per trial against ${r.models} retrained models; mean retrain time ${r.retrainSeconds.toFixed(2)} s wall${r.retrainCpuSeconds !== null ? `, ${r.retrainCpuSeconds.toFixed(2)} s CPU (cost is on CPU time: it does not move with the machine's load)` : ' (cost on wall time: no thread CPU clock here)'}; search: ${r.search.kind}, ${r.search.trials} trials, seed ${r.search.seed}`,
    `- farm: ${r.farm.jobs} jobs (${r.farm.computed} trained, ${r.farm.cached} from the cache); wall time ${r.wallSeconds.toFixed(1)} s`,
    '',
    '| trial | params | F | RA ratio | TA ratio | score | time (s) | CPU (s) | cost | wall cost | within budget |',
    '|---:|:---|---:|---:|---:|---:|---:|---:|---:|---:|:---|',
    ...r.table.map((t) => `| ${t.trial} | \`${JSON.stringify(t.params)}\` | ${f(t.F)} | ${f(t.raRatio)} | ${f(t.taRatio)} | ${f(t.score)} | ${t.seconds.toFixed(2)} | ${t.cpuSeconds === null ? '-' : t.cpuSeconds.toFixed(2)} | ${f(t.cost, 3)} | ${f(t.wallCost, 3)} | ${t.withinBudget ? 'yes' : 'no'} |`),
    '',
    r.chosen ? `Chosen: trial ${r.chosen.trial}, params \`${JSON.stringify(r.chosen.params)}\`.` : `No trial fits the budget of ${r.budget} × retrain time: nothing chosen.`,
    '',
  ];
  return lines.join('\n');
}
