import { createHash } from 'node:crypto';
import { UnlearnError } from '../errors.js';

/**
 * A labelled dataset held in host memory.
 *
 * - `features`: float32, row-major, length `n * prod(shape)`; example i occupies
 *   `features.subarray(i * d, (i + 1) * d)` with `d = prod(shape)`.
 * - `shape`: per-example feature shape, e.g. `[784]`, `[28, 28, 1]`, `[16384]`.
 * - `labels`: int32 class index in `[0, numClasses)`, length n.
 * - `ids`: stable example ids (unique, stable across runs and machines), length n.
 * - `subjects`: the subject (person / source) each example belongs to, length n. Datasets without
 *   natural subjects use the example id as its own subject.
 */
export interface Dataset {
  features: Float32Array;
  shape: number[];
  labels: Int32Array;
  numClasses: number;
  ids: string[];
  subjects: string[];
  /**
   * Optional real-valued regression target per example (float64, length n), e.g. log wage for
   * `cps-wages`; `labels` then holds a derived class for classifiers. Absent for pure
   * classification data.
   */
  targets?: Float64Array;
}

/** A dataset split into train and test, with the loader's name and options and a fingerprint. */
export interface DataSplit {
  /** Loader name, e.g. `emails`. */
  name: string;
  /** Loader options that reproduce this split (JSON-serialisable). */
  options: Record<string, unknown>;
  classNames: string[];
  train: Dataset;
  test: Dataset;
  /** sha256 hex of contents + split (see {@link fingerprintSplit}). */
  fingerprint: string;
  /** Free-form facts about the loader (tokenizer, hash, dimension...). */
  meta: Record<string, unknown>;
}

/** Number of features per example: prod(shape). */
export function featureSize(ds: Pick<Dataset, 'shape'>): number {
  return ds.shape.reduce((a, b) => a * b, 1);
}

export function numExamples(ds: Pick<Dataset, 'labels'>): number {
  return ds.labels.length;
}

/**
 * Check lengths, label range, id uniqueness and finiteness of features.
 * @throws UnlearnError DATASET_INVALID naming the first problem found.
 */
export function validateDataset(ds: Dataset, what = 'dataset'): void {
  const n = ds.labels.length;
  const d = featureSize(ds);
  const bad = (m: string) => new UnlearnError('DATASET_INVALID', `${what}: ${m}`, 'check the loader or input files');
  if (ds.features.length !== n * d) throw bad(`features length ${ds.features.length} != n*d = ${n}*${d}`);
  if (ds.ids.length !== n || ds.subjects.length !== n) throw bad(`ids/subjects length differ from ${n} labels`);
  for (let i = 0; i < n; i++) {
    const y = ds.labels[i];
    if (y < 0 || y >= ds.numClasses) throw bad(`label ${y} of example ${ds.ids[i]} outside [0, ${ds.numClasses})`);
  }
  if (new Set(ds.ids).size !== n) throw bad('example ids are not unique');
  for (let i = 0; i < ds.features.length; i++) {
    if (!Number.isFinite(ds.features[i])) throw bad(`non-finite feature in example ${ds.ids[Math.floor(i / d)]}`);
  }
}

/** Select examples by index into a new Dataset (copies features). */
export function subset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const d = featureSize(ds);
  const m = indices.length;
  const features = new Float32Array(m * d);
  const labels = new Int32Array(m);
  const ids: string[] = new Array(m);
  const subjects: string[] = new Array(m);
  for (let j = 0; j < m; j++) {
    const i = indices[j];
    features.set(ds.features.subarray(i * d, (i + 1) * d), j * d);
    labels[j] = ds.labels[i];
    ids[j] = ds.ids[i];
    subjects[j] = ds.subjects[i];
  }
  const out: Dataset = { features, shape: [...ds.shape], labels, numClasses: ds.numClasses, ids, subjects };
  if (ds.targets) out.targets = Float64Array.from(indices, (i) => ds.targets![i]);
  return out;
}

/** sha256 hex of a list of ids, order-independent (sorted, newline-joined). */
export function hashIds(ids: Iterable<string>): string {
  const sorted = [...ids].sort();
  return createHash('sha256').update(sorted.join('\n')).digest('hex');
}

function hashDataset(h: ReturnType<typeof createHash>, ds: Dataset, tag: string): void {
  h.update(`${tag}:${ds.shape.join('x')}:${ds.numClasses}:${ds.labels.length}\n`);
  h.update(Buffer.from(ds.features.buffer, ds.features.byteOffset, ds.features.byteLength));
  h.update(Buffer.from(ds.labels.buffer, ds.labels.byteOffset, ds.labels.byteLength));
  h.update(ds.ids.join('\n'));
  h.update('\n');
  h.update(ds.subjects.join('\n'));
  if (ds.targets) h.update(Buffer.from(ds.targets.buffer, ds.targets.byteOffset, ds.targets.byteLength));
}

/**
 * sha256 hex fingerprint of a split: loader name, features, labels, ids and subjects of the train
 * and test parts in order. Two splits have the same fingerprint iff the same examples are on the
 * same side with the same contents.
 */
export function fingerprintSplit(name: string, train: Dataset, test: Dataset): string {
  const h = createHash('sha256');
  h.update(`unlearn-split-v1:${name}\n`);
  hashDataset(h, train, 'train');
  hashDataset(h, test, 'test');
  return h.digest('hex');
}
