import { existsSync } from 'node:fs';
import path from 'node:path';
import { UnlearnError } from '../errors.js';
import type { Dataset, DataSplit } from './dataset.js';
import { fingerprintSplit, validateDataset } from './dataset.js';
import { readIdxFile, type IdxArray } from './idx.js';

/** Where the Debian package `dataset-fashion-mnist` installs the files. */
export const FASHION_MNIST_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

/** Fashion-MNIST class names, index = label. */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];

/** Options of the `fashion-mnist` loader (all optional; defaults in {@link loadFashionMnist}). */
export interface FashionMnistOptions {
  /** Directory holding the four IDX files. */
  dir?: string;
  /** Per-example shape [28, 28, 1] instead of [784]. */
  image?: boolean;
  /** Keep only the first `limit` training examples. */
  limit?: number;
  /** Keep only the first `testLimit` test examples. */
  testLimit?: number;
}

/** The file names tried for each part, in order (`.gz` first, then uncompressed). */
const PARTS = {
  trainImages: ['train-images-idx3-ubyte.gz', 'train-images-idx3-ubyte'],
  trainLabels: ['train-labels-idx1-ubyte.gz', 'train-labels-idx1-ubyte'],
  testImages: ['t10k-images-idx3-ubyte.gz', 't10k-images-idx3-ubyte'],
  testLabels: ['t10k-labels-idx1-ubyte.gz', 't10k-labels-idx1-ubyte'],
} as const;

/** The directory used when `dir` is not given: env `UNLEARN_FASHION_MNIST_DIR`, else the Debian path. */
export function defaultFashionMnistDir(): string {
  return process.env.UNLEARN_FASHION_MNIST_DIR || FASHION_MNIST_DEFAULT_DIR;
}

function missing(dir: string): UnlearnError {
  return new UnlearnError('DATASET_MISSING', `fashion-mnist files not found in ${dir}`, 'apt-get install dataset-fashion-mnist, or pass --data-option dir=PATH');
}

function findPart(dir: string, names: readonly string[]): string {
  for (const n of names) {
    const p = path.join(dir, n);
    if (existsSync(p)) return p;
  }
  throw missing(dir);
}

function toDataset(images: IdxArray, labels: IdxArray, side: 'train' | 'test', limit: number | undefined, image: boolean): Dataset {
  const file = `fashion-mnist ${side}`;
  const bad = (m: string) => new UnlearnError('DATASET_INVALID', `${file}: ${m}`, 'the IDX files are corrupt or not Fashion-MNIST');
  if (images.dtype !== 'uint8' || images.dims.length !== 3) throw bad(`images must be uint8 [n, rows, cols], got ${images.dtype} [${images.dims}]`);
  if (labels.dtype !== 'uint8' || labels.dims.length !== 1) throw bad(`labels must be uint8 [n], got ${labels.dtype} [${labels.dims}]`);
  const [nAll, rows, cols] = images.dims;
  if (labels.dims[0] !== nAll) throw bad(`${nAll} images but ${labels.dims[0]} labels`);
  const n = limit === undefined ? nAll : Math.min(limit, nAll);
  const d = rows * cols;
  const px = images.data as Uint8Array;
  const features = new Float32Array(n * d);
  for (let i = 0; i < n * d; i++) features[i] = px[i] / 255;
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) y[i] = (labels.data as Uint8Array)[i];
  const ids = Array.from({ length: n }, (_, i) => `fashion-mnist/${side}/${i}`);
  return { features, shape: image ? [rows, cols, 1] : [d], labels: y, numClasses: 10, ids, subjects: ids.slice() };
}

/**
 * Load Fashion-MNIST from its IDX files with the official split (60,000 train / 10,000 test).
 *
 * - features: float32 pixel intensity / 255 in [0, 1]; shape [784] (row-major 28×28) or
 *   [28, 28, 1] with `image: true`.
 * - labels: int32 in [0, 10), names {@link FASHION_MNIST_CLASSES}.
 * - ids: `fashion-mnist/train/<i>` and `fashion-mnist/test/<i>` (i = index in the file).
 * - subjects: the example id (the dataset has no natural subjects).
 * - Files looked up in `dir` (default {@link defaultFashionMnistDir}), each as `<name>.gz` or plain.
 *
 * @throws UnlearnError DATASET_MISSING (`fashion-mnist files not found in <dir>`, hint
 *   `apt-get install dataset-fashion-mnist, or pass --data-option dir=PATH`) if a file is absent;
 *   DATASET_INVALID if a file is corrupt, truncated or has the wrong dtype/shape.
 */
export async function loadFashionMnist(options: FashionMnistOptions = {}): Promise<DataSplit> {
  const dir = path.resolve(options.dir ?? defaultFashionMnistDir());
  const image = options.image ?? false;
  const files = {
    trainImages: findPart(dir, PARTS.trainImages),
    trainLabels: findPart(dir, PARTS.trainLabels),
    testImages: findPart(dir, PARTS.testImages),
    testLabels: findPart(dir, PARTS.testLabels),
  };
  const [ti, tl, vi, vl] = await Promise.all([
    readIdxFile(files.trainImages), readIdxFile(files.trainLabels), readIdxFile(files.testImages), readIdxFile(files.testLabels),
  ]);
  const train = toDataset(ti, tl, 'train', options.limit, image);
  const test = toDataset(vi, vl, 'test', options.testLimit, image);
  validateDataset(train, 'fashion-mnist train');
  validateDataset(test, 'fashion-mnist test');
  const opts: Record<string, unknown> = { dir, image };
  if (options.limit !== undefined) opts.limit = options.limit;
  if (options.testLimit !== undefined) opts.testLimit = options.testLimit;
  return {
    name: 'fashion-mnist',
    options: opts,
    classNames: [...FASHION_MNIST_CLASSES],
    train,
    test,
    fingerprint: fingerprintSplit('fashion-mnist', train, test),
    meta: {
      source: 'Fashion-MNIST IDX files (Xiao, Rasul, Vollgraf 2017)',
      files: Object.values(files).map((f) => path.basename(f)),
      scaling: 'uint8 / 255 -> float32 in [0, 1]',
      split: 'official train/test files (60,000 / 10,000); limit/testLimit keep the first N',
      subjects: 'none: subject = example id',
    },
  };
}
