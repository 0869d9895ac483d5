/**
 * Anchor terms for the generic-label method ("Who's Harry Potter?", Eldan & Russinovich 2023,
 * §2.2): idiosyncratic expressions of a forget source (names of people, ships, places, unique
 * phrases) each mapped to a *generic translation* ("Ahab" → "the captain"). Translating a passage
 * with the dictionary and asking the baseline model what comes next gives the prediction of a
 * model that never met the source's specific entities.
 *
 * A dictionary is a JSON file in `dictionaries/` (written for this project; each file says how its
 * terms were chosen): `{ "source", "provenance", "entries": [{ "term", "generic" }] }`.
 *
 * Matching: whole words (the characters just before and after a term are not letters, combining
 * marks, digits or `_`), case-sensitive, the longest term first at each position, scanning left to
 * right without overlaps. The result carries a byte-level position map so that predictions on the
 * translated text can be aligned back to the original (the tokenizer is byte-level: one token per
 * UTF-8 byte, see `../tokenizer.ts`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { UnlearnError } from '../../errors.js';
import { normalizeText } from '../tokenizer.js';

/** Folder of the dictionaries shipped with the project. */
export const ANCHOR_DIR = join(dirname(fileURLToPath(import.meta.url)), 'dictionaries');

const entrySchema = z
  .object({
    /** The idiosyncratic expression, as it is written in the source (case matters). */
    term: z.string().min(1).refine((s) => s.trim() === s, 'no leading or trailing whitespace'),
    /** Its generic translation. */
    generic: z.string().min(1).refine((s) => s.trim() === s, 'no leading or trailing whitespace'),
    note: z.string().optional(),
  })
  .strict();

const dictionarySchema = z
  .object({
    /** Source id, e.g. `moby-dick` or `sotu/abraham-lincoln`. */
    source: z.string().min(1),
    /** Who wrote the dictionary and how the terms were chosen. */
    provenance: z.string().min(1),
    entries: z.array(entrySchema).min(1),
  })
  .strict();

/** One anchor term and its generic translation (both NFC-normalised). */
export interface AnchorEntry {
  term: string;
  generic: string;
}

/** A validated anchor dictionary. */
export interface AnchorDictionary {
  source: string;
  provenance: string;
  entries: AnchorEntry[];
  /** File it was read from (absent for dictionaries built in code). */
  file?: string;
}

/**
 * Validate a dictionary object (terms and translations NFC-normalised; duplicate terms refused).
 * @throws UnlearnError DATASET_INVALID naming the problem (`where` prefixes the message).
 */
export function parseAnchorDictionary(value: unknown, where = 'anchor dictionary'): AnchorDictionary {
  const p = dictionarySchema.safeParse(value);
  if (!p.success) throw new UnlearnError('DATASET_INVALID', `${where}: ${p.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`, 'see src/lm/anchors/anchors.ts for the format');
  const seen = new Set<string>();
  const entries = p.data.entries.map((e) => ({ term: normalizeText(e.term), generic: normalizeText(e.generic) }));
  for (const e of entries) {
    if (seen.has(e.term)) throw new UnlearnError('DATASET_INVALID', `${where}: term "${e.term}" listed twice`, 'keep one translation per term');
    seen.add(e.term);
  }
  return { source: p.data.source, provenance: p.data.provenance, entries };
}

/**
 * Read and validate one dictionary file.
 * @throws UnlearnError DATASET_MISSING when unreadable; DATASET_INVALID on bad JSON or content.
 */
export function loadAnchorDictionary(path: string): AnchorDictionary {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UnlearnError('DATASET_MISSING', `anchor dictionary ${path} not found`, 'pass an existing JSON file');
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new UnlearnError('DATASET_INVALID', `${path}: not valid JSON`, 'one JSON object per file');
  }
  return { ...parseAnchorDictionary(v, path), file: path };
}

const dirCache = new Map<string, Map<string, AnchorDictionary>>();

/**
 * Every dictionary in `dir` (default {@link ANCHOR_DIR}), by source id; read once per process.
 * @throws UnlearnError DATASET_INVALID on a bad file or two files for one source.
 */
export function anchorDictionaries(dir = ANCHOR_DIR): Map<string, AnchorDictionary> {
  const cached = dirCache.get(dir);
  if (cached) return cached;
  const out = new Map<string, AnchorDictionary>();
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  } catch {
    files = [];
  }
  for (const f of files) {
    const d = loadAnchorDictionary(join(dir, f));
    if (out.has(d.source)) throw new UnlearnError('DATASET_INVALID', `two anchor dictionaries for ${d.source}: ${out.get(d.source)!.file} and ${d.file}`, 'keep one file per source');
    out.set(d.source, d);
  }
  dirCache.set(dir, out);
  return out;
}

/** The dictionary of `source`, or null when the project has none for it (no substitution then). */
export function anchorDictionaryFor(source: string, dir = ANCHOR_DIR): AnchorDictionary | null {
  return anchorDictionaries(dir).get(source) ?? null;
}

/** Role of an original byte in a {@link Translation}. */
export const ROLE_COPY = 0;
/** The first byte of an anchor term: aligned to the first byte of its generic translation. */
export const ROLE_ANCHOR_FIRST = 1;
/** A later byte of an anchor term: no counterpart in the translated text. */
export const ROLE_ANCHOR_REST = 2;

/** One replaced occurrence; offsets are UTF-8 byte offsets, end exclusive. */
export interface AnchorSpan {
  term: string;
  generic: string;
  /** Byte range of the term in the original text. */
  start: number;
  end: number;
  /** Byte range of the translation in the translated text. */
  translatedStart: number;
  translatedEnd: number;
}

/** A text translated with an anchor dictionary. */
export interface Translation {
  /** The original text, NFC/LF-normalised as the tokenizer sees it. */
  original: string;
  /** The translated text (normalised). */
  text: string;
  /** Replaced occurrences, in order. */
  spans: AnchorSpan[];
  /**
   * int32 [bytes of `original`]: for a copied byte, the index of the same byte in the translated
   * text's UTF-8 bytes; for the first byte of an anchor term, the index of the first byte of its
   * translation; −1 for the other bytes of an anchor term.
   */
  byteMap: Int32Array;
  /** uint8 [bytes of `original`]: {@link ROLE_COPY}, {@link ROLE_ANCHOR_FIRST} or {@link ROLE_ANCHOR_REST}. */
  role: Uint8Array;
}

const WORD = '[\\p{L}\\p{M}\\p{N}_]';
const matchers = new WeakMap<AnchorDictionary, RegExp | null>();

function matcher(dict: AnchorDictionary): RegExp | null {
  if (matchers.has(dict)) return matchers.get(dict)!;
  // Longest first: JavaScript alternation takes the first alternative that matches at a position.
  const terms = [...dict.entries.map((e) => e.term)].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
  const re = terms.length ? new RegExp(`(?<!${WORD})(?:${terms.map((t) => t.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})(?!${WORD})`, 'gu') : null;
  matchers.set(dict, re);
  return re;
}

const utf8Length = (s: string) => Buffer.byteLength(s, 'utf8');

/**
 * Translate `text` with `dict`: every whole-word, case-sensitive occurrence of a term (longest
 * first, left to right, no overlaps) is replaced by its generic translation.
 *
 * Example: with {Ahab → the captain}, `"Ahab's ship"` → `"the captain's ship"`, byteMap
 * `[0, −1, −1, −1, 11, 12, …, 17]` (the apostrophe, byte 4 of the original, is byte 11 of the
 * translation). Terms are matched by characters; byte offsets are those of the UTF-8 encoding.
 */
export function translate(text: string, dict: AnchorDictionary): Translation {
  const original = normalizeText(text);
  const n = utf8Length(original);
  const byteMap = new Int32Array(n);
  const role = new Uint8Array(n);
  const generic = new Map(dict.entries.map((e) => [e.term, e.generic]));
  const spans: AnchorSpan[] = [];
  const parts: string[] = [];
  let o = 0; // original byte offset
  let t = 0; // translated byte offset
  let last = 0; // original char offset copied so far
  const copy = (seg: string) => {
    const L = utf8Length(seg);
    for (let k = 0; k < L; k++) byteMap[o + k] = t + k;
    parts.push(seg);
    o += L;
    t += L;
  };
  const re = matcher(dict);
  if (re) {
    re.lastIndex = 0;
    for (const m of original.matchAll(re)) {
      copy(original.slice(last, m.index));
      const term = m[0];
      const g = generic.get(term)!;
      const Lt = utf8Length(term);
      const Lg = utf8Length(g);
      byteMap[o] = t;
      role[o] = ROLE_ANCHOR_FIRST;
      for (let k = 1; k < Lt; k++) {
        byteMap[o + k] = -1;
        role[o + k] = ROLE_ANCHOR_REST;
      }
      spans.push({ term, generic: g, start: o, end: o + Lt, translatedStart: t, translatedEnd: t + Lg });
      parts.push(g);
      o += Lt;
      t += Lg;
      last = m.index + term.length;
    }
  }
  copy(original.slice(last));
  return { original, text: parts.join(''), spans, byteMap, role };
}
