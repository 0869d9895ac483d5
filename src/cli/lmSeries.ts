/**
 * `unlearn lm sustain` and `unlearn lm scale`: the series audits (MUSE's sustainability and scale
 * criteria) from an original model with one method. Parsing and printing only; the work is in
 * src/lm/seriesWorkflows.ts.
 */
import type { Command } from 'commander';
import { collect, int, json } from './args.js';
import { quantBits } from './lm.js';
import { initEngine, type BackendName } from '../engine/backend.js';
import { UnlearnError } from '../errors.js';
import { forgetSets } from '../lm/audit/scale.js';
import { loadLm } from '../lm/io.js';
import { disposeModel, numParams } from '../lm/model.js';
import { lmSeriesHtml, lmSeriesMarkdown, lmSeriesTable, type LmSeriesReport } from '../lm/reportSeries.js';
import { lmScaleWorkflow, lmSustainWorkflow } from '../lm/seriesWorkflows.js';
import { openLm } from '../lm/workflows.js';
import { writeDirAtomic } from '../models/io.js';
import { checkOutDir } from '../workflows.js';

/** Add `lm sustain` and `lm scale` to the `lm` command group of `program` (added by addLmCommands). */
export function addLmSeriesCommands(program: Command): void {
  const lm = program.commands.find((c) => c.name() === 'lm');
  if (!lm) throw new Error('addLmCommands must run first');
  const g = () => program.opts<{ json?: boolean; backend: BackendName | 'auto' }>();
  const common = (c: Command) =>
    c
      .requiredOption('--model <dir>', 'the original model directory')
      .requiredOption('--source <id>', 'a source to forget; repeatable, in order', collect)
      .requiredOption('--method <id>', 'method (see `unlearn lm methods`)')
      .option('--params <json>', 'method params as JSON', json, {})
      .option('--reference <dir>', 'a retrained model of one step (turns on PrivLeak); repeatable, one per step', collect)
      .option('--verb-passages <n>', 'passages per VerbMem audit', int, 48)
      .option('--relearn-steps <n>', 'steps of the relearning attack (0 = skip)', int, 0)
      .option('--quant-bits <list>', 'quantisation attack widths ("none" = skip)', '4')
      .option('--out <dir>', 'write report.json, report.md and report.html into this new directory')
      .option('--force', 'replace --out if it exists');

  const run = async (kind: LmSeriesReport['kind'], o: Record<string, any>) => {
    if (o.out) checkOutDir(o.out, { force: o.force, inputs: [o.model, ...(o.reference ?? [])] });
    await initEngine(g().backend);
    const orig = await openLm(o.model);
    const refs = await Promise.all(((o.reference ?? []) as string[]).map((d) => loadLm(d)));
    for (const [i, r] of refs.entries()) if (r.manifest.corpus.fingerprint !== orig.manifest.corpus.fingerprint) throw new UnlearnError('INVALID_ARGS', `--reference ${o.reference[i]} was trained on another corpus than --model`, 'pass models of the same `lm train` run');
    const options = { verbPassages: o.verbPassages, skipRelearn: o.relearnSteps === 0, relearn: { steps: Math.max(1, o.relearnSteps) }, quantBits: quantBits(o.quantBits) };
    const input = { ...orig, method: o.method as string, params: o.params, options, references: refs };
    try {
      const rows = kind === 'sustainability'
        ? await lmSustainWorkflow({ ...input, sources: o.source })
        : await lmScaleWorkflow({ ...input, sets: forgetSets(o.source, (o.sizes as string).split(',').map(Number)) });
      const report: LmSeriesReport = { kind, model: { config: orig.manifest.config.name, params: numParams(orig.manifest.config), corpusFingerprint: orig.corpus.fingerprint, backend: orig.manifest.backend }, rows, notes: [`method ${o.method}, params ${JSON.stringify(o.params)}`] };
      if (o.out) await writeDirAtomic(o.out, { 'report.json': JSON.stringify(report, null, 1) + '\n', 'report.md': lmSeriesMarkdown(report), 'report.html': await lmSeriesHtml(report) });
      process.stdout.write(g().json ? JSON.stringify(report, null, 1) + '\n' : lmSeriesTable(rows) + (o.out ? `\n\nreport: ${o.out}/report.md, report.json, report.html` : '') + '\n');
    } finally {
      disposeModel(orig.model);
      for (const r of refs) disposeModel(r.model);
    }
  };

  common(lm.command('sustain').description('sustainability audit: forget the --source list one after another with one method, audit after every step (utility included)'))
    .action((o) => run('sustainability', o));
  common(lm.command('scale').description('scale audit: forget the first 1, 2, 4 (--sizes) of the --source list in one request each, audit each'))
    .option('--sizes <list>', 'forget-set sizes, comma-separated', '1,2,4')
    .action((o) => run('scale', o));
}
