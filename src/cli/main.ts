/**
 * The `unlearn` command line: argument parsing and printing only; the work is in src/workflows.ts.
 * Exit codes: 0 success, 1 internal error, and per error code the values of EXIT_CODES
 * (src/errors.ts), listed in README.md.
 */
import { Command, CommanderError, Option } from 'commander';
import { collect, fmtParams, int, json, keyValue, methodParams, num, posInt } from './args.js';
import { ZodError } from 'zod';
import { initEngine, type BackendName } from '../engine/backend.js';
import { EXIT_CODES, EXIT_INTERNAL, UnlearnError } from '../errors.js';
import { listDatasets, loadDataset } from '../data/registry.js';
import { SubjectIndex } from '../data/pseudonym.js';
import { listMethods } from '../unlearn/index.js';
import type { ForgetSelector } from '../data/forgetSet.js';
import { checkOutDir, evalWorkflow, forgetWorkflow, runDemo, trainWorkflow } from '../workflows.js';
import { pct } from '../report/table.js';
import { addBenchCommand } from './bench.js';
import { addTuneCommand } from './tune.js';
import { addLmCommands } from './lm.js';
import { listLmMethods } from '../lm/methods/index.js';
import { addDataCommands } from './data.js';
import { addModelCommands } from './model.js';
import { addLmSeriesCommands } from './lmSeries.js';
import { addServiceCommands } from './service.js';
import { addEvidenceCommands } from './evidence.js';
import { addCertifiedCommands } from './certified.js';
import { addQueueOptions, addWorkerCommand, remotePoolOf } from './worker.js';
import { pruneCheckpoints, sisaTrainWorkflow } from '../unlearn/sisa/index.js';
import { trainCertifiedWorkflow } from '../unlearn/certified/index.js';

const program = new Command();
program
  .name('unlearn')
  .description('Machine unlearning: remove chosen training data from trained models, measure it, keep the record.')
  .option('--json', 'machine-readable JSON on stdout')
  .option('--quiet', 'no progress bars or log lines')
  .addOption(new Option('--backend <name>', 'tfjs backend').choices(['auto', 'wasm', 'cpu', 'tensorflow']).default('auto'))
  // Usage errors in the project's one-line form (inherited by every subcommand).
  .configureOutput({ outputError: (msg, write) => write(`unlearn: INVALID_ARGS: ${msg.replace(/^error: /, '').trim()} (see --help)\n`) })
  .exitOverride();

const globals = () => program.opts<{ json?: boolean; quiet?: boolean; backend: BackendName | 'auto' }>();
const log = (line: string) => {
  if (!globals().quiet && !globals().json) process.stderr.write(line + '\n');
};

function selectorFrom(o: { subject?: string[]; id?: string[]; class?: string[]; random?: number }): ForgetSelector | undefined {
  const s: ForgetSelector = {};
  if (o.subject?.length) s.subjects = o.subject;
  if (o.id?.length) s.ids = o.id;
  if (o.class?.length) {
    s.classes = o.class.map((c) => {
      if (!/^\d+$/.test(c)) throw new UnlearnError('INVALID_ARGS', `--class ${c} is not a class index`, 'give a non-negative integer, e.g. --class 3');
      return Number(c);
    });
  }
  if (o.random !== undefined) s.randomFraction = o.random;
  return Object.keys(s).length ? s : undefined;
}

const addSelectorOptions = (c: Command) =>
  c
    .option('--subject <name>', 'forget every example of this subject (address or s-… pseudonym); repeatable', collect)
    .option('--id <id>', 'forget this example id; repeatable', collect)
    .option('--class <k>', 'forget every example of class index k; repeatable', collect)
    .option('--random <fraction>', 'forget a seeded random fraction of the training set', num);

function out(value: unknown, text: string): void {
  process.stdout.write(globals().json ? JSON.stringify(value, null, 1) + '\n' : text + '\n');
}

/** `1 example`, `2 examples`. */
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** ` (26 fully removed, 52 partly: they keep other examples)`: the manifest's `removed.subjects` lists the fully removed ones. */
const subjectSplit = (touched: number, fully: number | undefined) =>
  fully === undefined ? '' : fully === touched ? (touched ? ' (all fully removed)' : '') : ` (${fully} fully removed, ${touched - fully} partly: they keep other examples)`;

const fmtEval = (name: string, e: { RA: number; FA: number; TA: number; mia: { auc: number; nPerSide: number } }) =>
  `${name}: RA ${pct(e.RA)}%  FA ${pct(e.FA)}%  TA ${pct(e.TA)}%  MIA AUC ${Number.isFinite(e.mia.auc) ? `${e.mia.auc.toFixed(3)} (${e.mia.nPerSide} per side${e.mia.nPerSide < 30 ? ', few examples: noisy' : ''})` : 'n/a (needs ≥ 2 forget examples)'}`;

program
  .command('train')
  .description('train an original model from scratch on a dataset and save it with its lineage')
  .requiredOption('--dataset <name>', 'dataset name (see `unlearn datasets`)')
  .option('--data-option <key=value>', 'dataset loader option, e.g. dim=4096; repeatable', keyValue)
  .addOption(new Option('--model <kind>', 'model kind (ridge: ridge regression with exact removal)').choices(['logreg', 'mlp', 'cnn', 'ridge']).default('mlp'))
  .option('--hidden <widths>', 'MLP hidden widths, comma-separated', (v) => v.split(',').map(int), [128])
  .addOption(new Option('--optimizer <name>').choices(['adam', 'sgd']).default('adam'))
  .option('--lr <rate>', 'learning rate', num, 1e-3)
  .option('--epochs <n>', 'epochs', int, 5)
  .option('--batch-size <n>', 'batch size', int, 128)
  .option('--weight-decay <wd>', 'L2 weight decay', num, 0)
  .option('--seed <n>', 'seed of init and shuffling', int, 0)
  .requiredOption('--out <dir>', 'model directory to write (must not exist, unless --force)')
  .option('--force', 'replace --out if it exists')
  .option('--checkpoint-dir <dir>', 'write a checkpoint (LayersModel files) after every epoch into <dir>/epoch-<k>')
  .option('--certified', 'certified removal (Guo et al. 2020): L2 logistic regression trained with loss perturbation (--model logreg)')
  .option('--epsilon <ε>', 'certified: ε of the (ε, δ) removal guarantee (default 1)', num)
  .option('--delta <δ>', 'certified: δ of the guarantee (default 1e-5)', num)
  .option('--lambda <λ>', 'certified/ridge: L2 regularisation (logreg: mean-form λ, default 1e-3; ridge: total λ, default 1)', num)
  .option('--sigma <σ>', 'certified: std of the loss-perturbation noise b (default 1)', num)
  .option('--features-from <dir>', 'certified: train the head on the penultimate features of this network (the guarantee covers the head only)')
  .option('--sisa', 'SISA mode: train an ensemble of shards slice by slice, for exact deletion by shard retraining')
  .option('--shards <S>', 'SISA: number of shards', int, 8)
  .option('--slices <R>', 'SISA: number of slices per shard', int, 4)
  .addOption(new Option('--aggregate <how>', 'SISA: majority vote of shard labels or mean softmax').choices(['vote', 'mean']).default('vote'))
  .option('--workers <n>', 'SISA: worker threads training shards in parallel (default: number of cores)', posInt)
  .option('--queue <url>', 'SISA: train the shards on `unlearn worker`s through Redis (with --store; --out on that store)')
  .option('--store <dir>', 'SISA with --queue: the store the workers share')
  .option('--queue-prefix <name>', 'SISA with --queue: BullMQ key prefix', 'unlearn')
  .action(async (o, cmd: Command) => {
    checkTrainFlags(o, (k) => cmd.getOptionValueSource(k) === 'cli');
    checkOutDir(o.out, { force: o.force });
    await initEngine(globals().backend);
    if (o.certified || o.model === 'ridge') {
      if (o.model !== 'logreg' && o.model !== 'ridge') throw new UnlearnError('INVALID_ARGS', `--certified needs --model logreg (or ridge), not ${o.model}`, 'pass --model logreg; for a network use --features-from');
      const params = { ...(o.epsilon !== undefined && { epsilon: o.epsilon }), ...(o.delta !== undefined && { delta: o.delta }), ...(o.lambda !== undefined && { lambda: o.lambda }), ...(o.sigma !== undefined && { sigma: o.sigma }) };
      const m = await trainCertifiedWorkflow({ dataset: o.dataset, dataOptions: o.dataOption, kind: o.model, params, seed: o.seed, featuresFrom: o.featuresFrom, out: o.out });
      const c = m.certificate;
      out(
        { modelDir: o.out, modelHash: m.modelHash, guarantee: c.guarantee, certificate: c, metrics: m.metrics, seconds: m.timings.wallSeconds },
        `saved ${o.model} ${o.out} (${c.guarantee}${c.epsilon !== undefined ? ` ε = ${c.epsilon}, δ = ${c.delta}` : ''}; model ${m.modelHash.slice(0, 12)}, ${m.lineage.numExamples} examples, TA ${pct(m.metrics.TA as number)}%, ${m.timings.wallSeconds.toFixed(1)} s)${c.budget ? `\nremoval budget σε/c = ${c.budget.total.toExponential(3)}, left ${c.budget.left.toExponential(3)}` : ''}`,
      );
      return;
    }
    if (o.sisa) {
      const pool = remotePoolOf(o);
      const m = await sisaTrainWorkflow({
        dataset: o.dataset,
        dataOptions: o.dataOption,
        kind: o.model,
        hidden: o.hidden,
        recipe: { optimizer: o.optimizer, learningRate: o.lr, epochs: o.epochs, batchSize: o.batchSize, weightDecay: o.weightDecay, seed: o.seed },
        sisa: { shards: o.shards, slices: o.slices, aggregate: o.aggregate, workers: o.workers, pool },
        out: o.out,
        log,
      }).finally(() => pool?.close());
      const st = m.storage;
      out(
        { modelDir: o.out, modelHash: m.modelHash, testAccuracy: m.metrics.TA, seconds: m.timings.wallSeconds, storage: st },
        `saved SISA ${o.out} (${m.sisa.shards} shards × ${m.sisa.slices} slices, ${m.lineage.numExamples} examples, TA ${pct(m.metrics.TA as number)}%, ${m.timings.wallSeconds.toFixed(1)} s)\nstorage: ${st.totalBytes} bytes = models ${st.modelBytes} + ${st.checkpoints} checkpoints ${st.checkpointBytes} + manifest ${st.manifestBytes}`,
      );
      return;
    }
    const r = await trainWorkflow({
      checkpointDir: o.checkpointDir,
      dataset: o.dataset,
      dataOptions: o.dataOption,
      kind: o.model,
      hidden: o.hidden,
      recipe: { optimizer: o.optimizer, learningRate: o.lr, epochs: o.epochs, batchSize: o.batchSize, weightDecay: o.weightDecay, seed: o.seed },
      out: o.out,
      quiet: globals().quiet || globals().json,
    });
    out({ modelDir: o.out, modelHash: r.manifest.modelHash, testAccuracy: r.testAccuracy, seconds: r.manifest.timings.wallSeconds }, `saved ${o.out} (model ${r.manifest.modelHash.slice(0, 12)}, ${r.manifest.lineage.numExamples} examples, TA ${pct(r.testAccuracy)}%, ${r.manifest.timings.wallSeconds.toFixed(1)} s)`);
  });

/**
 * Refuses `train` flags that do not go together instead of silently ignoring some of them.
 * @throws UnlearnError INVALID_ARGS naming the conflicting flags.
 */
function checkTrainFlags(o: Record<string, unknown>, given: (key: string) => boolean): void {
  const convex = Boolean(o.certified) || o.model === 'ridge';
  const mode = o.sisa ? '--sisa' : convex ? (o.certified ? '--certified' : '--model ridge') : 'plain training';
  const flag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  const misplaced = (keys: string[], allowed: boolean, owner: string, why = '') => {
    const bad = keys.filter(given);
    if (bad.length && !allowed) throw new UnlearnError('INVALID_ARGS', `${bad.map(flag).join(', ')} ${bad.length === 1 ? 'applies' : 'apply'} to ${owner}, not to ${mode}${why}`, `drop ${bad.map(flag).join(', ')}`);
  };
  if (o.sisa && convex) throw new UnlearnError('INVALID_ARGS', `--sisa cannot be combined with ${o.certified ? '--certified' : '--model ridge'}`, 'train either a SISA ensemble or a convex model with certified/exact removal');
  misplaced(['epsilon', 'delta', 'sigma', 'featuresFrom'], Boolean(o.certified), '--certified');
  misplaced(['lambda'], convex, '--certified or --model ridge');
  misplaced(['shards', 'slices', 'aggregate', 'workers'], Boolean(o.sisa), '--sisa');
  misplaced(['checkpointDir'], !o.sisa && !convex, 'plain training', ' (SISA keeps its own slice checkpoints)');
  misplaced(['hidden', 'optimizer', 'lr', 'epochs', 'batchSize', 'weightDecay'], !convex, 'network training', ' (a convex model is solved to its optimum)');
}

addSelectorOptions(
  addQueueOptions(program
    .command('forget'))
    .description('honour a deletion request: apply an unlearning method and save the new model version')
    .requiredOption('--model <dir>', 'model directory')
    .option('--method <id>', 'unlearning method (see `unlearn methods`); required unless the model is a SISA or certified model, which use their own exact / certified removal')
    .option('--params <json>', 'method params as JSON, e.g. \'{"epochs":2}\'', json, {})
    .option('--seed <n>', 'seed of the unlearning run (default: the model\'s)', int)
    .requiredOption('--out <dir>', 'directory of the new model version (must not exist, unless --force)')
    .option('--force', 'replace --out if it exists')
    .option('--reveal-subjects', 'print real subject ids instead of pseudonyms (personal data)'),
).action(async (o) => {
  checkOutDir(o.out, { force: o.force, inputs: [o.model] });
  await initEngine(globals().backend);
  const selector = selectorFrom(o);
  if (!selector) throw new UnlearnError('INVALID_ARGS', 'no forget set given', 'pass --subject, --id, --class or --random');
  const pool = remotePoolOf(o);
  const r = await forgetWorkflow({ modelDir: o.model, selector, method: o.method, params: o.params, seed: o.seed, out: o.out, quiet: globals().quiet || globals().json, pool }).finally(() => pool?.close());
  const subjects = r.forget.subjects.map((s) => r.subjectIndex.display(s, o.revealSubjects));
  out(
    { modelDir: o.out, modelHash: r.manifest.modelHash, parent: r.manifest.parent, guarantee: r.manifest.method.guarantee, forgotten: r.forget.forgetIdx.length, subjects, subjectsFullyRemoved: r.forget.fullyRemoved, metrics: r.manifest.metrics, notes: r.notes ?? [], seconds: r.manifest.timings.wallSeconds },
    `${r.manifest.method.id} (${r.manifest.method.guarantee}) removed ${plural(r.forget.forgetIdx.length, 'example')} of ${plural(subjects.length, 'subject')}${subjectSplit(subjects.length, r.forget.fullyRemoved)} in ${r.manifest.timings.wallSeconds.toFixed(2)} s → ${o.out}\n${[...(r.notes ?? []), fmtEval('new model', r.evaluation)].join('\n')}`,
  );
});

addSelectorOptions(
  program
    .command('eval')
    .description('evaluate a model on its forget set (the removed ids, or a given selection): RA, FA, TA, loss MIA')
    .requiredOption('--model <dir>', 'model directory')
    .option('--reference <dir>', 'a reference model (e.g. the retrained one) to compare with'),
).action(async (o) => {
  await initEngine(globals().backend);
  const r = await evalWorkflow({ modelDir: o.model, referenceDir: o.reference, selector: selectorFrom(o) });
  const strip = (e: typeof r.model) => ({ RA: e.RA, FA: e.FA, TA: e.TA, forgetLoss: e.forgetLoss, mia: e.mia });
  out({ model: strip(r.model), reference: r.reference && strip(r.reference) }, [fmtEval('model', r.model), ...(r.reference ? [fmtEval('reference', r.reference)] : [])].join('\n'));
});

program
  .command('demo')
  .description('train a spam filter on real email, forget one sender with several methods, compare with retraining')
  .option('--out <dir>', 'output directory (report.json, report.md, models/)', 'out/demo')
  .option('--seed <n>', 'seed', int, 0)
  .option('--subject <name>', 'sender to forget (address or s-… pseudonym; default: most prolific person-like sender)')
  .option('--reveal-subjects', 'show real sender addresses instead of pseudonyms (personal data)')
  .option('--force', 'replace --out if it is an earlier demo output (or empty)')
  .action(async (o) => {
    checkOutDir(o.out, { force: o.force });
    const r = await runDemo({ out: o.out, seed: o.seed, subject: o.subject, revealSubjects: o.revealSubjects, quiet: globals().quiet || globals().json, backend: globals().backend, log });
    out(JSON.parse(r.reportJson), `\n${r.table}\n\nreport: ${o.out}/report.md, ${o.out}/report.json`);
  });

program
  .command('prune')
  .description('SISA: delete the checkpoints of slices before a point (less disk, costlier deletions; always exact)')
  .requiredOption('--model <dir>', 'SISA model directory (changed in place)')
  .requiredOption('--keep-from-slice <p>', 'keep the checkpoints of slices p..R-1; p = R removes all', int)
  .action(async (o) => {
    const r = await pruneCheckpoints(o.model, o.keepFromSlice);
    out({ modelDir: o.model, freedBytes: r.freedBytes, storage: r.manifest.storage }, `freed ${r.freedBytes} bytes; storage now ${r.manifest.storage.totalBytes} bytes (${r.manifest.storage.checkpoints} checkpoints)`);
  });

program
  .command('methods')
  .description('list the unlearning methods (classifiers, then language models: `unlearn lm forget --method`)')
  .action(() => {
    const entry = (track: 'classifier' | 'language-model') => (m: { id: string; guarantee: string; description: string; reference: string; paramsSchema: Parameters<typeof methodParams>[0] }) => ({ track, id: m.id, guarantee: m.guarantee, description: m.description, reference: m.reference, params: methodParams(m.paramsSchema) });
    const ms = [...listMethods().map(entry('classifier')), ...listLmMethods().map(entry('language-model'))];
    const line = (m: (typeof ms)[number]) => `${m.id.padEnd(20)} ${m.guarantee.padEnd(12)} ${m.description}\n${' '.repeat(34)}${m.reference}\n${' '.repeat(34)}params: ${fmtParams(m.params)}`;
    out(ms, ['classifier methods (unlearn forget --method):', ...ms.filter((m) => m.track === 'classifier').map(line), '', 'language-model methods (unlearn lm forget --method):', ...ms.filter((m) => m.track === 'language-model').map(line)].join('\n'));
  });

program
  .command('datasets')
  .description('list the datasets')
  .action(() => {
    const ds = listDatasets();
    out(ds, ds.map((d) => `${d.name.padEnd(14)} ${d.description}`).join('\n'));
  });

program
  .command('subjects')
  .description('list the subjects of a dataset with their number of training examples (pseudonymised)')
  .requiredOption('--dataset <name>', 'dataset name')
  .option('--data-option <key=value>', 'dataset loader option; repeatable', keyValue)
  .option('--top <n>', 'show the n largest', int, 20)
  .option('--reveal-subjects', 'show real subject ids (personal data)')
  .action(async (o) => {
    const split = await loadDataset(o.dataset, o.dataOption ?? {});
    const idx = SubjectIndex.forSplit(split);
    const counts = new Map<string, number>();
    for (const s of split.train.subjects) counts.set(s, (counts.get(s) ?? 0) + 1);
    const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, o.top).map(([s, n]) => ({ subject: idx.display(s, o.revealSubjects), train: n }));
    out(top, top.map((t) => `${t.subject}\t${t.train}`).join('\n'));
  });

addBenchCommand(program);
addTuneCommand(program);
addLmCommands(program);
addDataCommands(program);
addModelCommands(program);
addLmSeriesCommands(program);
addServiceCommands(program);
addEvidenceCommands(program);
addCertifiedCommands(program);
addWorkerCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // Usage errors (unknown option, missing argument) → INVALID_ARGS; --help / --version → 0.
    process.exitCode = e.exitCode === 0 ? 0 : EXIT_CODES.INVALID_ARGS;
  } else if (e instanceof ZodError) {
    // A library schema rejected a value the command line passed through: a usage problem, not a bug.
    const issue = e.issues[0];
    process.stderr.write(`unlearn: INVALID_PARAMS: ${issue?.path.join('.') || 'value'}: ${issue?.message} (see --help for the allowed values)\n`);
    process.exitCode = EXIT_CODES.INVALID_PARAMS;
  } else if (e instanceof UnlearnError) {
    process.stderr.write(`unlearn: ${e.code}: ${e.message}${e.hint ? ` (${e.hint})` : ''}\n`);
    process.exitCode = e.exitCode;
  } else if (e instanceof WebAssembly.RuntimeError && /Aborted|memory access out of bounds|out of memory/i.test(e.message)) {
    // The wasm backend's heap is at most 4 GB: a batch too large for it aborts inside a kernel.
    process.stderr.write('unlearn: INVALID_PARAMS: the wasm backend ran out of memory (4 GB per instance) (lower the batch size: --batch-size, or batchSize in --params)\n');
    process.exitCode = EXIT_CODES.INVALID_PARAMS;
  } else {
    process.stderr.write(`unlearn: internal error: ${(e as Error).stack ?? e}\n`);
    process.exitCode = EXIT_INTERNAL;
  }
}
