import { Rng, deriveSeed } from '../engine/rng.js';
import { UnlearnError } from '../errors.js';

/** Train/test index lists produced by {@link stratifiedSplit}; both sorted ascending. */
export interface SplitIndices {
  train: Int32Array;
  test: Int32Array;
}

/**
 * Seeded stratified train/test split of examples 0..n-1 by label.
 *
 * Algorithm (recorded in loader meta as `stratified-v1`):
 * 1. The test size is `round(n * testFraction)`. Each class c with n_c examples gets
 *    `floor(n_c * testFraction)` test examples; the remaining test slots go one each to the classes
 *    with the largest fractional parts `n_c * testFraction - floor(...)` (ties: lower class index).
 * 2. For each class (ascending), its indices (ascending) are shuffled with one `Rng` seeded by
 *    `deriveSeed(seed, 'split/' + purpose)` (shared across classes, consumed in class order), and
 *    the first test-count of them go to the test side.
 * 3. Both sides are returned sorted ascending (original order).
 *
 * @param labels int labels in [0, numClasses)
 * @param testFraction in [0, 1)
 * @param seed integer seed
 * @param purpose label mixed into the seed (e.g. the loader name), so loaders do not share streams
 * @throws UnlearnError INVALID_PARAMS if testFraction is outside [0, 1)
 */
export function stratifiedSplit(labels: Int32Array, numClasses: number, testFraction: number, seed: number, purpose: string): SplitIndices {
  if (!(testFraction >= 0 && testFraction < 1)) {
    throw new UnlearnError('INVALID_PARAMS', `testFraction must be in [0, 1), got ${testFraction}`);
  }
  const n = labels.length;
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < n; i++) byClass[labels[i]].push(i);
  const total = Math.round(n * testFraction);
  const quota = byClass.map((ix) => Math.floor(ix.length * testFraction));
  let left = total - quota.reduce((a, b) => a + b, 0);
  const order = byClass
    .map((ix, c) => ({ c, frac: ix.length * testFraction - quota[c] }))
    .sort((a, b) => b.frac - a.frac || a.c - b.c);
  for (let k = 0; left > 0 && k < order.length; k++) {
    if (quota[order[k].c] < byClass[order[k].c].length) {
      quota[order[k].c]++;
      left--;
    }
  }
  const rng = new Rng(deriveSeed(seed, `split/${purpose}`));
  const isTest = new Uint8Array(n);
  for (let c = 0; c < numClasses; c++) {
    const ix = rng.shuffle(byClass[c].slice());
    for (let k = 0; k < quota[c]; k++) isTest[ix[k]] = 1;
  }
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < n; i++) (isTest[i] ? test : train).push(i);
  return { train: Int32Array.from(train), test: Int32Array.from(test) };
}
