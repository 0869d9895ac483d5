/**
 * `unlearn bench`: the method leaderboard (src/eval/benchmark.ts) from the command line — parsing,
 * progress display and printing only.
 */
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { int, json, keyValue, num, posInt } from './args.js';
import { join } from 'node:path';
import type { BackendName } from '../engine/backend.js';
import { UnlearnError } from '../errors.js';
import { runBenchmark, type BenchMethod } from '../workflows/benchmark.js';
import type { FarmProgress } from '../workflows/farm.js';
import { renderHtmlReport } from '../report/html.js';
import { leaderboardJson, leaderboardMarkdown, leaderboardTable } from '../report/leaderboard.js';
import { readTunedParams, type BenchForget, type BenchModelKind } from '../workflows/benchSetup.js';
import { loadDataset } from '../data/registry.js';
import { specFor } from '../train/fit.js';
import { Option } from 'commander';
import { ensureDir } from '../models/io.js';
import { addQueueOptions, remotePoolOf } from './worker.js';
import { claimOutDir } from '../models/staging.js';
import { writeTextAtomic } from '../workflows.js';
import { runPoisonCommand } from './poison.js';

/**
 * Parse a forget request `random:F`, `class:K`, `subject:NAME`, `id:ID` or `top-subject:R` (the
 * R-th most prolific subject, e.g. the emails' biggest sender; several joined by `,` are a union).
 * @throws UnlearnError INVALID_ARGS on anything else.
 */
export function parseForget(spec: string): BenchForget {
  const s: BenchForget = {};
  for (const part of spec.split(',')) {
    const i = part.indexOf(':');
    const kind = part.slice(0, i);
    const value = part.slice(i + 1);
    if (i < 1 || !value) throw new UnlearnError('INVALID_ARGS', `bad --forget '${part}'`, 'use random:0.02, class:3, subject:NAME or id:ID');
    if (kind === 'random') s.randomFraction = num(value);
    else if (kind === 'class') (s.classes ??= []).push(int(value));
    else if (kind === 'subject') (s.subjects ??= []).push(value);
    else if (kind === 'id') (s.ids ??= []).push(value);
    else if (kind === 'top-subject' && s.subjectRank === undefined) s.subjectRank = int(value);
    else throw new UnlearnError('INVALID_ARGS', `bad --forget kind '${kind}'`, 'use random:, class:, subject:, id: or top-subject: (once)');
  }
  return s;
}

/**
 * The dataset options of a bench or tune run: `--data-option` values, with `image: true` implied
 * for a CNN on a built-in image dataset (digits, fashion-mnist) unless given.
 */
export function benchDataOptions(dataset: string, model: BenchModelKind, given: Record<string, unknown> | undefined): Record<string, unknown> {
  const image = model === 'cnn' && (dataset === 'digits' || dataset === 'fashion-mnist') ? { image: true } : {};
  return { ...image, ...given };
}

/** A progress display with ETA on stderr: a bar on a terminal, a line every 5% otherwise. */
export function benchProgress(quiet: boolean): { tick(p: FarmProgress): void; stop(): void } {
  if (quiet) return { tick() {}, stop() {} };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: 'bench          {bar} {percentage}% | {value}/{total} models | {cached} cached | eta {eta_formatted}', stream: process.stderr, hideCursor: true, etaBuffer: 40 },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      tick(p) {
        if (!started) ((started = true), bar.start(p.total, 0, { cached: 0 }));
        bar.update(p.done, { cached: p.cached });
      },
      stop: () => bar.stop(),
    };
  }
  const t0 = performance.now();
  let next = 0;
  return {
    tick(p) {
      if (p.done < next && p.done !== p.total) return;
      next = p.done + Math.max(1, Math.round(p.total / 20));
      const el = (performance.now() - t0) / 1000;
      const computed = p.done - p.cached;
      const eta = computed > 0 ? (el / computed) * (p.total - p.done) : NaN;
      process.stderr.write(`bench: ${p.done}/${p.total} models (${p.cached} cached), ${el.toFixed(0)} s elapsed, eta ${Number.isFinite(eta) ? eta.toFixed(0) + ' s' : '-'}\n`);
    },
    stop() {},
  };
}

/** Add the `bench` command to `program` (which carries the global --json/--quiet/--backend). */
export function addBenchCommand(program: Command): void {
  addQueueOptions(program
    .command('bench'))
    .description('leaderboard of unlearning methods: NeurIPS 2023 challenge score, loss MIA, LiRA, U-LiRA, cost (Markdown, JSON, HTML)')
    .option('--dataset <name>', 'dataset', 'digits')
    .option('--data-option <key=value>', 'dataset loader option, e.g. limit=2000 or dim=1024; repeatable', keyValue)
    .addOption(new Option('--model <kind>', 'model kind (cnn: image datasets, image=true is implied)').choices(['logreg', 'mlp', 'cnn']).default('mlp'))
    .option('--filters <sizes>', 'CNN conv filters per block, comma-separated', '16,32')
    .option('--dense <n>', 'CNN dense width', int, 64)
    .option('--methods <ids>', 'comma-separated method ids', 'retrain,finetune,neggrad-plus,scrub')
    .option('--params <json>', 'method params by id, e.g. \'{"scrub":{"epochs":2}}\'', json)
    .option('--tuned <dir>', 'take each method\'s params from the `unlearn tune` outputs under <dir> (<dir>/<method>/tune.json); --params override them')
    .option('--note <text>', 'one line for the report header (e.g. a documented reduction of data or model)')
    .option('--models <N>', 'unlearning runs per method and retrained models per side', int, 32)
    .option('--shadows <K>', 'shadow models for LiRA / U-LiRA (even)', int, 16)
    .option('--forget <spec>', 'forget set: random:F | class:K | subject:NAME | id:ID | top-subject:R (comma = union)', 'random:0.02')
    .option('--workers <n>', 'worker threads (default: number of cores)', posInt)
    .option('--out <dir>', 'output directory', 'out/bench')
    .option('--force', 'write into an existing --out (an earlier bench output; its cache is reused)')
    .option('--cache <dir>', 'model farm cache (default <out>/cache); reruns reuse it')
    .option('--seed <n>', 'seed of everything', int, 0)
    .option('--hidden <sizes>', 'MLP hidden layer sizes, comma-separated', '128')
    .option('--epochs <n>', 'training epochs of every from-scratch model', int, 8)
    .option('--batch-size <n>', 'training batch size', int, 128)
    .option('--lr <x>', 'training learning rate (Adam)', num, 1e-3)
    .option('--scenario <name>', "'poison': corrective unlearning of a backdoor and of label flips (default dataset fashion-mnist)")
    .option('--poison-fraction <x>', 'poison scenario: share of training examples carrying the backdoor trigger', num, 0.05)
    .option('--target <k>', 'poison scenario: backdoor target class', int, 0)
    .option('--flip-classes <a,b>', 'poison scenario: the two classes whose labels are swapped', '0,6')
    .option('--flip-fraction <x>', "poison scenario: share of the two classes' examples flipped", num, 0.3)
    .option('--known <list>', 'poison scenario: known shares of the poison forming the forget set', '1,0.5,0.25')
    .option('--limit <n>', 'poison scenario: keep the first n training examples', int, 10000)
    .action(async (o) => {
      const g = program.opts<{ json?: boolean; quiet?: boolean; backend: BackendName | 'auto' }>();
      if (o.scenario !== undefined && o.scenario !== 'poison') throw new UnlearnError('INVALID_ARGS', `unknown --scenario '${o.scenario}'`, 'the scenario is: poison');
      claimOutDir(o.out, { force: o.force });
      const cmd = program.commands.find((c) => c.name() === 'bench')!;
      if (o.scenario === 'poison') return runPoisonCommand({ ...o, datasetExplicit: cmd.getOptionValueSource('dataset') === 'cli', methods: cmd.getOptionValueSource('methods') === 'cli' ? o.methods : 'retrain,finetune,neggrad-plus,scrub,scrub-r,random-label,salun,ssd,l1-sparse,bad-teacher,reset-distil' }, g);
      const ids = String(o.methods).split(',').map((s: string) => s.trim()).filter(Boolean);
      if (ids.length === 0) throw new UnlearnError('INVALID_ARGS', 'no methods given', 'e.g. --methods retrain,finetune');
      const hidden = String(o.hidden).split(',').map((s) => int(s.trim()));
      const filters = String(o.filters).split(',').map((s) => int(s.trim()));
      const model = o.model as BenchModelKind;
      const dataOptions = benchDataOptions(o.dataset, model, o.dataOption);
      let tuned: { method: string; from: string; trial: number }[] | undefined;
      let tunedParams: Record<string, Record<string, unknown>> = {};
      if (o.tuned) {
        const split = await loadDataset(o.dataset, dataOptions);
        const t = readTunedParams(o.tuned, { fingerprint: split.fingerprint, spec: specFor(split, model, { hidden, filters, dense: o.dense }) });
        tuned = Object.entries(t.params).filter(([m]) => ids.includes(m)).map(([method, p]) => ({ method, from: p.from, trial: p.trial }));
        tunedParams = Object.fromEntries(Object.entries(t.params).map(([m, p]) => [m, p.params]));
      }
      const methods: BenchMethod[] = ids.map((id: string) => ({ id, params: { ...(tunedParams[id] ?? {}), ...((o.params?.[id] as Record<string, unknown> | undefined) ?? {}) } }));
      const progress = benchProgress(!!(g.quiet || g.json));
      const pool = remotePoolOf(o);
      let result;
      try {
        result = await runBenchmark({
          source: { dataset: o.dataset, options: dataOptions },
          methods,
          models: o.models,
          shadows: o.shadows,
          forget: parseForget(o.forget),
          model,
          hidden,
          filters,
          dense: o.dense,
          tuned,
          note: o.note,
          recipe: { epochs: o.epochs, batchSize: o.batchSize, learningRate: o.lr },
          seed: o.seed,
          cacheDir: o.cache ?? (pool ? join(o.store, 'farm-cache') : join(o.out, 'cache')),
          workers: o.workers,
          pool,
          backend: g.backend,
          onProgress: (p) => progress.tick(p),
        });
      } finally {
        progress.stop();
        await pool?.close();
      }
      await ensureDir(o.out);
      await writeTextAtomic(join(o.out, 'leaderboard.md'), leaderboardMarkdown(result));
      await writeTextAtomic(join(o.out, 'leaderboard.json'), leaderboardJson(result));
      await writeTextAtomic(join(o.out, 'report.html'), await renderHtmlReport(result));
      if (g.json) process.stdout.write(leaderboardJson(result));
      else process.stdout.write(`${leaderboardTable(result.rows)}\n\nwall time ${result.wallSeconds.toFixed(1)} s; ${o.out}/leaderboard.md, leaderboard.json, report.html\n`);
    });
}
