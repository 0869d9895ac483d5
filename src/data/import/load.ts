import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UnlearnError } from '../../errors.js';
import type { Dataset, DataSplit } from '../dataset.js';
import { datasetDir, datasetFingerprint, type DatasetSchema } from './store.js';

/**
 * Read one file of an imported dataset, checking its size and sha256 against `schema.json`.
 * @throws UnlearnError DATASET_INVALID when the file is absent, truncated or changed.
 */
function readChecked(dir: string, schema: DatasetSchema, file: string): Buffer {
  const fix = `import it again with \`unlearn data import --name ${schema.name} --force ...\``;
  const want = schema.files[file];
  let b: Buffer;
  try {
    b = readFileSync(join(dir, file));
  } catch {
    throw new UnlearnError('DATASET_INVALID', `dataset ${schema.name}: ${file} is missing`, fix);
  }
  if (!want || b.byteLength !== want.bytes || createHash('sha256').update(b).digest('hex') !== want.sha256) {
    throw new UnlearnError('DATASET_INVALID', `dataset ${schema.name}: ${file} does not match schema.json (changed or truncated)`, fix);
  }
  return b;
}

/** A typed view of a buffer (copied when its offset is not aligned for the element size). */
function view<T extends Float32Array | Int32Array | Float64Array>(b: Buffer, C: { new (buf: ArrayBuffer, off: number, len: number): T; BYTES_PER_ELEMENT: number }): T {
  const k = C.BYTES_PER_ELEMENT;
  if (b.byteOffset % k === 0) return new C(b.buffer as ArrayBuffer, b.byteOffset, b.byteLength / k);
  const copy = new ArrayBuffer(b.byteLength);
  new Uint8Array(copy).set(b);
  return new C(copy, 0, b.byteLength / k);
}

/**
 * One side of an imported dataset. Ids, subjects and labels are read at once; `features` (and
 * `targets`) are read from disk on first access and checked against their sha256, so listing
 * subjects or counts never loads the feature matrix.
 */
function side(dir: string, schema: DatasetSchema, s: 'train' | 'test'): Dataset {
  const rows = JSON.parse(readChecked(dir, schema, `${s}.rows.json`).toString('utf8')) as { ids: string[]; subjects: string[] };
  const labels = view(readChecked(dir, schema, `${s}.labels.i32`), Int32Array);
  const ds = { shape: [...schema.features.shape], labels, numClasses: schema.label.classNames.length, ids: rows.ids, subjects: rows.subjects } as Dataset;
  let features: Float32Array | undefined;
  Object.defineProperty(ds, 'features', {
    enumerable: true,
    get: () => (features ??= view(readChecked(dir, schema, `${s}.features.f32`), Float32Array)),
    set: (v: Float32Array) => {
      features = v;
    },
  });
  if (schema.label.type === 'numeric') {
    let targets: Float64Array | undefined;
    Object.defineProperty(ds, 'targets', {
      enumerable: true,
      get: () => (targets ??= view(readChecked(dir, schema, `${s}.targets.f64`), Float64Array)),
      set: (v: Float64Array) => {
        targets = v;
      },
    });
  }
  return ds;
}

/**
 * Load imported dataset `schema.name` from the data root as a split. The fingerprint is the one
 * recorded at import (recomputed from the recorded file hashes, and each file is checked against
 * its hash when read).
 * @throws UnlearnError DATASET_INVALID when schema.json or a data file does not match.
 */
export function loadImported(schema: DatasetSchema, root?: string): DataSplit {
  const dir = datasetDir(schema.name, root);
  if (datasetFingerprint(schema) !== schema.fingerprint) {
    throw new UnlearnError('DATASET_INVALID', `dataset ${schema.name}: schema.json fingerprint does not match its contents`, `import it again with --force`);
  }
  const meta: Record<string, unknown> = {
    source: `imported: ${schema.source.file} (${schema.source.format}, sha256 ${schema.source.sha256.slice(0, 12)})`,
    features: schema.features.names,
    encoding: schema.features.encoding,
    label: schema.label,
    split: schema.split,
    subjects: schema.options.subjectCol ? `column '${schema.options.subjectCol}'` : 'each row is its own subject',
  };
  if (schema.label.threshold !== undefined) meta.labelThreshold = schema.label.threshold;
  return {
    name: schema.name,
    options: {},
    classNames: schema.label.classNames,
    train: side(dir, schema, 'train'),
    test: side(dir, schema, 'test'),
    fingerprint: schema.fingerprint,
    meta,
  };
}
