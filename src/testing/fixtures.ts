/** Shared fixtures for tests: small real splits, built once per process. */
import { fingerprintSplit, subset, type DataSplit } from '../data/dataset.js';
import { loadDigits } from '../data/digits.js';
import { Rng } from '../engine/rng.js';

let digits: Promise<DataSplit> | undefined;

/**
 * A seeded random sample of `nTrain` train and `nTest` test examples (in their original order) of
 * the real `digits` split (seed 0; the full split is ordered by class), with its own fingerprint. Small enough for tests that train several models.
 */
export async function smallDigits(nTrain = 1000, nTest = 500): Promise<DataSplit> {
  digits ??= loadDigits({ seed: 0 });
  const full = await digits;
  const pick = (n: number, k: number) => new Rng(`fixture/${n}/${k}`).permutation(n).slice(0, Math.min(k, n)).sort();
  const train = subset(full.train, pick(full.train.labels.length, nTrain));
  const test = subset(full.test, pick(full.test.labels.length, nTest));
  const name = 'digits';
  return { ...full, options: { ...full.options, nTrain, nTest }, train, test, fingerprint: fingerprintSplit(name, train, test) };
}
