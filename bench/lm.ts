/**
 * Language-model unlearning benchmark: train one model on Moby-Dick + five presidents' State of
 * the Union addresses, then forget Moby-Dick and, separately, one president with every method;
 * retrain-without-the-source is the reference. Prints, per forgotten source, the table of
 * VerbMem, knowledge (original wording and best paraphrase), PrivLeak, relearned VerbMem,
 * retained perplexity and cost vs retrain, and checks the target (a method within 10% of the
 * retrained model on VerbMem and knowledge-under-paraphrase, retained perplexity within 5% of the
 * original, at ≤ 20% of retrain time). Writes <out>/<source>/report.{md,json,html}.
 *
 * Jobs (training the original and each reference, each method + audit) run in `--jobs` worker
 * threads (default: one per core); the references train alongside the original. Method and
 * retrain times are measured inside the same pool, under the same load.
 *
 *   npx tsx bench/lm.ts [--config tiny|small] [--steps N] [--batch-size B] [--learning-rate R]
 *                       [--passages N] [--method-steps N] [--method-lr R] [--relearn-steps K]
 *                       [--verb-passages N] [--forget moby-dick,sotu/abraham-lincoln] [--jobs J]
 *                       [--methods npo,kl,...]
 *                       [--models DIR (keep and reuse the original and retrained models)]
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initEngine, type BackendName } from '../src/engine/backend.js';
import { WorkerPool } from '../src/engine/workerPool.js';
import type { LmAudit } from '../src/lm/audit/index.js';
import { privLeak } from '../src/lm/audit/privleak.js';
import { getLmMethod, listLmMethods } from '../src/lm/methods/index.js';
import { lmHtmlWithPlots, lmMarkdown, lmTable, type LmReport, type LmReportRow } from '../src/lm/report.js';
import { writeTextAtomic } from '../src/workflows.js';
import type * as Jobs from './lmJobs.js';

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
const refDir = (s: string) => join(modelsDir, `retrain-${s.replace('/', '-')}`);
const original = job('trainOriginal', { setup, dir: originalDir });
const references = new Map(sources.map((s) => [s, job('trainReference', { setup, source: s, dir: refDir(s) })]));
const orig = await original;
log(`original: ${orig.params} params, ${orig.passages} passages, ${orig.seconds.toFixed(0)} s${orig.reused ? ' (reused)' : ''}, final loss ${orig.finalLoss.toFixed(3)}`);

const wanted = a.methods?.split(',');
for (const id of wanted ?? []) getLmMethod(id); // unknown ids fail before any work
const methods = listLmMethods().filter((m) => m.id !== 'retrain' && (!wanted || wanted.includes(m.id)));
const perSource = sources.map((source) => {
  const common = { steps: Number(a['method-steps']), learningRate: Number(a['method-lr']) };
  const origAudit = job('auditModel', { dir: originalDir, source, options });
  const runs = methods.map((m) =>
    job('runMethod', { originalDir, source, method: m.id, params: m.id === 'generic-labels' ? { ...common, reinforceSteps: common.steps } : common, options }).then((r) => {
      log(`${source}: ${m.id} ${r.seconds.toFixed(1)} s, VerbMem ${r.audit.forget.verbMem.toFixed(3)}`);
      return r;
    }),
  );
  const ref = references.get(source)!.then(async (r) => {
    log(`${source}: retrained in ${r.seconds.toFixed(0)} s${r.reused ? ' (reused)' : ''}`);
    return { ...r, audit: await job('auditModel', { dir: refDir(source), source, options }) };
  });
  return { source, origAudit, runs, ref };
});

const summary: string[] = [];
for (const { source, origAudit, runs, ref } of perSource) {
  const R = await ref;
  const refAuc = R.audit.forget.mia.auc;
  const leak = (au: LmAudit): LmAudit => ({ ...au, forget: { ...au.forget, privLeak: privLeak(au.forget.mia.auc, refAuc) } });
  const O = leak(await origAudit);
  const rows: LmReportRow[] = [
    { name: 'original', guarantee: 'none', audit: O, seconds: orig.seconds },
    { name: 'retrain', guarantee: 'exact', audit: { ...R.audit, forget: { ...R.audit.forget, privLeak: 0 } }, seconds: R.seconds, costVsRetrain: 1 },
  ];
  for (const [i, run] of runs.entries()) {
    const r = await run;
    rows.push({ name: methods[i].id, guarantee: methods[i].guarantee, audit: leak(r.audit), seconds: r.seconds, costVsRetrain: r.seconds / R.seconds });
  }
  const within = (x: number, y: number, tol: number) => Math.abs(x - y) <= tol * Math.max(Math.abs(y), 1e-9);
  const ref0 = rows[1].audit;
  const hits = rows.slice(2).filter((r) =>
    within(r.audit.forget.verbMem, ref0.forget.verbMem, 0.1) &&
    within(r.audit.forget.knowledge.maxWording, ref0.forget.knowledge.maxWording, 0.1) &&
    r.audit.retained.perplexity <= 1.05 * O.retained.perplexity &&
    (r.costVsRetrain ?? Infinity) <= 0.2);
  const verdict = hits.length ? `target met by: ${hits.map((h) => h.name).join(', ')}` : 'target not met by any method (within 10% of retrain on VerbMem and knowledge-under-paraphrase, retained perplexity within 5% of the original, ≤ 20% of retrain time)';
  const report: LmReport = {
    source,
    model: { config: a.config!, params: orig.params, corpusFingerprint: orig.fingerprint, backend },
    rows,
    notes: [
      `original and references: ${steps} Adam steps (lr ${a['learning-rate']}, batch ${a['batch-size']}) on ${orig.passages} training passages of ${orig.sources} sources; methods: ${a['method-steps']} Adam steps, lr ${a['method-lr']}; relearning attack ${a['relearn-steps']} steps on ≤ 16 held-out passages of the source; ${a.jobs} jobs in parallel on ${availableParallelism()} cores; time of the original row = its training time.`,
      verdict,
    ],
  };
  const dir = join(a.out!, source.replace('/', '-'));
  await mkdir(dir, { recursive: true });
  await writeTextAtomic(join(dir, 'report.json'), JSON.stringify(report, null, 1) + '\n');
  await writeTextAtomic(join(dir, 'report.md'), lmMarkdown(report));
  await writeTextAtomic(join(dir, 'report.html'), await lmHtmlWithPlots(report));
  summary.push(`## forget ${source}\n\n${lmTable(rows)}\n\n${verdict}\n`);
}
await pool.close();
if (!a.models) await rm(modelsDir, { recursive: true, force: true });
process.stdout.write(`config ${a.config} (${orig.params} params), backend ${backend}, ${a.jobs} jobs, total ${((performance.now() - t0) / 1000).toFixed(0)} s\n\n${summary.join('\n')}`);
