/**
 * Text features: a tokenizer and a hashed bag-of-words vectoriser (the "hashing trick").
 *
 * Specification (version {@link TEXT_FEATURES_VERSION}):
 * - Tokenizer: Unicode NFKC normalisation, then lower-casing (`toLowerCase`, locale-independent),
 *   then every maximal run of Unicode letters or digits (`[\p{L}\p{N}]+`, regex flag `u`) is a
 *   candidate token; a run is kept iff its length in code points is in [2, 30] (longer runs such
 *   as base64 blobs or hashes are dropped whole, not split). Everything else (punctuation,
 *   whitespace, `_`, marks) separates tokens.
 * - Hash: 32-bit FNV-1a (offset basis 0x811c9dc5, prime 0x01000193) over the token's UTF-8 bytes,
 *   as an unsigned integer. Feature index = hash mod `dim`. No sign hashing.
 * - Weighting: per document, w_j = log(1 + c_j) where c_j is the number of tokens hashing to index
 *   j (natural log), then the vector is scaled to unit L2 norm. A document with no tokens is the
 *   zero vector.
 */

/** Bumped whenever the tokenizer, hash or weighting changes (part of cache keys and meta). */
export const TEXT_FEATURES_VERSION = 1;

/** Minimum token length in Unicode code points (inclusive). */
export const MIN_TOKEN_LENGTH = 2;
/** Maximum token length in Unicode code points (inclusive); longer runs are dropped whole. */
export const MAX_TOKEN_LENGTH = 30;

const RUN = /[\p{L}\p{N}]+/gu;

/**
 * Split text into tokens as specified in the module doc: NFKC, lower-case, runs of letters/digits
 * of 2–30 code points, in order of appearance (duplicates kept).
 * @example tokenize('Hello, WORLD! a 42x') // ['hello', 'world', '42x']
 */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  const s = text.normalize('NFKC').toLowerCase();
  for (const m of s.matchAll(RUN)) {
    const t = m[0];
    const len = countCodePoints(t); // t.length would count UTF-16 units, not code points
    if (len >= MIN_TOKEN_LENGTH && len <= MAX_TOKEN_LENGTH) out.push(t);
  }
  return out;
}

function countCodePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) i++;
    n++;
  }
  return n;
}

/**
 * 32-bit FNV-1a hash of the UTF-8 encoding of `s`, as an unsigned integer in [0, 2^32).
 * (UTF-8 is produced inline; a lone surrogate is encoded as U+FFFD, like TextEncoder.)
 * Test vectors: `fnv1a32('') = 0x811c9dc5`, `fnv1a32('a') = 0xe40c292c`.
 */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  const add = (b: number) => {
    h = Math.imul(h ^ b, 0x01000193);
  };
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, 0x01000193);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      } else c = 0xfffd;
    } else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x800) {
      add(0xc0 | (c >> 6));
      add(0x80 | (c & 63));
    } else if (c < 0x10000) {
      add(0xe0 | (c >> 12));
      add(0x80 | ((c >> 6) & 63));
      add(0x80 | (c & 63));
    } else {
      add(0xf0 | (c >> 18));
      add(0x80 | ((c >> 12) & 63));
      add(0x80 | ((c >> 6) & 63));
      add(0x80 | (c & 63));
    }
  }
  return h >>> 0;
}

/** Feature index of a token: `fnv1a32(token) % dim`, an integer in [0, dim). */
export function hashIndex(token: string, dim: number): number {
  return fnv1a32(token) % dim;
}

/**
 * Token counts of a document: parallel arrays of distinct tokens (first-appearance order) and
 * their counts. This is what the email cache stores, so the hash dimension can change freely.
 */
export interface TokenCounts {
  tokens: string[];
  counts: number[];
}

/** Count tokens (distinct tokens in order of first appearance, with their counts). */
export function countTokens(tokens: Iterable<string>): TokenCounts {
  const m = new Map<string, number>();
  for (const t of tokens) m.set(t, (m.get(t) ?? 0) + 1);
  return { tokens: [...m.keys()], counts: [...m.values()] };
}

/**
 * Write the hashed, log(1+count), L2-normalised feature vector of one document into
 * `out[offset, offset + dim)` (which must be zero on entry). Returns `out`.
 * @param tc token counts of the document
 * @param dim hash dimension (number of features), a positive integer
 */
export function hashedVector(tc: TokenCounts, dim: number, out = new Float32Array(dim), offset = 0): Float32Array {
  const acc = new Map<number, number>();
  for (let k = 0; k < tc.tokens.length; k++) {
    const j = hashIndex(tc.tokens[k], dim);
    acc.set(j, (acc.get(j) ?? 0) + tc.counts[k]);
  }
  let ss = 0;
  const w = new Map<number, number>();
  for (const [j, c] of acc) {
    const v = Math.log1p(c);
    w.set(j, v);
    ss += v * v;
  }
  if (ss === 0) return out;
  const inv = 1 / Math.sqrt(ss);
  for (const [j, v] of w) out[offset + j] = v * inv;
  return out;
}
