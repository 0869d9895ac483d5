/**
 * Language-model unlearning benchmark: train one model on Moby-Dick + five presidents' State of
 * the Union addresses, then forget Moby-Dick and, separately, one president with every method;
 * retrain-without-the-source is the reference. Prints, per forgotten source, the table of
 * VerbMem, knowledge (original wording and best paraphrase), PrivLeak, relearned VerbMem,
 * retained perplexity and cost vs retrain, and checks the target (a method within 10% of the
 * retrained model on VerbMem and knowledge-under-paraphrase, retained perplexity within 5% of the
 * original, at ≤ 20% of retrain time). Writes out/bench-lm/<source>/report.{md,json,html}.
 *
 *   npx tsx bench/lm.ts [--config tiny|small] [--steps N] [--passages N] [--method-steps N]
 *                       [--relearn-steps K] [--forget moby-dick,sotu/abraham-lincoln]
 *                       [--method-lr R] [--models DIR (reuse the original and retrained models)]
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../src/engine/backend.js';
import { listLmMethods } from '../src/lm/methods/index.js';
import { disposeModel, numParams } from '../src/lm/model.js';
import { lmHtml, lmMarkdown, lmTable, type LmReport, type LmReportRow } from '../src/lm/report.js';
import { defaultProbes, lmAudit, lmForget, lmTrainWorkflow, openLm } from '../src/lm/workflows.js';
import { auditLm } from '../src/lm/audit/index.js';
import { writeTextAtomic } from '../src/workflows.js';

const { values: a } = parseArgs({
  options: {
    config: { type: 'string', default: 'small' },
    steps: { type: 'string', default: '600' },
    'batch-size': { type: 'string', default: '32' },
    passages: { type: 'string', default: '200' },
    'method-steps': { type: 'string', default: '40' },
    'relearn-steps': { type: 'string', default: '10' },
    'verb-passages': { type: 'string', default: '48' },
    forget: { type: 'string', default: 'moby-dick,sotu/abraham-lincoln' },
    'method-lr': { type: 'string', default: '1e-3' },
    out: { type: 'string', default: 'out/bench-lm' },
    /** Keep trained original/retrained models here and reuse them when their settings match. */
    models: { type: 'string' },
  },
});
const backend = await initEngine('auto');
const log = (s: string) => process.stderr.write(s + '\n');
const probes = defaultProbes();
const t0 = performance.now();
const steps = Number(a.steps);
const cacheKey = `${a.config}-s${steps}-b${a['batch-size']}-p${a.passages}`;
const cached = async (name: string) => (a.models && existsSync(join(a.models, cacheKey, name, 'manifest.json')) ? openLm(join(a.models, cacheKey, name)) : undefined);
const hit = await cached('original');
const tr = hit
  ? { model: hit.model, manifest: hit.manifest, corpus: hit.corpus }
  : await lmTrainWorkflow({
      config: a.config!,
      corpus: { maxPassagesPerSource: Number(a.passages) },
      recipe: { steps, batchSize: Number(a['batch-size']), learningRate: 3e-3 },
      backend,
      out: a.models ? join(a.models, cacheKey, 'original') : undefined,
      onStep: (s, l) => (s + 1) % 100 === 0 && log(`original step ${s + 1}/${steps} loss ${l.toFixed(3)}`),
    });
if (hit) log(`original: reused ${join(a.models!, cacheKey, 'original')}`);
const trainSeconds = tr.manifest.timings.wallSeconds;
log(`original: ${numParams(tr.model.config)} params, ${tr.corpus.train.length} passages, ${trainSeconds.toFixed(0)} s, final loss ${(tr.manifest.metrics.finalLoss as number).toFixed(3)}`);
const options = { verbPassages: Number(a['verb-passages']), relearn: { steps: Number(a['relearn-steps']) } };
const summary: string[] = [];

for (const source of a.forget!.split(',')) {
  const retName = `retrain-${source.replace('/', '-')}`;
  const retHit = await cached(retName);
  const ret = retHit
    ? { model: retHit.model, manifest: retHit.manifest, seconds: retHit.manifest.timings.wallSeconds }
    : await lmForget({ model: tr.model, manifest: tr.manifest, corpus: tr.corpus, source, method: 'retrain', out: a.models ? join(a.models, cacheKey, retName) : undefined });
  log(`${source}: retrained in ${ret.seconds.toFixed(0)} s`);
  const { audit: origAudit, reference } = lmAudit({ model: tr.model, corpus: tr.corpus, source, probes, options, reference: ret.model });
  const refAuc = reference!.forget.mia.auc;
  const rows: LmReportRow[] = [
    { name: 'original', guarantee: 'none', audit: origAudit, seconds: trainSeconds },
    { name: 'retrain', guarantee: 'exact', audit: reference!, seconds: ret.seconds, costVsRetrain: 1 },
  ];
  for (const m of listLmMethods()) {
    if (m.id === 'retrain') continue;
    const common = { steps: Number(a['method-steps']), learningRate: Number(a['method-lr']) };
    const params = m.id === 'generic-labels' ? { ...common, reinforceSteps: Number(a['method-steps']) } : common;
    const r = await lmForget({ model: tr.model, manifest: tr.manifest, corpus: tr.corpus, source, method: m.id, params });
    const au = auditLm(r.model, tr.corpus, source, probes, options, refAuc);
    rows.push({ name: m.id, guarantee: m.guarantee, audit: au, seconds: r.seconds, costVsRetrain: r.seconds / ret.seconds });
    log(`${source}: ${m.id} ${r.seconds.toFixed(1)} s, VerbMem ${au.forget.verbMem.toFixed(3)}`);
    disposeModel(r.model);
  }
  disposeModel(ret.model);
  // target check
  const R = reference!;
  const within = (x: number, y: number, tol: number) => Math.abs(x - y) <= tol * Math.max(Math.abs(y), 1e-9);
  const hits = rows.slice(2).filter((r) =>
    within(r.audit.forget.verbMem, R.forget.verbMem, 0.1) &&
    within(r.audit.forget.knowledge.paraphraseMax, R.forget.knowledge.paraphraseMax, 0.1) &&
    r.audit.retained.perplexity <= 1.05 * origAudit.retained.perplexity &&
    (r.costVsRetrain ?? Infinity) <= 0.2);
  const verdict = hits.length ? `target met by: ${hits.map((h) => h.name).join(', ')}` : 'target not met by any method (within 10% of retrain on VerbMem and knowledge-under-paraphrase, retained perplexity within 5% of the original, ≤ 20% of retrain time)';
  const report: LmReport = {
    source,
    model: { config: tr.model.config.name, params: numParams(tr.model.config), corpusFingerprint: tr.corpus.fingerprint, backend },
    rows,
    notes: [
      `methods: Adam lr ${a['method-lr']}. original trained for ${steps} steps (batch ${a['batch-size']}, ${tr.corpus.train.length} passages of ${tr.corpus.sources.length} sources); methods ${a['method-steps']} steps; relearning attack ${a['relearn-steps']} steps on ≤ 16 held-out passages of the source; time of the original row = its training time.`,
      verdict,
    ],
  };
  const dir = join(a.out!, source.replace('/', '-'));
  await mkdir(dir, { recursive: true });
  await writeTextAtomic(join(dir, 'report.json'), JSON.stringify(report, null, 1) + '\n');
  await writeTextAtomic(join(dir, 'report.md'), lmMarkdown(report));
  await writeTextAtomic(join(dir, 'report.html'), lmHtml(report));
  summary.push(`## forget ${source}\n\n${lmTable(rows)}\n\n${verdict}\n`);
}
disposeModel(tr.model);
process.stdout.write(`config ${a.config} (${numParams(tr.model.config)} params), backend ${backend}, total ${((performance.now() - t0) / 1000).toFixed(0)} s, live tensors ${tf.memory().numTensors}\n\n${summary.join('\n')}`);
