import type { DataSplit } from '../data/dataset.js';
import { saveModel, hashInMemory, type StoredModel } from '../models/io.js';
import type { Guarantee } from '../models/manifest.js';
import type { ForgetSet } from '../data/forgetSet.js';
import { getMethod } from '../unlearn/registry.js';
import { unlearn } from '../unlearn/unlearn.js';
import { raCollapseWarning } from '../eval/collapse.js';
import { evaluateModel, type ModelEvaluation } from '../eval/evaluate.js';
import { join } from 'node:path';

/** One method to compare, with its params (validated by the method's schema). */
export interface MethodRun {
  id: string;
  params?: Record<string, unknown>;
}

/** One row of a comparison: a model's quality, its gap to the retrained model, its cost. */
export interface ComparisonRow {
  /** `original` for θ_o, else the method id. */
  method: string;
  guarantee: Guarantee | 'none';
  RA: number;
  FA: number;
  TA: number;
  forgetLoss: number;
  miaAuc: number;
  miaAccuracy: number;
  /** Value minus the retrained model's value (accuracies in [0,1] units; AUC). */
  gap: { RA: number; FA: number; TA: number; miaAuc: number };
  /** Wall time of the method, seconds (0 for the original). */
  seconds: number;
  /** seconds / retrain seconds. */
  cost: number;
  modelHash: string;
  params: Record<string, unknown>;
}

/** Result of {@link compareMethods}. */
export interface Comparison {
  rows: ComparisonRow[];
  evaluations: Record<string, ModelEvaluation>;
  retrainSeconds: number;
  /** Warnings about the runs, e.g. a method that collapsed the retain accuracy (src/eval/collapse.ts). */
  warnings: string[];
}

/**
 * Run each method on the same original model and forget set, evaluate every resulting model and
 * the original (RA/FA/TA, loss MIA with `seed`), and express each row against the retrained
 * model (gaps) and retrain's wall time (cost). `retrain` is always run first, since it is the
 * reference; it is added when `methods` lacks it. When `saveDir` is given, each model is saved
 * (with its manifest, metrics included) as `<saveDir>/<method>`.
 */
export async function compareMethods(
  original: StoredModel,
  split: DataSplit,
  forget: ForgetSet,
  methods: MethodRun[],
  opts: { seed?: number; quiet?: boolean; saveDir?: string; request?: Record<string, unknown>; onMethod?: (id: string) => void } = {},
): Promise<Comparison> {
  const seed = opts.seed ?? original.manifest.seed;
  const runs = [{ id: 'retrain', params: {} }, ...methods.filter((m) => m.id !== 'retrain')];
  runs.forEach((m) => getMethod(m.id)); // fail fast on an unknown id
  const evaluations: Record<string, ModelEvaluation> = {};
  const raw: Omit<ComparisonRow, 'gap' | 'cost'>[] = [];
  const evalOrig = evaluateModel(original.model, split, forget, seed);
  evaluations.original = evalOrig;
  raw.push(row('original', 'none', evalOrig, original.manifest.timings.wallSeconds, original.manifest.modelHash, {}));
  for (const m of runs) {
    opts.onMethod?.(m.id);
    const res = await unlearn(original, split, forget, m.id, m.params ?? {}, { seed, quiet: opts.quiet, request: opts.request });
    const ev = evaluateModel(res.model, split, forget, seed);
    evaluations[m.id] = ev;
    res.manifest.metrics = { RA: ev.RA, FA: ev.FA, TA: ev.TA, forgetLoss: ev.forgetLoss, miaAuc: ev.mia.auc, miaAccuracy: ev.mia.accuracy };
    const hash = opts.saveDir ? (await saveModel(join(opts.saveDir, m.id), res.model, res.manifest)).modelHash : await hashInMemory(res.model);
    raw.push(row(m.id, getMethod(m.id).guarantee, ev, res.seconds, hash, res.manifest.method.params));
    res.model.dispose();
  }
  const ref = raw.find((r) => r.method === 'retrain')!;
  const warnings = raw.flatMap((r) => raCollapseWarning(r.method, r.RA, evalOrig.RA) ?? []);
  return { rows: raw.map((r) => withGap(r, ref)), evaluations, retrainSeconds: ref.seconds, warnings };
}

/** Complete a row with its gaps to the retrained model's row and its cost vs retrain's time. */
export function withGap(r: Omit<ComparisonRow, 'gap' | 'cost'>, ref: Omit<ComparisonRow, 'gap' | 'cost'>): ComparisonRow {
  return {
    ...r,
    gap: { RA: r.RA - ref.RA, FA: r.FA - ref.FA, TA: r.TA - ref.TA, miaAuc: r.miaAuc - ref.miaAuc },
    cost: r.seconds / ref.seconds,
  };
}

/** A comparison row (without gap and cost) from an evaluation; see {@link withGap}. */
export function row(method: string, guarantee: Guarantee | 'none', ev: ModelEvaluation, seconds: number, modelHash: string, params: Record<string, unknown>): Omit<ComparisonRow, 'gap' | 'cost'> {
  return { method, guarantee, RA: ev.RA, FA: ev.FA, TA: ev.TA, forgetLoss: ev.forgetLoss, miaAuc: ev.mia.auc, miaAccuracy: ev.mia.accuracy, seconds, modelHash, params };
}
