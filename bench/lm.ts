/**
 * Language-model unlearning benchmark: train one model on Moby-Dick + five presidents' State of
 * the Union addresses, then forget Moby-Dick and, separately, one president with every method;
 * retrain-without-the-source is the reference. Prints, per forgotten source, the table of
 * VerbMem, knowledge (original wording and best paraphrase), PrivLeak, relearned VerbMem,
 * retained perplexity and cost vs retrain, and checks the target (a method within 10% of the
 * retrained model on VerbMem and knowledge-under-paraphrase, retained perplexity within 5% of the
 * original, |PrivLeak| ≤ 0.1 on the loss attack, at ≤ 20% of retrain time). Every model is also
 * audited after int8 and 4-bit round-trips of its weights and after relearning (rows under it),
 * and by the zlib, Min-K% and Min-K%++ membership statistics. Then the series: sustainability
 * (`--sequence`: sources forgotten one after another, audited after each step) and scale
 * (`--scale`: forget sets of 1, 2 and 4 sources in one request) for `--series-methods`, each step
 * against its own retrained reference. Writes <out>/<source>/report.{md,json,html},
 * <out>/sustainability/… and <out>/scale/….
 *
 * Jobs (training the original and each reference, each method + audit) run in `--jobs` worker
 * threads (default: one per core); the references train alongside the original. Method and
 * retrain times are measured inside the same pool, under the same load.
 *
 *   npx tsx bench/lm.ts [--config tiny|small] [--steps N] [--batch-size B] [--learning-rate R]
 *                       [--passages N] [--method-steps N] [--method-lr R] [--relearn-steps K]
 *                       [--verb-passages N] [--forget moby-dick,sotu/abraham-lincoln] [--jobs J]
 *                       [--methods npo,kl,...] [--method-params '{"simnpo":{"beta":0.5}}']
 *                       [--sequence a,b,c] [--scale a,b,c,d] [--series-methods npo-kl,...] (default '' = skip)
 *                       [--models DIR (keep and reuse the original and retrained models)]
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { backendDescription, initEngine, type BackendName } from '../src/engine/backend.js';
import { WorkerPool } from '../src/engine/workerPool.js';
import { withPrivLeak, type LmAudit } from '../src/lm/audit/index.js';
import { forgetSets } from '../src/lm/audit/scale.js';
import { getLmMethod, listLmMethods } from '../src/lm/methods/index.js';
import { COST_BUDGET, PPL_BUDGET, lmHtmlWithPlots, lmMarkdown, lmTable, type LmReport, type LmReportRow } from '../src/lm/report.js';
import { lmSeriesHtml, lmSeriesMarkdown, lmSeriesTable, type LmSeriesReport, type LmSeriesRow } from '../src/lm/reportSeries.js';
import { writeTextAtomic } from '../src/workflows.js';
import type * as Jobs from './lmJobs.js';

/**
 * Per-method settings chosen with bench/lmTune.ts on the `small` models (README, "LM benchmark"):
 * the committed tables are `npm run bench:lm` with these defaults.
 */
const TUNED: Record<string, Record<string, unknown>> = {
  'npo-kl': { learningRate: 3e-3, steps: 20 },
  simnpo: { beta: 0.5, learningRate: 3e-4, steps: 30 },
};

const { values: a } = parseArgs({
  options: {
    config: { type: 'string', default: 'small' },
    steps: { type: 'string', default: '600' },
    'batch-size': { type: 'string', default: '16' },
    'learning-rate': { type: 'string', default: '1e-3' },
    passages: { type: 'string', default: '120' },
    'method-steps': { type: 'string', default: '40' },
    'method-lr': { type: 'string', default: '3e-4' },
    'relearn-steps': { type: 'string', default: '10' },
    'verb-passages': { type: 'string', default: '48' },
    forget: { type: 'string', default: 'moby-dick,sotu/abraham-lincoln' },
    /** Comma-separated method ids to run (default: every registered LM method). */
    methods: { type: 'string' },
    /** JSON object: method id → params overriding the common ones. */
    'method-params': { type: 'string', default: JSON.stringify(TUNED) },
    sequence: { type: 'string', default: 'moby-dick,sotu/abraham-lincoln,sotu/george-washington' },
    scale: { type: 'string', default: 'moby-dick,sotu/abraham-lincoln,sotu/george-washington,sotu/franklin-d-roosevelt' },
    /** Methods for the sustainability and scale series ('' = skip; they need three more references). */
    'series-methods': { type: 'string', default: '' },
    jobs: { type: 'string', default: String(availableParallelism()) },
    out: { type: 'string', default: 'out/bench-lm' },
    models: { type: 'string' },
  },
});
const backend = await initEngine('auto');
const log = (s: string) => process.stderr.write(s + '\n');
const t0 = performance.now();
const steps = Number(a.steps);
const setup: Jobs.Setup = {
  config: a.config!,
  corpus: { maxPassagesPerSource: Number(a.passages) },
  recipe: { steps, batchSize: Number(a['batch-size']), learningRate: Number(a['learning-rate']) },
};
const cacheKey = `${a.config}-s${steps}-b${a['batch-size']}-lr${a['learning-rate']}-p${a.passages}`;
const modelsDir = a.models ? join(a.models, cacheKey) : await mkdtemp(join(tmpdir(), 'unlearn-bench-lm-'));
await mkdir(modelsDir, { recursive: true });
const sources = a.forget!.split(',');
const options = { verbPassages: Number(a['verb-passages']), relearn: { steps: Number(a['relearn-steps']) } };
const jobsModule = new URL('./lmJobs.ts', import.meta.url).href;
const pool = new WorkerPool({ size: Number(a.jobs), backend: backend as BackendName });
const job = <K extends keyof typeof Jobs>(fn: K, args: Parameters<(typeof Jobs)[K]>[0]) => pool.run<Awaited<ReturnType<(typeof Jobs)[K]>>>(jobsModule, fn, args);

const originalDir = join(modelsDir, 'original');
const setKey = (set: string[]) => [...set].sort().join('+');
const refDir = (set: string[]) => join(modelsDir, `retrain-${setKey(set).replace(/\//g, '-')}`);
const list = (x: string | undefined) => (x ? x.split(',').filter(Boolean) : []);
const sequence = list(a.sequence);
const scaleSets = forgetSets(list(a.scale));
const seriesMethods = list(a['series-methods']);
for (const id of seriesMethods) getLmMethod(id);
// Every forget set that needs a retrained reference: each request, each prefix of the sequence, each scale set.
const refSets = new Map<string, string[]>();
for (const set of [...sources.map((s) => [s]), ...(seriesMethods.length ? [...sequence.map((_, i) => sequence.slice(0, i + 1)), ...scaleSets] : [])]) refSets.set(setKey(set), set);
const original = job('trainOriginal', { setup, dir: originalDir });
const references = new Map([...refSets].map(([k, set]) => [k, job('trainReference', { setup, source: set.length === 1 ? set[0] : set, dir: refDir(set) })]));
const orig = await original;
log(`original: ${orig.params} params, ${orig.passages} passages, ${orig.seconds.toFixed(0)} s${orig.reused ? ' (reused)' : ''}, final loss ${orig.finalLoss.toFixed(3)}`);

const wanted = a.methods?.split(',');
for (const id of wanted ?? []) getLmMethod(id); // unknown ids fail before any work
const methods = listLmMethods().filter((m) => m.id !== 'retrain' && (!wanted || wanted.includes(m.id)));
const overrides = JSON.parse(a['method-params']!) as Record<string, Record<string, unknown>>;
const common = { steps: Number(a['method-steps']), learningRate: Number(a['method-lr']) };
const paramsOf = (id: string) => ({ ...common, ...(id === 'generic-labels' ? { reinforceSteps: common.steps } : {}), ...(overrides[id] ?? {}) });
/** The retrained reference of a forget set, audited once. */
const refAudits = new Map<string, Promise<{ seconds: number; reused: boolean; audit: LmAudit }>>();
const refOf = (set: string[]) => {
  const k = setKey(set);
  if (!refAudits.has(k)) {
    refAudits.set(k, references.get(k)!.then(async (r) => {
      log(`retrained without ${k} in ${r.seconds.toFixed(0)} s${r.reused ? ' (reused)' : ''}`);
      const au = await job('auditModel', { dir: refDir(set), source: set, options });
      return { ...r, audit: withPrivLeak(au, au.forget.mia.byStat) };
    }));
  }
  return refAudits.get(k)!;
};
const perSource = sources.map((source) => {
  const origAudit = job('auditModel', { dir: originalDir, source, options });
  const runs = methods.map((m) =>
    job('runMethod', { originalDir, source, method: m.id, params: paramsOf(m.id), options }).then((r) => {
      log(`${source}: ${m.id} ${r.seconds.toFixed(1)} s, VerbMem ${r.audit.forget.verbMem.toFixed(3)}`);
      return r;
    }),
  );
  return { source, origAudit, runs, ref: refOf([source]) };
});
const sequenceRuns = sequence.length ? seriesMethods.map((id) => job('runSequence', { originalDir, sources: sequence, method: id, params: paramsOf(id), options })) : [];
const scaleRuns = scaleSets.length ? seriesMethods.map((id) => job('runScale', { originalDir, sets: scaleSets, method: id, params: paramsOf(id), options })) : [];

const within = (x: number, y: number, tol: number) => Math.abs(x - y) <= tol * Math.max(Math.abs(y), 1e-9);
/** The target's five criteria for one method row, each with its figure. */
function targetCheck(r: LmReportRow, ref: LmAudit, o: LmAudit): { name: string; met: boolean; line: string } {
  const f = r.audit.forget;
  const pplRatio = r.audit.retained.perplexity / o.retained.perplexity;
  const checks: [string, boolean, string][] = [
    ['VerbMem', within(f.verbMem, ref.forget.verbMem, 0.1), `${f.verbMem.toFixed(3)} vs ${ref.forget.verbMem.toFixed(3)}`],
    ['know (max wording)', within(f.knowledge.maxWording, ref.forget.knowledge.maxWording, 0.1), `${f.knowledge.maxWording.toFixed(2)} vs ${ref.forget.knowledge.maxWording.toFixed(2)}`],
    ['retained ppl', pplRatio <= PPL_BUDGET, `${((pplRatio - 1) * 100).toFixed(1)}%`],
    ['|PrivLeak|', Math.abs(f.privLeak ?? Infinity) <= 0.1, `${(f.privLeak ?? NaN).toFixed(3)}`],
    ['cost', (r.costVsRetrain ?? Infinity) <= COST_BUDGET, `${(r.costVsRetrain ?? NaN).toFixed(3)}`],
  ];
  return { name: r.name, met: checks.every((c) => c[1]), line: `${r.name}: ${checks.map(([n, ok, v]) => `${n} ${ok ? '✓' : '✗'} (${v})`).join(', ')}` };
}

const modelInfo = { config: a.config!, params: orig.params, corpusFingerprint: orig.fingerprint, backend: backendDescription() };
const recipeNote = `original and references: ${steps} Adam steps (lr ${a['learning-rate']}, batch ${a['batch-size']}) on ${orig.passages} training passages of ${orig.sources} sources; methods: ${a['method-steps']} Adam steps, lr ${a['method-lr']}${a['method-params'] !== '{}' ? `, overrides ${a['method-params']}` : ''}; relearning attack ${a['relearn-steps']} steps on ≤ 16 held-out passages of the source; quantisation: int8 and 4-bit per-channel round-trips; ${a.jobs} jobs in parallel on ${availableParallelism()} cores.`;
const writeReport = async (name: string, json: unknown, md: string, html: string) => {
  const dir = join(a.out!, name);
  await mkdir(dir, { recursive: true });
  await writeTextAtomic(join(dir, 'report.json'), JSON.stringify(json, null, 1) + '\n');
  await writeTextAtomic(join(dir, 'report.md'), md);
  await writeTextAtomic(join(dir, 'report.html'), html);
};
const summary: string[] = [];
for (const { source, origAudit, runs, ref } of perSource) {
  const R = await ref;
  const leak = (au: LmAudit) => withPrivLeak(au, R.audit.forget.mia.byStat);
  const O = leak(await origAudit);
  const rows: LmReportRow[] = [
    { name: 'original', guarantee: 'none', audit: O, seconds: orig.seconds },
    { name: 'retrain', guarantee: 'exact', audit: R.audit, seconds: R.seconds, costVsRetrain: 1 },
  ];
  for (const [i, run] of runs.entries()) {
    const r = await run;
    rows.push({ name: methods[i].id, guarantee: methods[i].guarantee, audit: leak(r.audit), seconds: r.seconds, costVsRetrain: r.seconds / R.seconds });
  }
  const checks = rows.slice(2).map((r) => targetCheck(r, R.audit, O));
  const hits = checks.filter((c) => c.met);
  const verdict = hits.length
    ? `target met by: ${hits.map((h) => h.name).join(', ')}`
    : 'target not met by any method (within 10% of retrain on VerbMem and knowledge-under-paraphrase, retained perplexity within 5% of the original, |PrivLeak| ≤ 0.1, ≤ 20% of retrain time)';
  const report: LmReport = { source, model: modelInfo, rows, notes: [`${recipeNote} Time of the original row = its training time.`, verdict, ...checks.map((c) => `target check — ${c.line}`)] };
  await writeReport(source.replace('/', '-'), report, lmMarkdown(report), await lmHtmlWithPlots(report));
  summary.push(`## forget ${source}\n\n${lmTable(rows)}\n\n${verdict}\n\n${checks.map((c) => `- ${c.line}`).join('\n')}\n`);
}

/** Rows of a series: the retrained reference of each step, then each method's row for that step. */
async function seriesRows(steps: { set: string[]; request: string }[], byMethod: { audit: LmAudit; seconds: number }[][]): Promise<LmSeriesRow[]> {
  const rows: LmSeriesRow[] = [];
  for (const [i, st] of steps.entries()) {
    const R = await refOf(st.set);
    rows.push({ step: i + 1, request: st.request, model: 'retrain', audit: R.audit, seconds: R.seconds, costVsRetrain: 1 });
    for (const [j, id] of seriesMethods.entries()) {
      const x = byMethod[j][i];
      rows.push({ step: i + 1, request: st.request, model: id, audit: withPrivLeak(x.audit, R.audit.forget.mia.byStat), seconds: x.seconds, costVsRetrain: x.seconds / R.seconds });
    }
  }
  return rows;
}
for (const [kind, runsOf, steps] of [
  ['sustainability', sequenceRuns, sequence.map((s, i) => ({ set: sequence.slice(0, i + 1), request: `forgot ${s}${i ? ` (removed so far: ${i + 1})` : ''}` }))],
  ['scale', scaleRuns, scaleSets.map((set) => ({ set, request: `${set.length} source${set.length > 1 ? 's' : ''}: ${set.join(', ')}` }))],
] as const) {
  if (!runsOf.length) continue;
  const byMethod = await Promise.all(runsOf as Promise<{ audit: LmAudit; seconds: number }[]>[]);
  const rows = await seriesRows([...steps], byMethod);
  const report: LmSeriesReport = {
    kind,
    model: modelInfo,
    rows,
    notes: [
      recipeNote,
      kind === 'sustainability'
        ? 'Each step starts from the previous step\'s model; forget figures are over every source removed so far, utility over the sources left, PrivLeak against the model retrained without all of them. Time: the step\'s unlearning alone.'
        : 'Each forget set is removed in one request from the original; forget figures are over the union of its sources, PrivLeak against the model retrained without all of them.',
    ],
  };
  await writeReport(kind, report, lmSeriesMarkdown(report), await lmSeriesHtml(report));
  summary.push(`## ${kind}\n\n${lmSeriesTable(rows)}\n`);
}
await pool.close();
if (!a.models) await rm(modelsDir, { recursive: true, force: true });
process.stdout.write(`config ${a.config} (${orig.params} params), backend ${backendDescription()}, ${a.jobs} jobs, total ${((performance.now() - t0) / 1000).toFixed(0)} s\n\n${summary.join('\n')}`);
