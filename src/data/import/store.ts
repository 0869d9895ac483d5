/**
 * The data root and the on-disk layout of an imported dataset.
 *
 * Data root: env `UNLEARN_HOME` when set, else `~/.unlearn` (the CLI's `--data-root` sets
 * `UNLEARN_HOME` for the process and its workers). Imported datasets live in
 * `<root>/datasets/<name>/`:
 *
 * | file | content |
 * |---|---|
 * | `schema.json` | {@link DatasetSchema}: columns, types, vocabularies, train-side statistics, counts, file hashes, fingerprint |
 * | `train.features.f32`, `test.features.f32` | features, float32 little-endian, row-major `[n, d]` |
 * | `train.labels.i32`, `test.labels.i32` | class index per row, int32 little-endian |
 * | `train.targets.f64`, `test.targets.f64` | numeric label per row, float64 little-endian (numeric labels only) |
 * | `train.rows.json`, `test.rows.json` | `{ "ids": [...], "subjects": [...] }` in row order |
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { UnlearnError } from '../../errors.js';

/** Names of the built-in loaders (src/data/registry.ts checks it lists exactly these); an import may not take one. */
export const BUILTIN_DATASETS: readonly string[] = ['emails', 'digits', 'fashion-mnist', 'cps-wages'];

/** Format tag of `schema.json`. */
export const DATASET_FORMAT = 'unlearn-dataset/1';

/** The data root (see module doc). */
export function dataRoot(): string {
  return resolve(process.env.UNLEARN_HOME || join(homedir(), '.unlearn'));
}

/** `<root>/datasets`. */
export function datasetsDir(root = dataRoot()): string {
  return join(root, 'datasets');
}

const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** @throws UnlearnError INVALID_ARGS unless `name` is 1–64 of `a-z 0-9 . _ -`, starting with a letter or digit. */
export function checkDatasetName(name: string): void {
  if (!NAME_RE.test(name)) throw new UnlearnError('INVALID_ARGS', `dataset name '${name}' is not allowed`, 'use 1-64 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit');
}

/** One column of the source table as the import interpreted it. */
export interface ColumnSchema {
  name: string;
  role: 'id' | 'subject' | 'label' | 'split' | 'feature' | 'ignored';
  /** Feature columns: numeric (standardised) or categorical (one-hot). */
  type?: 'numeric' | 'categorical' | 'image';
  /** Categorical: the sorted vocabulary; feature `name=value` per entry. */
  vocabulary?: string[];
  /** Numeric: mean and population standard deviation over the train side (σ = 0 is stored as 1). */
  mean?: number;
  std?: number;
  /** Number of missing cells (imputed). */
  missing?: number;
}

/** `schema.json` of an imported dataset. */
export interface DatasetSchema {
  format: typeof DATASET_FORMAT;
  name: string;
  kind: 'table' | 'images';
  description: string;
  source: { file: string; format: string; sha256: string; bytes: number };
  /** The import options that reproduce this dataset from the source file. */
  options: Record<string, unknown>;
  columns: ColumnSchema[];
  /** Feature names in order (`col` for numeric, `col=value` for one-hot); `shape` the per-row shape. */
  features: { names: string[]; shape: number[]; encoding: string };
  label: { column: string; type: 'class' | 'numeric'; classNames: string[]; threshold?: number };
  split: Record<string, unknown>;
  counts: { rows: number; train: number; test: number; subjects: number; perClass: Record<string, number> };
  files: Record<string, { sha256: string; bytes: number }>;
  /** sha256 of the format, shape, class names and every data file's sha256 (content only: not the name). */
  fingerprint: string;
  importedAt: string;
}

/** The fingerprint of a dataset's content (see {@link DatasetSchema.fingerprint}). */
export function datasetFingerprint(s: Pick<DatasetSchema, 'features' | 'label' | 'files'>): string {
  const h = createHash('sha256');
  h.update(`${DATASET_FORMAT}\n${JSON.stringify({ names: s.features.names, shape: s.features.shape, label: s.label })}\n`);
  for (const f of Object.keys(s.files).sort()) h.update(`${f}:${s.files[f].sha256}\n`);
  return h.digest('hex');
}

/** The directory of imported dataset `name` (whether or not it exists). */
export function datasetDir(name: string, root = dataRoot()): string {
  return join(datasetsDir(root), name);
}

/** The schema of imported dataset `name`, or undefined when there is none. @throws UnlearnError DATASET_INVALID when schema.json is unreadable. */
export function readSchema(name: string, root = dataRoot()): DatasetSchema | undefined {
  if (!NAME_RE.test(name)) return undefined;
  const p = join(datasetDir(name, root), 'schema.json');
  if (!existsSync(p)) return undefined;
  let s: DatasetSchema;
  try {
    s = JSON.parse(readFileSync(p, 'utf8'));
  } catch (e) {
    throw new UnlearnError('DATASET_INVALID', `${p} is not valid JSON (${(e as Error).message})`, `import the dataset again with \`unlearn data import --name ${name} --force\``);
  }
  if (s?.format !== DATASET_FORMAT) throw new UnlearnError('DATASET_INVALID', `${p} is not a ${DATASET_FORMAT} schema`, `import the dataset again with --force`);
  return s;
}

/** Names of the imported datasets under the data root, sorted (staging directories are skipped). */
export function listImported(root = dataRoot()): DatasetSchema[] {
  const dir = datasetsDir(root);
  if (!existsSync(dir)) return [];
  const out: DatasetSchema[] = [];
  for (const name of readdirSync(dir).sort()) {
    try {
      const s = readSchema(name, root);
      if (s) out.push(s);
    } catch {
      /* an unreadable dataset is reported when it is used, not when listing */
    }
  }
  return out;
}
