/**
 * Text corpora for the language-model track: a table (usually JSON Lines `{id, source, text}`)
 * imported as `<root>/corpora/<name>/` holding `documents.jsonl` (one `{id, source, text}` per
 * line, text NFC-normalised, in file order) and `schema.json` (sources with document and byte
 * counts, the documents file's sha256). `unlearn lm train --corpus NAME` trains on it; a source is
 * the subject of language-model unlearning (`lm forget --source`).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UnlearnError } from '../../errors.js';
import { openTable, type Cell, type TableFormat } from './sources.js';
import { checkDatasetName, dataRoot } from './store.js';

/** Format tag of a corpus `schema.json`. */
export const CORPUS_FORMAT = 'unlearn-corpus/1';

/** `schema.json` of an imported text corpus. */
export interface CorpusSchema {
  format: typeof CORPUS_FORMAT;
  name: string;
  source: { file: string; sha256: string };
  sources: Record<string, { documents: number; bytes: number }>;
  documents: number;
  /** sha256 of documents.jsonl. */
  sha256: string;
  importedAt: string;
}

/** One document of a corpus. */
export interface CorpusDocument {
  id: string;
  source: string;
  text: string;
}

/** `<root>/corpora/<name>`. */
export function corpusDir(name: string, root = dataRoot()): string {
  return join(root, 'corpora', name);
}

/**
 * Import a text corpus from a table with an id, a source (subject) and a text column.
 * @throws UnlearnError INVALID_ARGS (bad or existing name, absent columns listing those present,
 *   fewer than 2 sources), DATASET_INVALID (missing or non-string text, empty file, invalid UTF-8),
 *   DUPLICATE_ID. Nothing is written on error.
 */
export async function importText(o: { name: string; file: string; format?: TableFormat; idCol?: string; sourceCol?: string; textCol?: string; force?: boolean; root?: string }): Promise<CorpusSchema> {
  checkDatasetName(o.name);
  const dir = corpusDir(o.name, o.root);
  if (existsSync(dir) && !o.force) throw new UnlearnError('INVALID_ARGS', `corpus '${o.name}' already exists in ${dirname(dir)}`, 'choose another --name, or pass --force to replace it');
  const t = await openTable(o.file, o.format);
  const present = `columns present: ${t.columns.join(', ')}`;
  const col = (c: string, flag: string) => {
    const i = t.columns.indexOf(c);
    if (i < 0) throw new UnlearnError('INVALID_ARGS', `${flag} '${c}' is not a column of ${o.file}; ${present}`, `pass ${flag} with one of the columns present`);
    return i;
  };
  const [iId, iSource, iText] = [col(o.idCol ?? 'id', '--id-col'), col(o.sourceCol ?? 'source', '--subject-col'), col(o.textCol ?? 'text', '--text-col')];
  const bad = (m: string) => new UnlearnError('DATASET_INVALID', `${o.file}: ${m}`, 'fix the file and import again');
  const seen = new Map<string, number>();
  const docs: CorpusDocument[] = [];
  const sources: CorpusSchema['sources'] = {};
  const str = (v: Cell) => (v === null || v === undefined ? '' : String(v)).trim();
  let row = 0;
  for await (const r of t.rows) {
    row++;
    const id = str(r[iId]);
    const source = str(r[iSource]);
    if (!id || !source) throw bad(`row ${row}: missing ${!id ? 'id' : 'source'}`);
    if (typeof r[iText] !== 'string' || !r[iText]) throw bad(`row ${row}, column '${t.columns[iText]}': missing or non-string text`);
    const prev = seen.get(id);
    if (prev !== undefined) throw new UnlearnError('DUPLICATE_ID', `${o.file}: row ${row} repeats id '${id}' of row ${prev}`, 'ids must be unique');
    seen.set(id, row);
    const text = (r[iText] as string).normalize('NFC');
    docs.push({ id, source, text });
    const s = (sources[source] ??= { documents: 0, bytes: 0 });
    s.documents++;
    s.bytes += Buffer.byteLength(text);
  }
  if (!docs.length) throw bad('no documents');
  if (Object.keys(sources).length < 2) throw new UnlearnError('INVALID_ARGS', `${o.file} has a single source ('${Object.keys(sources)[0]}')`, 'a corpus needs at least 2 sources (one to forget, one to keep)');
  const body = docs.map((d) => JSON.stringify(d)).join('\n') + '\n';
  const schema: CorpusSchema = {
    format: CORPUS_FORMAT,
    name: o.name,
    source: { file: basename(o.file), sha256: createHash('sha256').update(readFileSync(o.file)).digest('hex') },
    sources,
    documents: docs.length,
    sha256: createHash('sha256').update(body).digest('hex'),
    importedAt: new Date().toISOString(),
  };
  await mkdir(dirname(dir), { recursive: true });
  const staging = join(dirname(dir), `.${o.name}.tmp-${process.pid}-${Date.now()}`);
  try {
    await mkdir(staging);
    await writeFile(join(staging, 'documents.jsonl'), body, { flush: true });
    await writeFile(join(staging, 'schema.json'), JSON.stringify(schema, null, 1) + '\n', { flush: true });
    if (existsSync(dir)) await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw new UnlearnError('IO_ERROR', `cannot write ${dir}: ${(e as Error).message}`, 'check --data-root / UNLEARN_HOME');
  }
  return schema;
}

/**
 * The documents of imported corpus `name`, checked against the recorded sha256.
 * @throws UnlearnError DATASET_MISSING (no such corpus), DATASET_INVALID (changed file).
 */
export function readCorpus(name: string, root = dataRoot()): { schema: CorpusSchema; documents: CorpusDocument[] } {
  const dir = corpusDir(name, root);
  if (!existsSync(join(dir, 'schema.json'))) throw new UnlearnError('DATASET_MISSING', `no imported text corpus '${name}' in ${dirname(dir)}`, 'import one with `unlearn data import --text-col text --file corpus.jsonl --name NAME`');
  const schema = JSON.parse(readFileSync(join(dir, 'schema.json'), 'utf8')) as CorpusSchema;
  const body = readFileSync(join(dir, 'documents.jsonl'));
  if (createHash('sha256').update(body).digest('hex') !== schema.sha256) throw new UnlearnError('DATASET_INVALID', `corpus ${name}: documents.jsonl does not match schema.json`, 'import it again with --force');
  const documents = body.toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as CorpusDocument);
  return { schema, documents };
}
