/**
 * The calibration reference of the approximate path: the retrained reference the policy's audit
 * margins are defined against, made economical.
 *
 * The policy says e.g. "forget accuracy within 2 points of the retrained reference", the model
 * retrained from scratch without the forget set. Retraining that model for every request would
 * cost a full retrain, the very cost the approximate path avoids. Instead, once per model chain
 * (keyed by the chain's root version, the one whose training run the recipe describes), the
 * service retrains the same recipe on the lineage minus a held-out calibration set H: |H| =
 * clamp(2% of n, 100, 10% of n) examples, stratified to the lineage's class mix, drawn with a
 * seed derived from the root version's hash. The reference never saw H, so on H it behaves as
 * the retrained model behaves on a forget set it never saw. The service records, per class, the
 * reference's accuracy on H, and the loss-MIA AUC of H against the test set (the same attack the
 * audit runs on the unlearned model, forget set against test set). Then the reference's weights
 * are deleted: only these aggregate figures, |H| and the sha256 of H's ids stay, in
 * `<data root>/references/<model>/<root version>.json`.
 *
 * The audit of an unlearned model compares its forget accuracy with the reference's accuracy on
 * H reweighted to the forget set's class mix (Σ_c w_c · acc_H(c), w_c the forget set's class
 * fractions), and its MIA AUC (forget vs test) with the reference's (H vs test).
 *
 * What this does not guarantee: the reference stands for "a model that never saw data like the
 * forget set", not for the model retrained without this very forget set; a forget set unlike a
 * random sample of its classes (one sender's peculiar mail) can differ from H in either
 * direction. The figures carry both sample sizes.
 *
 * Cost: one training run at T·(n − |H|)/n, trained lazily on the first approximate-path
 * verification of the chain; the planner amortises it over {@link REFERENCE_AMORTISE_OVER}
 * verifications (or its recorded cost over the verifications that used it, when more).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DataSplit } from '../data/dataset.js';
import { Rng, deriveSeed } from '../engine/rng.js';

/** Over how many approximate-path verifications the planner spreads a reference's cost. */
export const REFERENCE_AMORTISE_OVER = 10;

/** The recorded figures of a calibration reference (file format version 1). */
export interface ReferenceFigures {
  version: 1;
  kind: 'calibration-reference';
  model: string;
  /** Root version of the chain (its hash): the reference is the same recipe retrained without H. */
  root: string;
  /** The version whose directory (spec, recipe, lineage) was retrained. */
  trainedFrom: string;
  seed: number;
  holdout: { n: number; idsSha256: string; classCounts: number[] };
  /** Accuracy on H, overall and per class (NaN → null for a class absent from H). */
  accuracy: number;
  perClassAccuracy: (number | null)[];
  /** Loss-MIA AUC of H against the test set on the reference, and the sample per side. */
  miaAuc: number | null;
  miaN: number;
  /** Wall seconds of the reference's training and measurement. */
  seconds: number;
  createdAt: string;
}

/** |H| for a lineage of n examples: 2% of n, at least 100, at most 10% of n (and at least 2). */
export function holdoutSize(n: number): number {
  return Math.max(2, Math.min(Math.max(100, Math.round(0.02 * n)), Math.floor(0.1 * n)));
}

/** The seed of a chain's reference (from its root version hash). */
export function referenceSeed(root: string): number {
  return deriveSeed(0, `calibration-reference/${root}`) % 2147483647;
}

/**
 * Choose H: `size` ids of `trainIds`, stratified to their class mix (largest-remainder rounding),
 * drawn with `seed`. Returns the ids sorted.
 * @throws Error when an id is not in the split's training set.
 */
export function chooseHoldout(split: DataSplit, trainIds: string[], size: number, seed: number): string[] {
  const pos = new Map(split.train.ids.map((id, i) => [id, i]));
  const byClass = new Map<number, string[]>();
  for (const id of [...trainIds].sort()) {
    const i = pos.get(id);
    if (i === undefined) throw new Error(`lineage id ${id} is not in the dataset`);
    const c = split.train.labels[i];
    byClass.set(c, [...(byClass.get(c) ?? []), id]);
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const n = trainIds.length;
  const quota = classes.map((c) => (size * byClass.get(c)!.length) / n);
  const take = quota.map(Math.floor);
  const order = classes.map((_, k) => k).sort((a, b) => quota[b] - take[b] - (quota[a] - take[a]) || a - b);
  for (let left = size - take.reduce((a, b) => a + b, 0), j = 0; left > 0; left--, j++) take[order[j % order.length]]++;
  const rng = new Rng(seed);
  const out: string[] = [];
  classes.forEach((c, k) => out.push(...rng.shuffle([...byClass.get(c)!]).slice(0, take[k])));
  return out.sort();
}

/** Where a chain's reference figures live. */
export function referencePath(dataRoot: string, model: string, root: string): string {
  return join(dataRoot, 'references', model, `${root}.json`);
}

/** The recorded reference of a chain, or undefined when it was not trained yet. */
export function readReference(dataRoot: string, model: string, root: string): ReferenceFigures | undefined {
  const p = referencePath(dataRoot, model, root);
  if (!existsSync(p)) return undefined;
  return JSON.parse(readFileSync(p, 'utf8')) as ReferenceFigures;
}

/**
 * The reference's accuracy for a forget set: its per-class accuracy on H weighted by the forget
 * set's class counts (`forgetClassCounts[c]`). Classes absent from H fall back to the overall accuracy.
 */
export function referenceAccuracyFor(ref: Pick<ReferenceFigures, 'accuracy' | 'perClassAccuracy'>, forgetClassCounts: number[]): number {
  const total = forgetClassCounts.reduce((a, b) => a + b, 0);
  if (total === 0) return ref.accuracy;
  return forgetClassCounts.reduce((a, k, c) => a + k * (ref.perClassAccuracy[c] ?? ref.accuracy), 0) / total;
}

/** Class counts of `ids` (labels from the split's training set), length = the split's class count. */
export function classCounts(split: DataSplit, ids: string[]): number[] {
  const pos = new Map(split.train.ids.map((id, i) => [id, i]));
  const out = new Array<number>(split.train.numClasses).fill(0);
  for (const id of ids) {
    const i = pos.get(id);
    if (i !== undefined) out[split.train.labels[i]]++;
  }
  return out;
}

/** The reference in plain words, for plans and certificates. */
export function describeReference(ref: Pick<ReferenceFigures, 'root' | 'holdout' | 'seed'>): string {
  return `calibration reference of chain ${ref.root.slice(0, 12)}…: the same recipe retrained without a held-out set H of ${ref.holdout.n} training examples (stratified, seed ${ref.seed}); compared on H, data it never saw`;
}
