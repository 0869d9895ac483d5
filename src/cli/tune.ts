/**
 * `unlearn tune`: a method's params searched within the challenge's compute budget
 * (src/workflows/tune.ts) from the command line — parsing, progress and printing only.
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import type { BackendName } from '../engine/backend.js';
import { ensureDir } from '../models/io.js';
import { claimOutDir } from '../models/staging.js';
import { writeTextAtomic } from '../workflows.js';
import { runTune, tuneMarkdown } from '../workflows/tune.js';
import { int, keyValue, num, posInt } from './args.js';
import { benchDataOptions, benchProgress, parseForget } from './bench.js';
import { Option } from 'commander';
import type { BenchModelKind } from '../workflows/benchSetup.js';

/** Add the `tune` command to `program` (which carries the global --json/--quiet/--backend). */
export function addTuneCommand(program: Command): void {
  program
    .command('tune')
    .description("search a method's params by the challenge score on a validation forget set, each trial within budget × retrain time")
    .requiredOption('--method <id>', 'method to tune (see `unlearn methods`)')
    .option('--budget <x>', 'largest admissible cost: method time / retrain time', num, 0.2)
    .option('--dataset <name>', 'dataset', 'digits')
    .option('--data-option <key=value>', 'dataset loader option, e.g. limit=2000 or dim=1024; repeatable', keyValue)
    .addOption(new Option('--model <kind>', 'model kind (cnn: image datasets, image=true is implied)').choices(['logreg', 'mlp', 'cnn']).default('mlp'))
    .option('--filters <sizes>', 'CNN conv filters per block, comma-separated', '16,32')
    .option('--dense <n>', 'CNN dense width', int, 64)
    .option('--forget <spec>', 'the scored forget set (validation is drawn disjoint from it): random:F | class:K | subject:NAME | top-subject:R', 'random:0.02')
    .option('--models <N>', 'runs per trial and retrained reference models', int, 8)
    .option('--trials <n>', 'trials, the defaults included', int, 6)
    .option('--workers <n>', 'worker threads (default: number of cores)', posInt)
    .option('--out <dir>', 'output directory (tune.json, tune.md)', 'out/tune')
    .option('--force', 'write into an existing --out (an earlier tune output; its cache is reused)')
    .option('--cache <dir>', 'model farm cache (default <out>/cache)')
    .option('--seed <n>', 'seed of everything', int, 0)
    .option('--hidden <sizes>', 'MLP hidden layer sizes, comma-separated', '128')
    .option('--epochs <n>', 'training epochs of every from-scratch model', int, 8)
    .option('--batch-size <n>', 'training batch size', int, 128)
    .option('--lr <x>', 'training learning rate (Adam)', num, 1e-3)
    .action(async (o) => {
      const g = program.opts<{ json?: boolean; quiet?: boolean; backend: BackendName | 'auto' }>();
      claimOutDir(o.out, { force: o.force });
      const progress = benchProgress(!!(g.quiet || g.json));
      let r;
      try {
        r = await runTune({
          source: { dataset: o.dataset, options: benchDataOptions(o.dataset, o.model as BenchModelKind, o.dataOption) },
          model: o.model as BenchModelKind,
          filters: String(o.filters).split(',').map((s) => int(s.trim())),
          dense: o.dense,
          method: o.method,
          budget: o.budget,
          forget: parseForget(o.forget),
          models: o.models,
          trials: o.trials,
          hidden: String(o.hidden).split(',').map((s) => int(s.trim())),
          recipe: { epochs: o.epochs, batchSize: o.batchSize, learningRate: o.lr },
          seed: o.seed,
          cacheDir: o.cache ?? join(o.out, 'cache'),
          workers: o.workers,
          backend: g.backend,
          onProgress: (p) => progress.tick(p),
        });
      } finally {
        progress.stop();
      }
      await ensureDir(o.out);
      await writeTextAtomic(join(o.out, 'tune.json'), JSON.stringify(r, null, 2) + '\n');
      await writeTextAtomic(join(o.out, 'tune.md'), tuneMarkdown(r));
      if (g.json) process.stdout.write(JSON.stringify(r) + '\n');
      else process.stdout.write(`${tuneMarkdown(r)}\n${o.out}/tune.json, tune.md\n`);
    });
}
