/**
 * SISA benchmark (Bourtoule et al., IEEE S&P 2021): for S ∈ {1, 2, 4, 8, 16} shards and
 * R ∈ {1, 4} slices, on fashion-mnist (60,000 train / 10,000 test, MLP 784-128-10) and on the
 * emails (4,837 / 1,209, MLP 16384-64-2):
 * - test accuracy of the ensemble (majority vote and mean softmax) vs the single model;
 * - wall time of one single-subject deletion (mean over K subjects, the same ones for every
 *   configuration; one retrained shard, in this thread) vs a full SISA retrain (all shards, in
 *   worker threads) and vs retraining the single model without the subject (this thread);
 * - storage on disk (shard models + checkpoints + manifest).
 *
 *   npm run bench:sisa                         # both datasets
 *   npx tsx bench/sisa.ts --dataset emails     # one
 *   BENCH_DELETIONS=1 npm run bench:sisa       # fewer deletions per configuration (default 3)
 *   BENCH_SHARDS=8 BENCH_SLICES=4 BENCH_SISA_EPOCHS=10 npx tsx bench/sisa.ts --dataset fashion-mnist
 *                                              # one configuration, SISA recipe with 10 epochs
 *   BENCH_NAME=sisa-x …                        # write out/bench/sisa-x.{md,json,svg} instead
 *
 * Writes out/bench/sisa.md (Markdown tables), out/bench/sisa.json and out/bench/sisa.svg (test
 * accuracy and deletion speed-up vs S, rendered with vega-lite). Recipes: fashion-mnist Adam
 * lr 1e-3, 5 epochs, batch 128; emails the demo's (Adam lr 1e-3, 6 epochs, batch 64). Slice
 * stages train round(2e/(R+1)) epochs each (2 for R = 4).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import type { DataSplit } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/registry.js';
import { initEngine } from '../src/engine/backend.js';
import { Rng } from '../src/engine/rng.js';
import { isUnlearnError } from '../src/errors.js';
import { accuracyOf, predict } from '../src/train/predict.js';
import { buildModel } from '../src/models/build.js';
import { markdownTable } from '../src/report/table.js';
import { range } from '../src/train/batches.js';
import { fitFromScratch, specFor } from '../src/train/fit.js';
import { TrainRecipeSchema, type TrainRecipe } from '../src/train/recipe.js';
import { trainModel } from '../src/train/train.js';
import { selectForgetSet } from '../src/data/forgetSet.js';
import { ensemblePredictor, loadShardModels, readSisaManifest, sisaForget, trainSisa } from '../src/unlearn/sisa/index.js';
import { defaultDemoSubject } from '../src/workflows.js';

const SHARDS = (process.env.BENCH_SHARDS ?? '1,2,4,8,16').split(',').map(Number);
const SLICES = (process.env.BENCH_SLICES ?? '1,4').split(',').map(Number);
/** Epochs of the SISA recipe (default: the single model's); more epochs offset the smaller shards. */
const SISA_EPOCHS = process.env.BENCH_SISA_EPOCHS ? Number(process.env.BENCH_SISA_EPOCHS) : undefined;
const K = Number(process.env.BENCH_DELETIONS ?? 3);

interface Setup {
  name: string;
  load: () => Promise<DataSplit>;
  hidden: number[];
  recipe: TrainRecipe;
  /** K subjects to delete, one at a time. */
  subjects: (split: DataSplit) => string[];
}

/** Person-like senders (≤ 5% of the training set): the demo's subject, then seeded random ones. */
function emailSubjects(split: DataSplit): string[] {
  const first = defaultDemoSubject(split);
  const counts = new Map<string, number>();
  for (const s of split.train.subjects) counts.set(s, (counts.get(s) ?? 0) + 1);
  const pool = [...counts].filter(([s, c]) => c <= 0.05 * split.train.labels.length && s !== first).map(([s]) => s).sort();
  const rng = new Rng('bench/sisa/subjects');
  return [first, ...Array.from({ length: K - 1 }, () => pool[rng.int(pool.length)])].slice(0, K);
}

const SETUPS: Setup[] = [
  {
    name: 'fashion-mnist',
    load: () => loadDataset('fashion-mnist', {}),
    hidden: [128],
    recipe: TrainRecipeSchema.parse({ optimizer: 'adam', learningRate: 1e-3, epochs: 5, batchSize: 128, seed: 0 }),
    // Every example is its own subject: seeded random examples.
    subjects: (split) => Array.from(new Rng('bench/sisa/examples').permutation(split.train.labels.length).slice(0, K), (i) => split.train.subjects[i]),
  },
  {
    name: 'emails',
    load: () => loadDataset('emails', { seed: 0 }),
    hidden: [64],
    recipe: TrainRecipeSchema.parse({ optimizer: 'adam', learningRate: 1e-3, epochs: 6, batchSize: 64, seed: 0 }),
    subjects: emailSubjects,
  },
];

interface Row {
  dataset: string;
  S: number;
  R: number;
  taVote: number;
  taMean: number;
  singleTA: number;
  sisaTrainSeconds: number;
  deleteSeconds: number;
  /** For each retrained shard of each deletion: the slice it restarted after (0 = from scratch). */
  retrainedFromSlice: number[];
  singleRetrainSeconds: number;
  storageBytes: number;
}

const log = (s: string) => process.stderr.write(s + '\n');
const skipped: string[] = [];

async function benchDataset(setup: Setup, work: string): Promise<Row[]> {
  const split = await setup.load();
  const spec = specFor(split, 'mlp', { hidden: setup.hidden });
  log(`${setup.name}: ${split.train.labels.length} train / ${split.test.labels.length} test`);
  const single = await fitFromScratch(split, spec, setup.recipe, { quiet: true });
  const singleTA = accuracyOf(predict(single.model, split.test, range(split.test.labels.length)));
  single.model.dispose();
  const subjects = setup.subjects(split);
  // Retrain the single model without the first subject (the exact baseline a deletion replaces).
  const f0 = selectForgetSet(split.train, split.train.ids, { subjects: [subjects[0]] });
  const m0 = buildModel(spec, setup.recipe.seed);
  const singleRetrainSeconds = (await trainModel(m0, split.train, f0.retainIdx, setup.recipe, { quiet: true })).seconds;
  m0.dispose();
  log(`  single model: TA ${(singleTA * 100).toFixed(2)}%, train ${single.seconds.toFixed(1)} s, retrain without one subject ${singleRetrainSeconds.toFixed(1)} s`);
  const rows: Row[] = [];
  for (const R of SLICES) {
    for (const S of SHARDS) {
      const dir = join(work, `${setup.name}-${S}-${R}`);
      const sisaRecipe = { ...setup.recipe, epochs: SISA_EPOCHS ?? setup.recipe.epochs };
      let t;
      try {
        t = await trainSisa(split, spec, sisaRecipe, { shards: S, slices: R, aggregate: 'vote' }, { out: dir });
      } catch (e) {
        // E.g. emails at S = 16: one sender holds ~10% of the mail and fills a shard alone, so R = 4 slices are impossible.
        if (!isUnlearnError(e, 'INVALID_PARAMS')) throw e;
        log(`  S=${S} R=${R}: not possible (${(e as Error).message})`);
        skipped.push(`${setup.name} S=${S} R=${R}: ${(e as Error).message}`);
        continue;
      }
      const m = await readSisaManifest(dir);
      const models = await loadShardModels(dir, m);
      const testIdx = range(split.test.labels.length);
      const taVote = accuracyOf(ensemblePredictor(models, 'vote')(split.test, testIdx));
      const taMean = accuracyOf(ensemblePredictor(models, 'mean')(split.test, testIdx));
      models.forEach((x) => x.dispose());
      let del = 0;
      const from: number[] = [];
      for (const [i, s] of subjects.entries()) {
        const r = await sisaForget(dir, split, { subjects: [s] }, `${dir}-del${i}`, { workers: 1 });
        del += r.seconds;
        from.push(...r.retrained.map((x) => x.fromSlice));
        await rm(`${dir}-del${i}`, { recursive: true, force: true });
      }
      const row: Row = { dataset: setup.name, S, R, taVote, taMean, singleTA, sisaTrainSeconds: t.seconds, deleteSeconds: del / subjects.length, retrainedFromSlice: from, singleRetrainSeconds, storageBytes: m.storage.totalBytes };
      rows.push(row);
      log(`  S=${S} R=${R}: TA vote ${(taVote * 100).toFixed(2)}% mean ${(taMean * 100).toFixed(2)}%, SISA train ${t.seconds.toFixed(1)} s, deletion ${row.deleteSeconds.toFixed(2)} s (from slices ${from.join(',')}), storage ${(row.storageBytes / 1e6).toFixed(1)} MB`);
      await rm(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

function table(rows: Row[]): string {
  const header = ['dataset', 'S', 'R', 'TA vote %', 'TA mean %', 'single TA %', 'SISA train (s)', 'one deletion (s)', 'single retrain (s)', 'speed-up vs single retrain', 'speed-up vs full SISA retrain', 'storage (MB)'];
  return markdownTable(
    header,
    rows.map((r) => [
      r.dataset,
      String(r.S),
      String(r.R),
      (r.taVote * 100).toFixed(2),
      (r.taMean * 100).toFixed(2),
      (r.singleTA * 100).toFixed(2),
      r.sisaTrainSeconds.toFixed(1),
      r.deleteSeconds.toFixed(2),
      r.singleRetrainSeconds.toFixed(1),
      `${(r.singleRetrainSeconds / r.deleteSeconds).toFixed(1)}×`,
      `${(r.sisaTrainSeconds / r.deleteSeconds).toFixed(1)}×`,
      (r.storageBytes / 1e6).toFixed(2),
    ]),
  );
}

/** Test accuracy and deletion speed-up vs S, one row of two panels per dataset (vega-lite → SVG). */
async function plot(rows: Row[]): Promise<string> {
  const acc = rows.flatMap((r) => [
    { dataset: r.dataset, S: r.S, series: `SISA R=${r.R} vote`, value: r.taVote * 100 },
    { dataset: r.dataset, S: r.S, series: `SISA R=${r.R} mean`, value: r.taMean * 100 },
    { dataset: r.dataset, S: r.S, series: 'single model', value: r.singleTA * 100 },
  ]);
  const speed = rows.map((r) => ({ dataset: r.dataset, S: r.S, series: `R=${r.R}`, value: r.singleRetrainSeconds / r.deleteSeconds }));
  const datasets = [...new Set(rows.map((r) => r.dataset))];
  const x = { field: 'S', type: 'quantitative', scale: { type: 'log', base: 2 }, axis: { values: SHARDS, title: 'shards S' } } as const;
  const spec: vegaLite.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    vconcat: datasets.map((d) => ({
      hconcat: [
        {
          title: `${d}: test accuracy`,
          width: 300,
          height: 200,
          data: { values: acc.filter((a) => a.dataset === d) },
          mark: { type: 'line', point: true },
          encoding: { x, y: { field: 'value', type: 'quantitative', scale: { zero: false }, title: 'test accuracy %' }, color: { field: 'series', type: 'nominal' } },
        },
        {
          title: `${d}: one deletion vs retraining the single model`,
          width: 300,
          height: 200,
          data: { values: speed.filter((a) => a.dataset === d) },
          mark: { type: 'line', point: true },
          encoding: { x, y: { field: 'value', type: 'quantitative', scale: { type: 'log' }, title: 'speed-up (×)' }, color: { field: 'series', type: 'nominal' } },
        },
      ],
    })),
  };
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  return view.toSVG();
}

const only = process.argv.includes('--dataset') ? process.argv[process.argv.indexOf('--dataset') + 1] : undefined;
const backend = await initEngine('auto');
const work = await mkdtemp(join(tmpdir(), 'bench-sisa-'));
const t0 = performance.now();
/** BENCH_MERGE=file.json: rows of an earlier run (e.g. the other dataset) to include in the table and plot. */
const rows: Row[] = process.env.BENCH_MERGE ? JSON.parse(await readFile(process.env.BENCH_MERGE, 'utf8')) : [];
try {
  for (const s of SETUPS.filter((x) => !only || x.name === only)) rows.push(...(await benchDataset(s, work)));
} finally {
  await rm(work, { recursive: true, force: true });
}
const md = [
  `# SISA benchmark`,
  '',
  `backend ${backend}, ${availableParallelism()} cores (SISA training uses one worker thread per core; a deletion and the single model train in one thread); ${K} single-subject deletions per configuration (mean); SISA recipe epochs ${SISA_EPOCHS ?? 'as the single model'}; total ${((performance.now() - t0) / 60000).toFixed(1)} min.`,
  '',
  table(rows),
  '',
  ...skipped.map((x) => `- skipped ${x}`),
  '',
].join('\n');
await mkdir('out/bench', { recursive: true });
const base = `out/bench/${process.env.BENCH_NAME ?? 'sisa'}`;
await writeFile(`${base}.md`, md);
await writeFile(`${base}.json`, JSON.stringify(rows, null, 1) + '\n');
await writeFile(`${base}.svg`, await plot(rows));
process.stdout.write(md + `\nwrote ${base}.md, ${base}.json, ${base}.svg\n`);
