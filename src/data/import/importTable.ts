/**
 * Import a table (CSV, JSON Lines, Parquet) as a dataset under the data root (layout: ./store.ts).
 *
 * Two streaming passes, so memory stays near the size of the output features:
 * 1. Read the file row by row; check ids, labels, split values and cells; write each row's raw
 *    feature values (numbers, or first-seen category codes) as float32 to a temp file inside the
 *    staging directory. Column types come from the first {@link TYPE_SAMPLE_ROWS} rows: a feature
 *    column is numeric when every non-missing value there is a number, else categorical
 *    (`categoricalCols` forces categorical).
 * 2. Split (a split column, or a seeded stratified split), compute mean and population std of every
 *    numeric column over the train side only, then write standardised numeric features and one-hot
 *    categorical features (sorted vocabulary, over all rows) to `train.*` / `test.*` files.
 *
 * Everything is written to a staging directory that is renamed into place at the end (fsynced
 * files): a failed import leaves nothing behind, and an existing dataset is replaced only with
 * `force`.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { closeSync, fsyncSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { UnlearnError } from '../../errors.js';
import { stratifiedSplit } from '../split.js';
import { decodeImageInto, imageFolderTable } from './images.js';
import { openTable, type Cell, type TableFormat } from './sources.js';
import { BUILTIN_DATASETS, checkDatasetName, DATASET_FORMAT, datasetDir, datasetFingerprint, dataRoot, type ColumnSchema, type DatasetSchema } from './store.js';

/** Rows used to decide whether a feature column is numeric or categorical. */
export const TYPE_SAMPLE_ROWS = 1000;

/** Options of {@link importTable}. Column names are those of the file's header. */
export interface ImportTableOptions {
  /** Dataset name (`--dataset NAME` afterwards). */
  name: string;
  /** The table file (or, with `imageDir`, unused). */
  file: string;
  format?: TableFormat;
  /** Column of image paths (PNG/JPEG, relative to the table file): the image is then the only feature. */
  imageCol?: string;
  /** An image folder `DIR/<class>/<image>` instead of a table: id `<class>/<file>`, label the class. */
  imageDir?: string;
  /** `[height, width, channels]` every image is resized to (channels 1 or 3); required with images. */
  imageShape?: [number, number, number];
  /** Unique example id per row; default: `row-<k>` (1-based data row). */
  idCol?: string;
  /** Subject (person, source) per row; default: each row is its own subject (its id). */
  subjectCol?: string;
  /** The label; default `label`. */
  labelCol?: string;
  /** `class`: each distinct value a class. `numeric`: a regression target (labels = ≥ train median). Default: numeric when every value is a number and there are more than 100 distinct values or a non-integer, else class. */
  labelType?: 'class' | 'numeric';
  /** Feature columns; default every column not named as id, subject, label or split. */
  featureCols?: string[];
  /** Feature columns to one-hot even when they hold numbers (codes, zip codes). */
  categoricalCols?: string[];
  /** Column holding `train` or `test` per row; else a seeded stratified split. */
  splitCol?: string;
  /** Test side fraction in [0, 1) of the stratified split (default 0.2). */
  testFraction?: number;
  /** Seed of the stratified split (default 0). */
  seed?: number;
  /** Missing numeric cells: an error (default), the train-side mean, or zero; missing categories become the all-zero vector. */
  impute?: 'none' | 'mean' | 'zero';
  /** Largest vocabulary of a categorical column or class label (default 1000). */
  maxCategories?: number;
  /** Replace an existing dataset of that name. */
  force?: boolean;
  /** Data root (default {@link dataRoot}). */
  root?: string;
}

const MAX_AUTO_CLASSES = 100;
const INTERN_MAX = 100_000;
const CHUNK_ROWS = 4096;

const missingCell = (v: Cell) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The number a cell holds, or undefined when it is not numeric. */
function numberOf(v: Cell): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const s = v.trim();
    return NUMBER_RE.test(s) ? Number(s) : undefined;
  }
  return undefined;
}

const text = (v: Cell) => (typeof v === 'string' ? v.trim() : String(v));

/** Sort category strings: numerically when all are numbers, else by code point. */
function sortVocabulary(vals: string[]): string[] {
  const allNum = vals.every((v) => NUMBER_RE.test(v));
  return [...vals].sort(allNum ? (a, b) => Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A file written in chunks, hashed and fsynced; `close` returns its sha256 and size. */
class HashedFile {
  private fd: number;
  private h = createHash('sha256');
  bytes = 0;
  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }
  write(b: Uint8Array): void {
    writeSync(this.fd, b);
    this.h.update(b);
    this.bytes += b.byteLength;
  }
  close(): { sha256: string; bytes: number } {
    fsyncSync(this.fd);
    closeSync(this.fd);
    return { sha256: this.h.digest('hex'), bytes: this.bytes };
  }
}

const bytesOf = (a: Float32Array | Int32Array | Float64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Import a table file as dataset `name` (see module doc for the passes and the layout).
 * @returns the dataset's schema (also written as `schema.json`).
 * @throws UnlearnError INVALID_ARGS (bad name, existing dataset without `force`, a named column
 *   the file lacks — the message lists the columns present, no feature column), DATASET_MISSING
 *   (no file), DATASET_INVALID (empty file, invalid UTF-8, ragged row, non-numeric value in a
 *   numeric column, missing value without `impute`, bad split value, too many categories,
 *   unsupported Parquet type), DUPLICATE_ID (the first repeated id with both row numbers),
 *   IO_ERROR (the data root cannot be written). Nothing is written on error.
 */
export async function importTable(opts: ImportTableOptions): Promise<DatasetSchema> {
  let o = opts;
  checkDatasetName(o.name);
  if (BUILTIN_DATASETS.includes(o.name)) throw new UnlearnError('INVALID_ARGS', `'${o.name}' is a built-in dataset`, 'choose another --name');
  const root = o.root ?? dataRoot();
  const dir = datasetDir(o.name, root);
  if (existsSync(dir) && !o.force) throw new UnlearnError('INVALID_ARGS', `dataset '${o.name}' already exists in ${dirname(dir)}`, 'choose another --name, or pass --force to replace it');
  const testFraction = o.testFraction ?? 0.2;
  const seed = o.seed ?? 0;
  const impute = o.impute ?? 'none';
  const maxCategories = o.maxCategories ?? 1000;
  if (!(testFraction >= 0 && testFraction < 1)) throw new UnlearnError('INVALID_ARGS', `--test-fraction ${testFraction} is not in [0, 1)`, 'e.g. --test-fraction 0.2');
  if (o.splitCol && o.testFraction !== undefined) throw new UnlearnError('INVALID_ARGS', '--split-col and --test-fraction both given', 'use one: a split column, or a seeded split');

  if ((o.imageCol || o.imageDir) && !o.imageShape) throw new UnlearnError('INVALID_ARGS', 'images need --image-shape H,W,C', 'e.g. --image-shape 28,28,1');
  if ((o.imageCol || o.imageDir) && (o.featureCols || o.categoricalCols)) throw new UnlearnError('INVALID_ARGS', 'with images the image is the only feature', 'drop --feature-cols / --categorical-cols');
  const folder = o.imageDir ? imageFolderTable(o.imageDir) : undefined;
  if (folder) o = { ...o, file: o.imageDir!, idCol: 'id', labelCol: 'label', imageCol: 'image' };
  const table = folder ? folder.table : await openTable(o.file, o.format);
  const cols = table.columns;
  const bad = (m: string, hint = 'fix the file and import again') => new UnlearnError('DATASET_INVALID', `${o.file}: ${m}`, hint);
  const dupHeader = cols.find((c, i) => cols.indexOf(c) !== i);
  if (dupHeader !== undefined) throw bad(`column '${dupHeader}' appears twice in the header`);
  const present = `columns present: ${cols.join(', ')}`;
  const colIndex = (c: string | undefined, flag: string): number => {
    if (c === undefined) return -1;
    const i = cols.indexOf(c);
    if (i < 0) throw new UnlearnError('INVALID_ARGS', `${flag} '${c}' is not a column of ${o.file}; ${present}`, `pass ${flag} with one of the columns present`);
    return i;
  };
  const labelCol = o.labelCol ?? 'label';
  const iId = colIndex(o.idCol, '--id-col');
  const iSubject = colIndex(o.subjectCol, '--subject-col');
  const iLabel = colIndex(labelCol, '--label-col');
  const iSplit = colIndex(o.splitCol, '--split-col');
  const iImage = colIndex(o.imageCol, '--image-col');
  const named = new Set([iId, iSubject, iLabel, iSplit, iImage].filter((i) => i >= 0));
  const featIdx = iImage >= 0 ? [] : o.featureCols ? o.featureCols.map((c) => colIndex(c, '--feature-cols')) : cols.map((_, i) => i).filter((i) => !named.has(i));
  const clash = featIdx.find((i) => named.has(i));
  if (clash !== undefined) throw new UnlearnError('INVALID_ARGS', `column '${cols[clash]}' is both a feature and the id, subject, label or split`, 'drop it from --feature-cols');
  if (!featIdx.length && iImage < 0) throw new UnlearnError('INVALID_ARGS', `no feature column left in ${o.file}; ${present}`, 'name the features with --feature-cols');
  for (const c of o.categoricalCols ?? []) if (!featIdx.includes(colIndex(c, '--categorical-cols'))) throw new UnlearnError('INVALID_ARGS', `--categorical-cols '${c}' is not a feature column`, 'name feature columns only');
  const shape = o.imageShape;
  /** Raw values per row: one per feature column, or every pixel of the image. */
  const F = shape ? shape[0] * shape[1] * shape[2] : featIdx.length;
  const imageBase = dirname(o.file);

  await mkdir(dirname(dir), { recursive: true }).catch((e) => {
    throw new UnlearnError('IO_ERROR', `cannot create ${dirname(dir)}: ${(e as Error).message}`, 'check --data-root / UNLEARN_HOME and its permissions');
  });
  const staging = join(dirname(dir), `.${o.name}.tmp-${process.pid}-${Date.now()}`);
  await mkdir(staging);
  try {
    const schema = await run();
    if (existsSync(dir)) {
      const old = `${staging}-old`;
      await rename(dir, old);
      await rename(staging, dir);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(staging, dir);
    }
    return schema;
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw e;
  }

  async function run(): Promise<DatasetSchema> {
    // ---- pass 1: read, check, write raw values ----
    const rawPath = join(staging, 'raw.f32');
    const raw = new HashedFile(rawPath);
    const kinds: ('numeric' | 'categorical' | 'pixel' | undefined)[] = shape ? new Array(F).fill('pixel') : featIdx.map((i) => ((o.categoricalCols ?? []).includes(cols[i]) ? 'categorical' : undefined));
    const vocab: Map<string, number>[] = featIdx.map(() => new Map());
    const missing = new Array<number>(F).fill(0);
    const ids: string[] = [];
    const subjects: string[] = [];
    const splitOf: number[] = [];
    const labelNum: number[] = [];
    const labelCode: number[] = [];
    const labelVocab = new Map<string, number>();
    let labelAllNumeric = true;
    let labelAllInteger = true;
    // Repeated subjects share one string (up to INTERN_MAX distinct values), to keep memory near the feature bytes.
    const interned = new Map<string, string>();
    let chunk = new Float32Array(CHUNK_ROWS * F);
    let inChunk = 0;
    let row = 0;
    const sample: Cell[][] = [];

    const decideKinds = () => {
      for (let j = 0; j < F; j++) {
        if (kinds[j]) continue;
        const numeric = sample.every((r) => missingCell(r[featIdx[j]]) || numberOf(r[featIdx[j]]) !== undefined);
        kinds[j] = numeric ? 'numeric' : 'categorical';
      }
    };
    const consume = (r: Cell[]) => {
      row++;
      const at = (j: number) => `row ${row}, column '${cols[j]}'`;
      let id: string;
      if (iId >= 0) {
        if (missingCell(r[iId])) throw bad(`${at(iId)}: missing id`, 'every row needs an id');
        id = text(r[iId]);
      } else id = `row-${row}`;
      ids.push(id);
      if (iSubject >= 0) {
        if (missingCell(r[iSubject])) throw bad(`${at(iSubject)}: missing subject`, 'every row needs a subject');
        const v = text(r[iSubject]);
        const shared = interned.get(v);
        if (shared === undefined && interned.size < INTERN_MAX) interned.set(v, v);
        subjects.push(shared ?? v);
      } else subjects.push(id);
      if (missingCell(r[iLabel])) throw bad(`${at(iLabel)}: missing label`, 'every row needs a label');
      const lv = r[iLabel];
      const ln = numberOf(lv);
      if (ln === undefined) labelAllNumeric = false;
      else if (!Number.isInteger(ln)) labelAllInteger = false;
      labelNum.push(ln ?? NaN);
      const key = text(lv);
      let code = labelVocab.get(key);
      if (code === undefined) {
        code = labelVocab.size;
        if (code < maxCategories) labelVocab.set(key, code);
        else if (o.labelType === 'class' || !labelAllNumeric) throw bad(`column '${cols[iLabel]}' has more than ${maxCategories} distinct labels`, 'use a numeric label (--label-type numeric) or group the classes');
      }
      labelCode.push(code);
      if (iSplit >= 0) {
        const s = missingCell(r[iSplit]) ? '' : text(r[iSplit]).toLowerCase();
        if (s !== 'train' && s !== 'test') throw bad(`${at(iSplit)}: split value '${s}' is neither 'train' nor 'test'`, 'write train or test in the split column');
        splitOf.push(s === 'test' ? 1 : 0);
      }
      const base = inChunk * F;
      if (shape) {
        if (missingCell(r[iImage])) throw bad(`${at(iImage)}: missing image path`, 'every row needs an image');
        const f = text(r[iImage]);
        decodeImageInto(isAbsolute(f) ? f : join(imageBase, f), shape, chunk.subarray(base, base + F));
      }
      for (let j = 0; j < featIdx.length; j++) {
        const v = r[featIdx[j]];
        if (missingCell(v)) {
          if (impute === 'none') throw bad(`${at(featIdx[j])}: missing value`, 'fill it in, or pass --impute mean|zero');
          missing[j]++;
          chunk[base + j] = NaN;
          continue;
        }
        if (kinds[j] === 'numeric') {
          const x = numberOf(v);
          if (x === undefined || !Number.isFinite(x)) throw bad(`${at(featIdx[j])}: '${text(v).slice(0, 40)}' is not a number (the column is numeric)`, `fix the value, or pass --categorical-cols ${cols[featIdx[j]]}`);
          chunk[base + j] = x;
        } else {
          const key = text(v);
          let c = vocab[j].get(key);
          if (c === undefined) {
            c = vocab[j].size;
            if (c >= maxCategories) throw bad(`column '${cols[featIdx[j]]}' has more than ${maxCategories} categories`, 'name it as --id-col / --subject-col, or leave it out with --feature-cols');
            vocab[j].set(key, c);
          }
          chunk[base + j] = c;
        }
      }
      if (++inChunk === CHUNK_ROWS) {
        raw.write(bytesOf(chunk));
        inChunk = 0;
      }
    };

    for await (const r of table.rows) {
      if (kinds.every(Boolean)) consume(r);
      else {
        sample.push(r);
        if (sample.length >= TYPE_SAMPLE_ROWS) {
          decideKinds();
          for (const s of sample.splice(0)) consume(s);
        }
      }
    }
    if (sample.length) {
      decideKinds();
      for (const s of sample.splice(0)) consume(s);
    }
    if (inChunk) raw.write(bytesOf(chunk.subarray(0, inChunk * F)));
    raw.close();
    chunk = new Float32Array(0);
    const n = row;
    if (n === 0) throw bad('the file has a header but no data rows', 'add data rows');
    interned.clear();
    if (iId >= 0) checkUnique(ids, o.file);

    // ---- labels ----
    const numericLabel = o.labelType === 'numeric' || (o.labelType === undefined && labelAllNumeric && (!labelAllInteger || labelVocab.size > MAX_AUTO_CLASSES));
    if (numericLabel && !labelAllNumeric) {
      const k = labelNum.findIndex((v) => Number.isNaN(v));
      throw bad(`row ${k + 1}, column '${labelCol}': label '${[...labelVocab].find(([, c]) => c === labelCode[k])?.[0]}' is not a number`, 'fix the label, or use --label-type class');
    }

    // ---- split ----
    let isTest: Uint8Array;
    let splitInfo: Record<string, unknown>;
    let classNames: string[] = [];
    let labels = new Int32Array(n);
    if (!numericLabel) {
      classNames = sortVocabulary([...labelVocab.keys()]);
      if (classNames.length < 2) throw bad(`column '${labelCol}' has a single class ('${classNames[0]}')`, 'a classifier needs at least two classes; for a numeric target pass --label-type numeric');
      const remap = new Int32Array(labelVocab.size);
      for (const [v, c] of labelVocab) remap[c] = classNames.indexOf(v);
      for (let i = 0; i < n; i++) labels[i] = remap[labelCode[i]];
    }
    if (iSplit >= 0) {
      isTest = Uint8Array.from(splitOf);
      splitInfo = { method: 'column', column: o.splitCol };
    } else {
      const strata = numericLabel ? new Int32Array(n) : labels;
      const s = stratifiedSplit(strata, numericLabel ? 1 : classNames.length, testFraction, seed, 'import');
      isTest = new Uint8Array(n);
      for (const i of s.test) isTest[i] = 1;
      splitInfo = { method: `${numericLabel ? 'random' : 'stratified'} (stratified-v1, src/data/split.ts)`, seed, testFraction, purpose: 'import' };
    }
    const nTest = isTest.reduce((a, b) => a + b, 0);
    if (nTest === n) throw bad('every row is on the test side', 'put rows on the train side');
    let threshold: number | undefined;
    if (numericLabel) {
      const tr = labelNum.filter((_, i) => !isTest[i]).sort((a, b) => a - b);
      const m = tr.length;
      threshold = m % 2 ? tr[(m - 1) / 2] : (tr[m / 2 - 1] + tr[m / 2]) / 2;
      classNames = ['below-median', 'median-or-above'];
      for (let i = 0; i < n; i++) labels[i] = labelNum[i] >= threshold ? 1 : 0;
    }

    // ---- statistics (train side only) ----
    const sum = new Float64Array(F);
    const sumSq = new Float64Array(F);
    const count = new Float64Array(F);
    const sorted = featIdx.map((_, j) => (kinds[j] === 'categorical' ? sortVocabulary([...vocab[j].keys()]) : []));
    const codeMap = featIdx.map((_, j) => {
      const m = new Int32Array(vocab[j].size);
      for (const [v, c] of vocab[j]) m[c] = sorted[j].indexOf(v);
      return m;
    });
    forEachRawChunk(rawPath, F, n, (block, first, rows) => {
      for (let k = 0; k < rows; k++) {
        if (isTest[first + k]) continue;
        for (let j = 0; j < F; j++) {
          const x = block[k * F + j];
          if (kinds[j] !== 'numeric' || Number.isNaN(x)) continue;
          sum[j] += x;
          sumSq[j] += x * x;
          count[j]++;
        }
      }
    });
    const mean = new Float64Array(F);
    const std = new Float64Array(F);
    for (let j = 0; j < F; j++) {
      if (kinds[j] !== 'numeric') continue;
      if (count[j] === 0) throw bad(`column '${cols[featIdx[j]]}' has no value on the train side`, 'drop the column with --feature-cols');
      mean[j] = sum[j] / count[j];
      const v = Math.max(0, sumSq[j] / count[j] - mean[j] ** 2);
      std[j] = v > 0 ? Math.sqrt(v) : 1;
    }

    // ---- pass 2: encoded features, labels, targets, rows ----
    const names: string[] = [];
    const offset: number[] = [];
    for (let j = 0; j < featIdx.length; j++) {
      offset.push(names.length);
      if (kinds[j] === 'numeric') names.push(cols[featIdx[j]]);
      else for (const v of sorted[j]) names.push(`${cols[featIdx[j]]}=${v}`);
    }
    const D = shape ? F : names.length;
    const side = ['train', 'test'].map((s) => ({ s, features: new HashedFile(join(staging, `${s}.features.f32`)) }));
    // Two output blocks reused for every chunk (large typed arrays live outside the JS heap and are freed late).
    const out = [new Float32Array(CHUNK_ROWS * D), new Float32Array(CHUNK_ROWS * D)];
    forEachRawChunk(rawPath, F, n, (block, first, rows) => {
      out[0].fill(0);
      out[1].fill(0);
      const filled = [0, 0];
      for (let k = 0; k < rows; k++) {
        const t = isTest[first + k];
        const o2 = out[t].subarray(filled[t] * D, (filled[t] + 1) * D);
        filled[t]++;
        for (let j = 0; j < F; j++) {
          const x = block[k * F + j];
          if (kinds[j] === 'pixel') o2[j] = x;
          else if (kinds[j] === 'numeric') {
            const v = Number.isNaN(x) ? (impute === 'mean' ? mean[j] : 0) : x;
            o2[offset[j]] = (v - mean[j]) / std[j];
          } else if (!Number.isNaN(x)) o2[offset[j] + codeMap[j][x]] = 1;
        }
      }
      for (const t of [0, 1]) if (filled[t]) side[t].features.write(bytesOf(out[t].subarray(0, filled[t] * D)));
    });
    unlinkSync(rawPath);
    const files: DatasetSchema['files'] = {};
    const perClass: Record<string, number> = Object.fromEntries(classNames.map((c) => [c, 0]));
    for (const t of [0, 1]) {
      const s = side[t].s;
      files[`${s}.features.f32`] = side[t].features.close();
      const rowsOf: number[] = [];
      for (let i = 0; i < n; i++) if (isTest[i] === t) rowsOf.push(i);
      const lab = Int32Array.from(rowsOf, (i) => labels[i]);
      if (t === 0) for (const y of lab) perClass[classNames[y]]++;
      const write = (name: string, b: Uint8Array) => {
        const f = new HashedFile(join(staging, name));
        f.write(b);
        files[name] = f.close();
      };
      write(`${s}.labels.i32`, bytesOf(lab));
      if (numericLabel) write(`${s}.targets.f64`, bytesOf(Float64Array.from(rowsOf, (i) => labelNum[i])));
      write(`${s}.rows.json`, Buffer.from(JSON.stringify({ ids: rowsOf.map((i) => ids[i]), subjects: rowsOf.map((i) => subjects[i]) })));
    }

    const columns: ColumnSchema[] = cols.map((name, i) => {
      const j = featIdx.indexOf(i);
      if (i === iImage) return { name, role: 'feature', type: 'image' };
      if (j < 0) return { name, role: i === iId ? 'id' : i === iSubject ? 'subject' : i === iLabel ? 'label' : i === iSplit ? 'split' : 'ignored' };
      return kinds[j] === 'numeric'
        ? { name, role: 'feature', type: 'numeric', mean: mean[j], std: std[j], ...(missing[j] ? { missing: missing[j] } : {}) }
        : { name, role: 'feature', type: 'categorical', vocabulary: sorted[j], ...(missing[j] ? { missing: missing[j] } : {}) };
    });
    const label: DatasetSchema['label'] = { column: labelCol, type: numericLabel ? 'numeric' : 'class', classNames, ...(threshold !== undefined ? { threshold } : {}) };
    const features = shape
      ? { names, shape: [...shape], encoding: `image: PNG/JPEG resized bilinearly to ${shape.join('x')} (channels-last, ${shape[2] === 1 ? 'luma' : 'RGB'}), values / 255` }
      : { names, shape: [D], encoding: 'numeric: (x - train mean) / train std (population); categorical: one-hot over the sorted vocabulary' };
    const numSubjects = new Set(subjects).size;
    const options = { file: basename(o.file), ...(o.format && { format: o.format }), idCol: o.idCol, subjectCol: o.subjectCol, labelCol, labelType: o.labelType, featureCols: o.featureCols, categoricalCols: o.categoricalCols, imageCol: folder ? undefined : o.imageCol, imageDir: o.imageDir && basename(o.imageDir), imageShape: o.imageShape, splitCol: o.splitCol, ...(iSplit < 0 && { testFraction, seed }), impute, maxCategories };
    const schema: DatasetSchema = {
      format: DATASET_FORMAT,
      name: o.name,
      kind: shape ? 'images' : 'table',
      description: `imported from ${basename(o.file)}: ${n} rows, ${shape ? `images ${shape.join('x')}` : `${D} features`}, label '${labelCol}' (${numericLabel ? 'numeric' : `${classNames.length} classes`}); subject = ${o.subjectCol ? `column '${o.subjectCol}'` : 'row'}`,
      source: folder
        ? { file: basename(o.file), format: 'image-folder', sha256: folder.sha256, bytes: folder.bytes }
        : { file: basename(o.file), format: o.format ?? basename(o.file).split('.').pop()!.toLowerCase(), sha256: await sha256File(o.file), bytes: statSync(o.file).size },
      options: JSON.parse(JSON.stringify(options)),
      columns,
      features,
      label,
      split: splitInfo,
      counts: { rows: n, train: n - nTest, test: nTest, subjects: numSubjects, perClass },
      files,
      fingerprint: datasetFingerprint({ features, label, files }),
      importedAt: new Date().toISOString(),
    };
    const sf = new HashedFile(join(staging, 'schema.json'));
    sf.write(Buffer.from(JSON.stringify(schema, null, 1) + '\n'));
    sf.close();
    return schema;
  }
}

/**
 * @throws UnlearnError DUPLICATE_ID naming the first row (in file order) that repeats an earlier
 *   id, and that earlier row. Sorting row numbers by id needs 4 bytes per row, not a hash map.
 */
function checkUnique(ids: string[], file: string): void {
  const order = Int32Array.from(ids, (_, i) => i).sort((a, b) => (ids[a] < ids[b] ? -1 : ids[a] > ids[b] ? 1 : a - b));
  let first = -1;
  let prev = -1;
  for (let k = 1; k < order.length; k++) {
    const i = order[k];
    const j = order[k - 1];
    // The second row of a run of equal ids is its first repeat; keep the earliest such row.
    if (ids[i] === ids[j] && (k < 2 || ids[order[k - 2]] !== ids[i]) && (first < 0 || i < first)) {
      first = i;
      prev = j;
    }
  }
  if (first >= 0) throw new UnlearnError('DUPLICATE_ID', `${file}: row ${first + 1} repeats id '${ids[first]}' of row ${prev + 1}`, 'ids must be unique: fix the id column, or drop --id-col to number the rows');
}

/** Call `fn` on consecutive blocks of the raw float32 `[n, F]` file (CHUNK_ROWS rows each). */
function forEachRawChunk(path: string, F: number, n: number, fn: (block: Float32Array, firstRow: number, rows: number) => void): void {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(CHUNK_ROWS * F * 4);
    for (let first = 0; first < n; first += CHUNK_ROWS) {
      const rows = Math.min(CHUNK_ROWS, n - first);
      const len = rows * F * 4;
      let got = 0;
      while (got < len) got += readSync(fd, buf, got, len - got, first * F * 4 + got);
      fn(new Float32Array(buf.buffer, buf.byteOffset, rows * F), first, rows);
    }
  } finally {
    closeSync(fd);
  }
}
