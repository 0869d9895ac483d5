/**
 * `unlearn lm …`: language-model unlearning commands (train, forget, audit, generate, methods,
 * sources). Parsing and printing only; the work is in src/lm/workflows.ts.
 */
import { Command, Option } from 'commander';
import { collect, fmtParams, int, json, methodParams, num } from './args.js';
import { initEngine, type BackendName } from '../engine/backend.js';
import { UnlearnError } from '../errors.js';
import { loadProbes } from '../lm/audit/knowledge.js';
import { privLeak } from '../lm/audit/privleak.js';
import { listSources } from '../lm/data.js';
import { generate, sampleOptionsSchema } from '../lm/generate.js';
import { loadLm, type LmManifest } from '../lm/io.js';
import { listLmMethods } from '../lm/methods/index.js';
import { disposeModel, numParams } from '../lm/model.js';
import { lmHtmlWithPlots, lmMarkdown, lmTable, type LmReport } from '../lm/report.js';
import { defaultProbes, lmAudit, lmForget, lmTrainWorkflow, openLm } from '../lm/workflows.js';
import { checkOutDir } from '../workflows.js';
import { writeDirAtomic } from '../models/io.js';

/** Add the `lm` command group to `program` (which defines --json, --quiet and --backend). */
export function addLmCommands(program: Command): void {
  const g = () => program.opts<{ json?: boolean; quiet?: boolean; backend: BackendName | 'auto' }>();
  const log = (line: string) => {
    if (!g().quiet && !g().json) process.stderr.write(line + '\n');
  };
  const out = (value: unknown, text: string) => process.stdout.write(g().json ? JSON.stringify(value, null, 1) + '\n' : text + '\n');
  const progress = (what: string, total: number) => (s: number, l: number) => {
    if (s === 0 || (s + 1) % 25 === 0 || s + 1 === total) log(`${what} step ${s + 1}/${total} loss ${l.toFixed(4)}`);
  };

  const lm = program.command('lm').description('language-model unlearning: make a small transformer forget a text source, and audit it');

  lm.command('sources')
    .description('list the text sources (Moby-Dick and one per State of the Union president)')
    .action(() => {
      const s = listSources();
      out(s, s.map((x) => `${x.source.padEnd(32)} ${x.bytes} bytes`).join('\n'));
    });

  lm.command('methods')
    .description('list the language-model unlearning methods')
    .action(() => {
      const ms = listLmMethods().map((m) => ({ id: m.id, guarantee: m.guarantee, description: m.description, reference: m.reference, params: methodParams(m.paramsSchema) }));
      out(ms, ms.map((m) => `${m.id.padEnd(20)} ${m.guarantee.padEnd(12)} ${m.description}\n${' '.repeat(34)}${m.reference}\n${' '.repeat(34)}params: ${fmtParams(m.params)}`).join('\n'));
    });

  lm.command('train')
    .description('train a byte-level transformer on several text sources and save it with its lineage')
    .addOption(new Option('--config <name>', 'model size').choices(['tiny', 'small']).default('tiny'))
    .option('--source <id>', 'a text source to train on (see `unlearn lm sources`); repeatable; default: moby-dick + 5 presidents', collect)
    .option('--passages <n>', 'passages kept per source', int, 200)
    .option('--steps <n>', 'training steps', int, 300)
    .option('--batch-size <n>', 'passages per step', int, 32)
    .option('--lr <rate>', 'Adam learning rate', num, 3e-3)
    .option('--seed <n>', 'seed of init, split and batches', int, 0)
    .requiredOption('--out <dir>', 'model directory to write (must not exist, unless --force)')
    .option('--force', 'replace --out if it exists')
    .action(async (o) => {
      checkOutDir(o.out, { force: o.force });
      const backend = await initEngine(g().backend);
      const r = await lmTrainWorkflow({
        config: o.config,
        corpus: { ...(o.source ? { sources: o.source } : {}), maxPassagesPerSource: o.passages, seed: o.seed },
        recipe: { steps: o.steps, batchSize: o.batchSize, learningRate: o.lr, seed: o.seed },
        out: o.out,
        backend,
        onStep: progress('train', o.steps),
      });
      const m = r.manifest;
      out({ modelDir: o.out, modelHash: m.modelHash, params: numParams(m.config), sources: m.lineage.sources, finalLoss: m.metrics.finalLoss, seconds: m.timings.wallSeconds },
        `saved ${o.out} (model ${m.modelHash?.slice(0, 12)}, ${numParams(m.config)} parameters, ${m.lineage.numPassages} passages of ${m.lineage.sources.length} sources, final loss ${(m.metrics.finalLoss as number).toFixed(3)} nats/byte, ${m.timings.wallSeconds.toFixed(1)} s)`);
      disposeModel(r.model);
    });

  lm.command('forget')
    .description('forget one text source with an unlearning method (or `retrain`) and save the new model version')
    .requiredOption('--model <dir>', 'model directory')
    .requiredOption('--source <id>', 'the source to forget, e.g. moby-dick or sotu/abraham-lincoln')
    .requiredOption('--method <id>', 'method (see `unlearn lm methods`)')
    .option('--params <json>', 'method params as JSON, e.g. \'{"steps":40,"beta":0.1}\'', json, {})
    .option('--seed <n>', "seed of the run (default: the model's)", int)
    .requiredOption('--out <dir>', 'directory of the new model version (must not exist, unless --force)')
    .option('--force', 'replace --out if it exists')
    .action(async (o) => {
      checkOutDir(o.out, { force: o.force, inputs: [o.model] });
      await initEngine(g().backend);
      const { model, manifest, corpus } = await openLm(o.model);
      const steps = (o.params.steps as number | undefined) ?? (o.method === 'retrain' ? manifest.recipe.steps : 40);
      const r = await lmForget({ model, manifest, corpus, source: o.source, method: o.method, params: o.params, seed: o.seed, out: o.out, onStep: progress(o.method, steps) });
      out({ modelDir: o.out, modelHash: r.manifest.modelHash, parent: r.manifest.parent, method: r.manifest.method, removed: r.manifest.removed, seconds: r.seconds, notes: r.notes },
        [`${r.manifest.method.id} (${r.manifest.method.guarantee}) forgot ${o.source} (${r.manifest.removed?.numPassages} passages) in ${r.seconds.toFixed(1)} s → ${o.out}`, ...r.notes].join('\n'));
      disposeModel(model);
      disposeModel(r.model);
    });

  lm.command('audit')
    .description('audit a model for a forgotten source: VerbMem, knowledge (original + paraphrases), MIA/PrivLeak, relearning, utility')
    .requiredOption('--model <dir>', 'model directory')
    .option('--source <id>', 'source to audit (default: the last source the model forgot)')
    .option('--reference <dir>', 'the retrained model (turns on PrivLeak and adds its row)')
    .option('--original <dir>', 'the original model (adds its row)')
    .option('--probes <file>', 'JSONL knowledge-probe file; repeatable (default: src/lm/probes/*.jsonl)', collect)
    .option('--verb-passages <n>', 'passages per VerbMem audit', int, 64)
    .option('--relearn-steps <n>', 'steps of the relearning attack (0 = skip)', int, 10)
    .option('--out <dir>', 'write report.json, report.md and report.html into this new directory')
    .option('--force', 'replace --out if it exists')
    .action(async (o) => {
      if (o.out) checkOutDir(o.out, { force: o.force, inputs: [o.model, o.reference, o.original].filter(Boolean) });
      await initEngine(g().backend);
      const { model, manifest, corpus } = await openLm(o.model);
      const source: string | undefined = o.source ?? manifest.removed?.sources.at(-1);
      if (!source) throw new UnlearnError('INVALID_ARGS', 'the model has forgotten no source', 'pass --source');
      if (!corpus.sources.includes(source)) throw new UnlearnError('SUBJECT_NOT_FOUND', `source "${source}" is not in the model's corpus`, `corpus: ${corpus.sources.join(', ')}`);
      const probes = o.probes ? o.probes.flatMap((f: string) => loadProbes(f)) : defaultProbes();
      const options = { verbPassages: o.verbPassages, skipRelearn: o.relearnSteps === 0, relearn: { steps: Math.max(1, o.relearnSteps) } };
      const ref = o.reference ? await loadLm(o.reference) : undefined;
      const orig = o.original ? await loadLm(o.original) : undefined;
      if (ref) checkComparable(manifest, ref.manifest, o.reference, 'reference');
      if (orig) checkComparable(manifest, orig.manifest, o.original, 'original', source);
      const { audit, reference } = lmAudit({ model, corpus, source, probes, options, reference: ref?.model });
      const rows: LmReport['rows'] = [];
      const retrainSeconds = ref?.manifest.timings.wallSeconds;
      if (orig) {
        const a = lmAudit({ model: orig.model, corpus, source, probes, options, reference: undefined }).audit;
        if (reference) a.forget.privLeak = privLeak(a.forget.mia.auc, reference.forget.mia.auc);
        rows.push({ name: 'original', guarantee: orig.manifest.method.guarantee, audit: a, seconds: orig.manifest.timings.wallSeconds });
      }
      if (reference && ref) rows.push({ name: `retrain`, guarantee: ref.manifest.method.guarantee, audit: reference, seconds: ref.manifest.timings.wallSeconds, costVsRetrain: 1 });
      rows.push({ name: manifest.method.id, guarantee: manifest.method.guarantee, audit, seconds: manifest.timings.wallSeconds, costVsRetrain: retrainSeconds ? manifest.timings.wallSeconds / retrainSeconds : undefined });
      const report: LmReport = { source, model: { config: manifest.config.name, params: numParams(manifest.config), corpusFingerprint: corpus.fingerprint, backend: manifest.backend }, rows, notes: [] };
      if (o.out) {
        await writeDirAtomic(o.out, { 'report.json': JSON.stringify(report, null, 1) + '\n', 'report.md': lmMarkdown(report), 'report.html': await lmHtmlWithPlots(report) });
      }
      out(report, lmTable(rows) + (o.out ? `\n\nreport: ${o.out}/report.md, report.json, report.html` : ''));
      for (const m of [model, ref?.model, orig?.model]) if (m) disposeModel(m);
    });

  lm.command('generate')
    .description('continue a prompt with a language model (greedy, temperature or top-k sampling)')
    .requiredOption('--model <dir>', 'model directory')
    .requiredOption('--prompt <text>', 'prompt text; repeatable', collect)
    .option('--max-tokens <n>', 'bytes to generate', int, 64)
    .option('--temperature <t>', 'sample at this temperature; 0 = greedy (the default)', num)
    .option('--top-k <k>', 'sample (at --temperature, default 1) from the k most likely bytes', int, 0)
    .option('--seed <n>', 'sampling seed', int, 0)
    .action(async (o) => {
      if (o.temperature !== undefined && o.temperature < 0) throw new UnlearnError('INVALID_ARGS', `--temperature ${o.temperature} is negative`, 'use 0 for greedy decoding or a positive temperature');
      const sample = o.temperature !== 0 && (o.temperature !== undefined || o.topK > 0);
      // Checked before the model is loaded: --top-k 1000 or --max-tokens 0 fail at once.
      const options = sampleOptionsSchema.parse({ maxNewTokens: o.maxTokens, strategy: sample ? 'sample' : 'greedy', temperature: sample ? (o.temperature ?? 1) : 1, topK: o.topK, seed: o.seed });
      await initEngine(g().backend);
      const { model } = await loadLm(o.model);
      const outs = generate(model, o.prompt, options, true);
      out(o.prompt.map((p: string, i: number) => ({ prompt: p, continuation: outs[i] })), o.prompt.map((p: string, i: number) => `${p}${outs[i]}`).join('\n'));
      disposeModel(model);
    });
}

/**
 * Refuses a `--reference` or `--original` that cannot be compared with the audited model: another
 * corpus; a reference that is not `retrain` of exactly the sources the model removed; an original
 * that no longer holds the audited source.
 * @throws UnlearnError INVALID_ARGS naming the mismatch.
 */
function checkComparable(model: LmManifest, other: LmManifest, dir: string, role: 'reference' | 'original', source?: string): void {
  const fail = (why: string, fix: string) => {
    throw new UnlearnError('INVALID_ARGS', `--${role} ${dir} ${why}`, fix);
  };
  if (other.corpus.fingerprint !== model.corpus.fingerprint) fail('was trained on another corpus than the audited model', 'pass a model of the same `lm train` run');
  const removed = (m: LmManifest) => [...(m.removed?.sources ?? [])].sort().join(', ');
  if (role === 'reference') {
    if (other.method.id !== 'retrain') fail(`is not a retrained model (method ${other.method.id})`, 'pass the output of `unlearn lm forget --method retrain`');
    if (removed(other) !== removed(model)) fail(`removed [${removed(other)}] but the audited model removed [${removed(model)}]`, 'retrain without the same sources');
  } else if (source && !other.lineage.sources.includes(source)) {
    fail(`does not hold "${source}" any more`, 'pass the model the source was forgotten from');
  }
}
