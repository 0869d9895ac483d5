/**
 * Poisoned training data for corrective unlearning (Goel, Prabhu, Sanyal, Lim, Torr, Kumaraguru,
 * "Corrective Machine Unlearning", TMLR 2024): a seeded fraction of the training set is
 * manipulated, and the model owner later learns about all or part of the manipulated examples.
 * - `backdoor`: a trigger patch (a white square in the image's bottom-right corner) is stamped on
 *   a fraction of the training images of the non-target classes, which are relabelled to the
 *   target class (BadNets, Gu et al. 2017); success = triggered test images classified as target.
 * - `label-flip`: a fraction of the training examples of two classes get each other's label
 *   (Goel et al.'s interclass confusion); damage = lost accuracy on the two classes' test images.
 * Images are 28×28 grayscale in [0, 1] (shape [784] or [28, 28, 1]; same memory layout).
 */
import { fingerprintSplit, featureSize, type DataSplit, type Dataset } from './dataset.js';
import { Rng, deriveSeed } from '../engine/rng.js';
import { UnlearnError } from '../errors.js';

/** How the training data is poisoned. */
export interface PoisonSpec {
  kind: 'backdoor' | 'label-flip';
  /** backdoor: share of all training examples poisoned (drawn from the non-target classes); label-flip: share of the two classes' examples flipped. In (0, 1). */
  fraction: number;
  /** backdoor: the target class. Default 0. */
  target?: number;
  /** label-flip: the two classes whose labels are swapped. Default [0, 6] (T-shirt/top ↔ shirt on Fashion-MNIST). */
  classes?: [number, number];
  /** Side of the square trigger, pixels. Default 4. */
  patch?: number;
  seed: number;
}

/** Stamp the trigger (pixels of the bottom-right `patch`×`patch` square set to 1) on example `i` of `features` (in place). */
export function stampTrigger(features: Float32Array, i: number, d: number, patch: number): void {
  const side = Math.round(Math.sqrt(d));
  if (side * side !== d) throw new UnlearnError('SHAPE_MISMATCH', `a trigger patch needs square grayscale images, got ${d} features`, 'use fashion-mnist or digits');
  for (let r = side - patch; r < side; r++) for (let c = side - patch; c < side; c++) features[i * d + r * side + c] = 1;
}

/**
 * The split with `spec` applied to its training side (test side untouched, fingerprint recomputed,
 * name suffixed) and the sorted indices of the poisoned training examples.
 * @throws UnlearnError INVALID_PARAMS for a fraction outside (0, 1) or classes out of range.
 */
export function poisonSplit(split: DataSplit, spec: PoisonSpec): { split: DataSplit; poisonedIdx: Int32Array } {
  if (!(spec.fraction > 0 && spec.fraction < 1)) throw new UnlearnError('INVALID_PARAMS', `poison fraction ${spec.fraction} not in (0, 1)`, 'e.g. --poison-fraction 0.05');
  const tr = split.train;
  const K = tr.numClasses;
  const d = featureSize(tr);
  const rng = new Rng(deriveSeed(spec.seed, `poison/${spec.kind}`));
  const features = Float32Array.from(tr.features);
  const labels = Int32Array.from(tr.labels);
  let chosen: Int32Array;
  if (spec.kind === 'backdoor') {
    const target = spec.target ?? 0;
    if (!(target >= 0 && target < K)) throw new UnlearnError('INVALID_PARAMS', `target class ${target} outside [0, ${K})`);
    const pool = Int32Array.from(tr.labels.keys()).filter((i) => tr.labels[i] !== target);
    chosen = rng.shuffle(pool).slice(0, Math.round(spec.fraction * tr.labels.length)).sort();
    for (const i of chosen) (stampTrigger(features, i, d, spec.patch ?? 4), (labels[i] = target));
  } else {
    const [a, b] = spec.classes ?? [0, 6];
    if (a === b || !(a >= 0 && a < K && b >= 0 && b < K)) throw new UnlearnError('INVALID_PARAMS', `label-flip classes ${a}, ${b} must be two classes in [0, ${K})`);
    const pool = Int32Array.from(tr.labels.keys()).filter((i) => tr.labels[i] === a || tr.labels[i] === b);
    chosen = rng.shuffle(pool).slice(0, Math.round(spec.fraction * pool.length)).sort();
    for (const i of chosen) labels[i] = tr.labels[i] === a ? b : a;
  }
  const train: Dataset = { ...tr, features, labels };
  const name = `${split.name}+${spec.kind}`;
  return { split: { ...split, name, options: { ...split.options, poison: { ...spec } }, train, fingerprint: fingerprintSplit(name, train, split.test) }, poisonedIdx: chosen };
}

/** A copy of the test examples `idx` of `ds` with the trigger stamped on each (labels unchanged). */
export function triggeredCopy(ds: Dataset, idx: Int32Array, patch = 4): Dataset {
  const d = featureSize(ds);
  const features = new Float32Array(idx.length * d);
  idx.forEach((i, k) => (features.set(ds.features.subarray(i * d, (i + 1) * d), k * d), stampTrigger(features, k, d, patch)));
  return { ...ds, features, labels: Int32Array.from(idx, (i) => ds.labels[i]), ids: Array.from(idx, (i) => ds.ids[i]), subjects: Array.from(idx, (i) => ds.subjects[i]) };
}
