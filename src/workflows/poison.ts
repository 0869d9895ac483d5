/**
 * `unlearn bench --scenario poison`: corrective unlearning (Goel et al., "Corrective Machine
 * Unlearning", TMLR 2024). For each poisoning (a backdoor, label flips; src/data/poison.ts):
 * train θ_o on the poisoned data, then for each known share of the poison (all of it, 50%, 25%:
 * the forget set is a seeded subset of the poisoned examples) run every method and retrain
 * (from scratch without the forget set — the remaining unknown poison stays in), and score each
 * model by clean test accuracy and by the attack: the success rate of the trigger on test images
 * of the other classes (backdoor), or the accuracy on the two flipped classes (label flips).
 */
import { hashIds, type DataSplit } from '../data/dataset.js';
import type { ForgetSet } from '../data/forgetSet.js';
import { poisonSplit, triggeredCopy, type PoisonSpec } from '../data/poison.js';
import { loadDataset } from '../data/registry.js';
import { deriveSeed, Rng } from '../engine/rng.js';
import { UnlearnError } from '../errors.js';
import type { StoredModel } from '../models/io.js';
import { hashInMemory } from '../models/io.js';
import { range } from '../train/batches.js';
import { fitFromScratch, specFor } from '../train/fit.js';
import { accuracyOf, predict } from '../train/predict.js';
import { TrainRecipeSchema, type TrainRecipe } from '../train/recipe.js';
import type * as tfl from '@tensorflow/tfjs-layers';
import { getMethod, unlearn } from '../unlearn/index.js';

/** Options of {@link runPoisonScenario}. */
export interface PoisonOptions {
  dataset: string;
  datasetOptions?: Record<string, unknown>;
  poisons: Omit<PoisonSpec, 'seed'>[];
  /** Known shares of the poisoned examples that form the forget set. Default [1, 0.5, 0.25]. */
  knownFractions?: number[];
  methods: { id: string; params?: Record<string, unknown> }[];
  hidden?: number[];
  recipe?: Partial<TrainRecipe>;
  seed?: number;
  log?: (line: string) => void;
}

/** One model's scores. Accuracies and rates in [0, 1]; seconds of wall time. */
export interface PoisonRow {
  poison: PoisonSpec['kind'];
  /** Share of the poisoned examples in the forget set. */
  known: number;
  method: string;
  params: Record<string, unknown>;
  /** Clean test accuracy. */
  TA: number;
  /** backdoor: triggered non-target test images classified as the target; label-flip: NaN. */
  attackSuccess: number;
  /** label-flip: accuracy on the clean test images of the two classes; backdoor: NaN. */
  flippedClassAccuracy: number;
  seconds: number;
  /** seconds / retrain seconds of the same (poison, known) cell. */
  cost: number;
  modelHash: string;
}

/** Result (JSON-serialisable). */
export interface PoisonResult {
  format: 'unlearn-poison-bench/1';
  dataset: { name: string; options: Record<string, unknown>; fingerprint: string };
  recipe: TrainRecipe;
  hidden: number[];
  seed: number;
  poisons: { spec: PoisonSpec; poisoned: number; poisonedIdsSha256: string; originalSeconds: number }[];
  rows: PoisonRow[];
  wallSeconds: number;
  createdAt: string;
}

/** The attack measurement of `model` for a poisoning (see {@link PoisonRow}). */
function attack(model: tfl.LayersModel, split: DataSplit, spec: PoisonSpec): { attackSuccess: number; flippedClassAccuracy: number } {
  const test = split.test;
  if (spec.kind === 'backdoor') {
    const target = spec.target ?? 0;
    const idx = Int32Array.from(test.labels.keys()).filter((i) => test.labels[i] !== target);
    const trig = triggeredCopy(test, idx, spec.patch ?? 4);
    const p = predict(model, trig, range(idx.length));
    return { attackSuccess: p.predicted.reduce((s, y) => s + (y === target ? 1 : 0), 0) / idx.length, flippedClassAccuracy: NaN };
  }
  const [a, b] = spec.classes ?? [0, 6];
  const idx = Int32Array.from(test.labels.keys()).filter((i) => test.labels[i] === a || test.labels[i] === b);
  return { attackSuccess: NaN, flippedClassAccuracy: accuracyOf(predict(model, test, idx)) };
}

/**
 * Run the scenario (see the module comment). Deterministic for a seed and backend.
 * @throws UnlearnError UNKNOWN_METHOD / INVALID_PARAMS (before any training), DATASET_* from loading.
 */
export async function runPoisonScenario(o: PoisonOptions): Promise<PoisonResult> {
  const t0 = performance.now();
  for (const m of o.methods) {
    const r = getMethod(m.id).paramsSchema.safeParse(m.params ?? {});
    if (!r.success) throw new UnlearnError('INVALID_PARAMS', `${m.id}: ${r.error.issues[0]?.path.join('.') || 'params'}: ${r.error.issues[0]?.message}`, `see \`unlearn methods\` for ${m.id}'s params`);
  }
  const seed = o.seed ?? 0;
  const hidden = o.hidden ?? [128];
  const clean = await loadDataset(o.dataset, o.datasetOptions ?? {});
  const recipe = TrainRecipeSchema.parse({ optimizer: 'adam', learningRate: 1e-3, epochs: 8, batchSize: 128, ...o.recipe, seed });
  const known = o.knownFractions ?? [1, 0.5, 0.25];
  const ids = ['retrain', ...o.methods.map((m) => m.id).filter((id) => id !== 'retrain')];
  const rows: PoisonRow[] = [];
  const poisons: PoisonResult['poisons'] = [];
  for (const p of o.poisons) {
    const spec: PoisonSpec = { ...p, seed };
    const { split, poisonedIdx } = poisonSplit(clean, spec);
    const fit = await fitFromScratch(split, specFor(split, 'mlp', { hidden }), recipe, { quiet: true });
    const original: StoredModel = { model: fit.model, manifest: { ...fit.manifest, files: {} as never, modelHash: await hashInMemory(fit.model) } };
    poisons.push({ spec, poisoned: poisonedIdx.length, poisonedIdsSha256: hashIds(Array.from(poisonedIdx, (i) => split.train.ids[i])), originalSeconds: fit.seconds });
    const score = (model: tfl.LayersModel) => ({ TA: accuracyOf(predict(model, split.test, range(split.test.labels.length))), ...attack(model, split, spec) });
    rows.push({ poison: spec.kind, known: 0, method: 'original', params: {}, ...score(original.model), seconds: fit.seconds, cost: NaN, modelHash: original.manifest.modelHash });
    o.log?.(`${spec.kind}: θ_o trained on ${poisonedIdx.length} poisoned of ${split.train.labels.length} examples in ${fit.seconds.toFixed(1)} s`);
    for (const k of known) {
      const forgetIdx = k >= 1 ? poisonedIdx : new Rng(deriveSeed(seed, `poison/known/${k}`)).shuffle(Int32Array.from(poisonedIdx)).slice(0, Math.round(k * poisonedIdx.length)).sort();
      const inF = new Uint8Array(split.train.labels.length);
      for (const i of forgetIdx) inF[i] = 1;
      const forget: ForgetSet = { forgetIdx, retainIdx: Int32Array.from(split.train.labels.keys()).filter((i) => !inF[i]), forgetIds: Array.from(forgetIdx, (i) => split.train.ids[i]), subjects: [] };
      let retrainSeconds = NaN;
      for (const id of ids) {
        const params = o.methods.find((m) => m.id === id)?.params ?? {};
        const r = await unlearn(original, split, forget, id, params, { seed, quiet: true });
        if (id === 'retrain') retrainSeconds = r.seconds;
        rows.push({ poison: spec.kind, known: k, method: id, params: r.manifest.method.params, ...score(r.model), seconds: r.seconds, cost: r.seconds / retrainSeconds, modelHash: await hashInMemory(r.model) });
        r.model.dispose();
        const last = rows[rows.length - 1];
        o.log?.(`${spec.kind}, known ${k * 100}%: ${id} TA ${(100 * last.TA).toFixed(2)}%${spec.kind === 'backdoor' ? ` ASR ${(100 * last.attackSuccess).toFixed(2)}%` : ` flipped-class acc ${(100 * last.flippedClassAccuracy).toFixed(2)}%`} in ${r.seconds.toFixed(1)} s`);
      }
    }
    original.model.dispose();
  }
  return {
    format: 'unlearn-poison-bench/1',
    dataset: { name: clean.name, options: clean.options, fingerprint: clean.fingerprint },
    recipe,
    hidden,
    seed,
    poisons,
    rows,
    wallSeconds: (performance.now() - t0) / 1000,
    createdAt: new Date().toISOString(),
  };
}

const pct = (x: number) => (Number.isNaN(x) ? '-' : (100 * x).toFixed(2));

/** The result as Markdown: one table per poisoning. */
export function poisonMarkdown(r: PoisonResult): string {
  const out = [
    `# Corrective unlearning: ${r.dataset.name}`,
    '',
    `- data: \`${r.dataset.name}\` ${JSON.stringify(r.dataset.options)}, fingerprint \`${r.dataset.fingerprint.slice(0, 16)}\``,
    `- model: MLP hidden ${JSON.stringify(r.hidden)}; recipe: ${r.recipe.optimizer} lr ${r.recipe.learningRate}, ${r.recipe.epochs} epochs, batch ${r.recipe.batchSize}; seed ${r.seed}; wall time ${r.wallSeconds.toFixed(1)} s`,
    '- forget set = the known share of the poisoned examples (100%, 50%, 25%; Goel et al. 2024); retrain = from scratch without the forget set (unknown poison stays in)',
    '',
  ];
  for (const p of r.poisons) {
    const rows = r.rows.filter((x) => x.poison === p.spec.kind);
    const attackCol = p.spec.kind === 'backdoor' ? 'attack success %' : 'flipped-class acc %';
    out.push(
      `## ${p.spec.kind}: ${p.poisoned} poisoned training examples (${JSON.stringify({ ...p.spec, seed: undefined })})`,
      '',
      `| known | method | clean TA % | ${attackCol} | time (s) | cost vs retrain |`,
      '|---:|:---|---:|---:|---:|---:|',
      ...rows.map((x) => `| ${x.method === 'original' ? '-' : `${x.known * 100}%`} | ${x.method} | ${pct(x.TA)} | ${pct(p.spec.kind === 'backdoor' ? x.attackSuccess : x.flippedClassAccuracy)} | ${x.seconds.toFixed(2)} | ${Number.isNaN(x.cost) ? '-' : x.cost.toFixed(3)} |`),
      '',
    );
  }
  return out.join('\n');
}

/** Vega-Lite spec: attack measure vs clean TA per method, one panel per (poison, known share). */
export function poisonPlotSpec(r: PoisonResult, kind: PoisonSpec['kind']) {
  const values = r.rows.filter((x) => x.poison === kind && x.method !== 'original').map((x) => ({ method: x.method, known: `${x.known * 100}% known`, TA: 100 * x.TA, attack: 100 * (kind === 'backdoor' ? x.attackSuccess : x.flippedClassAccuracy) }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: kind === 'backdoor' ? 'Backdoor: attack success rate vs clean test accuracy' : 'Label flips: flipped-class accuracy vs clean test accuracy',
    data: { values },
    facet: { column: { field: 'known', type: 'nominal', title: null } },
    spec: {
      width: 220,
      height: 200,
      mark: { type: 'point', filled: true, size: 70 },
      encoding: {
        x: { field: 'TA', type: 'quantitative', title: 'clean TA %', scale: { zero: false } },
        y: { field: 'attack', type: 'quantitative', title: kind === 'backdoor' ? 'attack success %' : 'flipped-class accuracy %' },
        color: { field: 'method', type: 'nominal' },
        shape: { field: 'method', type: 'nominal' },
      },
    },
  } as const;
}
