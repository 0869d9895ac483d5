/**
 * Table sources for dataset import: CSV (csv-parse, streaming), JSON Lines and Parquet (hyparquet),
 * each read as a header (column names) followed by rows of values aligned with it. Rows are
 * yielded one at a time so an import never holds the whole file.
 *
 * Values are `string` (CSV), or JSON / Parquet scalars (`number`, `bigint`, `boolean`, `string`,
 * `null`); an absent value is `undefined` or `null` (or the empty string in CSV).
 */
import { createReadStream, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline, Readable, Transform } from 'node:stream';
import { parse } from 'csv-parse';
import { UnlearnError } from '../../errors.js';

/** Supported table formats (`json`: one top-level array of objects, read whole; the others stream). */
export type TableFormat = 'csv' | 'jsonl' | 'json' | 'parquet';

/** One cell as read from the file. */
export type Cell = string | number | bigint | boolean | null | undefined;

/** A table read row by row: `columns` is known before the first row. */
export interface TableSource {
  columns: string[];
  /** Rows aligned with `columns`; `row` numbers are 1-based data rows (the header is not a row). */
  rows: AsyncIterable<Cell[]>;
}

const invalid = (file: string, m: string, hint = 'fix the file and import again') => new UnlearnError('DATASET_INVALID', `${file}: ${m}`, hint);

/** The format of `file` from its extension (`.csv`, `.tsv`, `.jsonl`, `.ndjson`, `.json`, `.parquet`). */
export function formatOf(file: string): TableFormat {
  const ext = file.toLowerCase().split('.').pop();
  if (ext === 'csv' || ext === 'tsv') return 'csv';
  if (ext === 'jsonl' || ext === 'ndjson') return 'jsonl';
  if (ext === 'json') return 'json';
  if (ext === 'parquet') return 'parquet';
  throw new UnlearnError('INVALID_ARGS', `cannot tell the format of ${file} from its extension`, 'pass --format csv|jsonl|parquet');
}

/**
 * A byte stream of `file` checked to be valid UTF-8 (a leading BOM is dropped), as text chunks.
 * @throws UnlearnError DATASET_INVALID naming the byte offset of the first invalid sequence.
 */
function utf8Text(file: string): Readable {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  let offset = 0;
  const check = (chunk: Buffer | undefined, final: boolean): string => {
    try {
      return chunk ? decoder.decode(chunk, { stream: !final }) : decoder.decode();
    } catch {
      let at = offset;
      if (chunk) {
        // Locate the first bad byte within this chunk for the message.
        const strict = new TextDecoder('utf-8', { fatal: true });
        for (let k = chunk.length; k > 0; k--) {
          try {
            strict.decode(chunk.subarray(0, k), { stream: true });
            at = offset + k;
            break;
          } catch {
            /* shorter prefix */
          }
        }
      }
      throw invalid(file, `invalid UTF-8 at byte ${at}`, 'convert the file to UTF-8 (e.g. iconv -t UTF-8)');
    }
  };
  // pipeline (not pipe) so a read or decode error reaches whoever consumes the last stream.
  const noop = () => undefined;
  return pipeline(
    createReadStream(file),
    new Transform({
      transform(chunk: Buffer, _enc, cb) {
        try {
          const s = check(chunk, false);
          offset += chunk.length;
          cb(null, s);
        } catch (e) {
          cb(e as Error);
        }
      },
      flush(cb) {
        try {
          cb(null, check(undefined, true));
        } catch (e) {
          cb(e as Error);
        }
      },
    }),
    noop,
  );
}

async function* csvRows(file: string, delimiter: string): AsyncGenerator<Cell[]> {
  const parser = pipeline(utf8Text(file), parse({ delimiter, bom: true, skip_empty_lines: true, trim: false }), () => undefined);
  try {
    for await (const rec of parser as AsyncIterable<string[]>) yield rec;
  } catch (e) {
    if (e instanceof UnlearnError) throw e;
    const err = e as Error & { code?: string; lines?: number; record?: unknown[] };
    if (err.code === 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH') {
      throw invalid(file, `line ${err.lines}: ragged row with ${err.record?.length} fields where the header has a different count`, 'every row needs one field per header column');
    }
    throw invalid(file, `not valid CSV: ${err.message.split('\n')[0]}`);
  }
}

async function* jsonlRows(file: string): AsyncGenerator<Record<string, unknown>> {
  let line = 0;
  for await (const text of lines(utf8Text(file))) {
    line++;
    if (!text.trim()) continue;
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw invalid(file, `line ${line} is not JSON (${(e as Error).message})`);
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalid(file, `line ${line} is not a JSON object`);
    yield v as Record<string, unknown>;
  }
}

/** The objects of a JSON file holding one array of objects (parsed whole: not for large files). */
async function* jsonArrayRows(file: string): AsyncGenerator<Record<string, unknown>> {
  let text = '';
  for await (const chunk of utf8Text(file) as AsyncIterable<string>) text += chunk;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw invalid(file, `not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(v)) throw invalid(file, 'the JSON file is not an array of objects', 'write [ {...}, {...} ] or use JSON Lines (.jsonl)');
  for (const [k, o] of v.entries()) {
    if (!o || typeof o !== 'object' || Array.isArray(o)) throw invalid(file, `element ${k + 1} of the array is not an object`);
    yield o as Record<string, unknown>;
  }
}

/** The lines of a text stream (LF or CRLF), the last one without a trailing newline included. */
async function* lines(text: Readable): AsyncGenerator<string> {
  let rest = '';
  for await (const chunk of text as AsyncIterable<string>) {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop()!;
    for (const p of parts) yield p.endsWith('\r') ? p.slice(0, -1) : p;
  }
  if (rest) yield rest;
}

const scalar = (v: unknown): v is Cell => v === null || v === undefined || ['string', 'number', 'bigint', 'boolean'].includes(typeof v);

/** Rows of objects (JSONL, Parquet) as aligned arrays; a key absent from the first row is an error. */
async function* aligned(file: string, it: AsyncIterator<Record<string, unknown>>, first: Record<string, unknown>, columns: string[]): AsyncGenerator<Cell[]> {
  const known = new Set(columns);
  let row = 0;
  for (let r: Record<string, unknown> | undefined = first; r; ) {
    row++;
    for (const k of Object.keys(r)) if (!known.has(k)) throw invalid(file, `row ${row}: ragged row with key '${k}' that row 1 does not have`, 'give every row the same keys');
    yield columns.map((c) => {
      const v = r![c];
      if (!scalar(v)) throw invalid(file, `row ${row}, column '${c}': nested value (${JSON.stringify(v)?.slice(0, 40)})`, 'flatten nested values into columns');
      return v;
    });
    const n = await it.next();
    r = n.done ? undefined : n.value;
  }
}

/** Parquet physical / logical types the importer reads: numbers, booleans and UTF-8 strings. */
function checkParquetSchema(file: string, elements: { name: string; type?: string; converted_type?: string; logical_type?: { type: string }; num_children?: number }[]): string[] {
  const columns: string[] = [];
  for (const el of elements.slice(1)) {
    const logical = el.logical_type?.type ?? el.converted_type;
    const ok =
      !el.num_children &&
      (['BOOLEAN', 'INT32', 'INT64', 'FLOAT', 'DOUBLE'].includes(el.type ?? '') && (!logical || ['INTEGER', 'INT_8', 'INT_16', 'INT_32', 'INT_64', 'UINT_8', 'UINT_16', 'UINT_32', 'UINT_64', 'FLOAT16'].includes(logical))) ||
      (el.type === 'BYTE_ARRAY' && ['STRING', 'UTF8', 'ENUM'].includes(logical ?? ''));
    if (!ok) {
      throw invalid(file, `Parquet column '${el.name}' has unsupported type ${el.num_children ? 'group (nested)' : `${el.type}${logical ? `/${logical}` : ''}`}`, 'supported: BOOLEAN, INT32, INT64, FLOAT, DOUBLE and UTF-8 strings; cast the column or drop it');
    }
    columns.push(el.name);
  }
  return columns;
}

async function parquetSource(file: string): Promise<TableSource> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } = await import('hyparquet');
  let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
  const buf = await asyncBufferFromFile(file);
  try {
    metadata = await parquetMetadataAsync(buf);
  } catch (e) {
    throw invalid(file, `not a Parquet file (${(e as Error).message})`);
  }
  const columns = checkParquetSchema(file, metadata.schema as never);
  async function* rows(): AsyncGenerator<Cell[]> {
    let start = 0;
    for (const g of metadata.row_groups) {
      const end = start + Number(g.num_rows);
      const objs = await parquetReadObjects({ file: buf, metadata, rowStart: start, rowEnd: end });
      for (const o of objs) yield columns.map((c) => o[c] as Cell);
      start = end;
    }
  }
  return { columns, rows: rows() };
}

/**
 * Open a table file. The header (CSV first line, JSONL first object's keys, Parquet schema) gives
 * the columns.
 * @throws UnlearnError DATASET_MISSING (no such file), DATASET_INVALID (empty file, no data rows,
 *   invalid UTF-8, malformed CSV/JSON, ragged rows, nested values, unsupported Parquet types).
 */
export async function openTable(file: string, format: TableFormat = formatOf(file)): Promise<TableSource> {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new UnlearnError('DATASET_MISSING', `${file} not found`, 'check the --file path');
  }
  if (size === 0) throw invalid(file, 'the file is empty', 'export the table with a header row and at least one data row');
  if (format === 'parquet') return parquetSource(file);
  if (format === 'csv') {
    const delimiter = file.toLowerCase().endsWith('.tsv') ? '\t' : await sniffDelimiter(file);
    const it = csvRows(file, delimiter)[Symbol.asyncIterator]();
    const head = await it.next();
    if (head.done) throw invalid(file, 'the file has no header row', 'export the table with a header row');
    const columns = (head.value as string[]).map((c) => c.trim());
    return { columns, rows: { [Symbol.asyncIterator]: () => it } };
  }
  const it = (format === 'json' ? jsonArrayRows(file) : jsonlRows(file))[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) throw invalid(file, 'the file has no JSON object', 'write one JSON object per line');
  const columns = Object.keys(first.value);
  return { columns, rows: aligned(file, it, first.value, columns) };
}

/** `;` when the header line holds more semicolons than commas (European CSV exports), else `,`. */
async function sniffDelimiter(file: string): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(b, 0, b.length, 0);
    const line = b.subarray(0, bytesRead).toString('latin1').split(/\r?\n/)[0];
    const count = (ch: string) => line.split(ch).length - 1;
    return count(';') > count(',') ? ';' : ',';
  } finally {
    await fh.close();
  }
}
