import { createHash, createHmac } from 'node:crypto';
import { UnlearnError } from '../errors.js';
import type { DataSplit } from './dataset.js';

/**
 * Pseudonyms for subjects (email senders are personal data): reports, logs and manifests show
 * `s-<10 hex>` instead of the real subject unless the user asks to reveal it.
 *
 * pseudonym = `'s-' + hex(HMAC-SHA256(key, UTF-8(subject)))[0..10)` (40 bits).
 *
 * Key choice ({@link pseudonymKey}): env `UNLEARN_PSEUDONYM_KEY` when set, else a digest of the
 * dataset name and its set of subjects (train and test together). Trade-off: the default makes
 * pseudonyms stable per dataset with no configuration — the same sender has the same pseudonym
 * whatever the feature options (e.g. hash dimension) or split seed — but it is not secret (anyone
 * holding the corpus can compute it), so they can test a guessed address against a pseudonym
 * (dictionary attack). It is pseudonymisation against casual
 * reading, not anonymisation. Set `UNLEARN_PSEUDONYM_KEY` to a secret to make pseudonyms
 * unlinkable for anyone without the key (keep it stable, or pseudonyms change between runs).
 */

/** Environment variable holding the secret pseudonym key. */
export const PSEUDONYM_KEY_ENV = 'UNLEARN_PSEUDONYM_KEY';

/** Number of hex characters of the HMAC kept in a pseudonym. */
export const PSEUDONYM_HEX_CHARS = 10;

const PSEUDONYM_RE = /^s-[0-9a-f]{10}$/;

/** `'s-' + first 10 hex chars of HMAC-SHA256(key, subject)`. Deterministic; different keys give unrelated pseudonyms. */
export function pseudonymise(subject: string, key: string): string {
  return 's-' + createHmac('sha256', key).update(subject, 'utf8').digest('hex').slice(0, PSEUDONYM_HEX_CHARS);
}

/** True if `s` has the pseudonym form `s-` + 10 lowercase hex chars. */
export function isPseudonym(s: string): boolean {
  return PSEUDONYM_RE.test(s);
}

/**
 * The pseudonym key for a split: env `UNLEARN_PSEUDONYM_KEY` if set and non-empty, else
 * sha256 hex of `unlearn-pseudonym-v1`, the dataset name and its sorted distinct subjects (train
 * and test), so it does not depend on features, split seed or test fraction.
 */
export function pseudonymKey(split: { name: string; train: { subjects: string[] }; test: { subjects: string[] } }): string {
  const k = process.env[PSEUDONYM_KEY_ENV];
  if (k) return k;
  const subjects = [...new Set([...split.train.subjects, ...split.test.subjects])].sort();
  return createHash('sha256').update(`unlearn-pseudonym-v1\n${split.name}\n${subjects.join('\n')}`).digest('hex');
}

/**
 * Two-way map between the real subjects of a split (train and test) and their pseudonyms, so a
 * user can name a subject either way.
 */
export class SubjectIndex {
  /** The key the pseudonyms are made with (secret if it came from the environment: never print it). */
  readonly key: string;
  private readonly toPseudo = new Map<string, string>();
  private readonly toReal = new Map<string, string>();

  /**
   * @param subjects all subjects (duplicates fine)
   * @param key HMAC key
   * @throws UnlearnError DATASET_INVALID if two subjects collide on a pseudonym (p ≈ m²/2^41 for
   *   m subjects) or a real subject has the form of a pseudonym of another subject.
   */
  constructor(subjects: Iterable<string>, key: string) {
    this.key = key;
    for (const s of subjects) {
      if (this.toPseudo.has(s)) continue;
      const p = pseudonymise(s, key);
      const other = this.toReal.get(p);
      if (other !== undefined && other !== s) {
        throw new UnlearnError('DATASET_INVALID', `pseudonym collision between two subjects (${p})`, `set ${PSEUDONYM_KEY_ENV} to another key`);
      }
      this.toPseudo.set(s, p);
      this.toReal.set(p, s);
    }
    for (const s of this.toPseudo.keys()) {
      const owner = this.toReal.get(s);
      if (owner !== undefined && owner !== s) {
        throw new UnlearnError('DATASET_INVALID', `subject ${s} looks like the pseudonym of another subject`, `set ${PSEUDONYM_KEY_ENV} to another key`);
      }
    }
  }

  /** Index of a split's train and test subjects, keyed by {@link pseudonymKey}(split). */
  static forSplit(split: DataSplit, key = pseudonymKey(split)): SubjectIndex {
    return new SubjectIndex([...split.train.subjects, ...split.test.subjects], key);
  }

  /** Number of distinct subjects. */
  get size(): number {
    return this.toPseudo.size;
  }

  /** Pseudonym of a real subject, or undefined if it is not in the split. */
  pseudonym(subject: string): string | undefined {
    return this.toPseudo.get(subject);
  }

  /** Real subject of a pseudonym, or undefined if unknown. */
  real(pseudonym: string): string | undefined {
    return this.toReal.get(pseudonym);
  }

  /**
   * The real subject a user named, by real subject (exact, then trimmed and lower-cased, as email
   * subjects are lower-case) or by pseudonym.
   * @throws UnlearnError SUBJECT_NOT_FOUND if neither matches.
   */
  resolve(name: string): string {
    if (this.toPseudo.has(name)) return name;
    const r = this.toReal.get(name.trim().toLowerCase());
    if (r !== undefined) return r;
    const lc = name.trim().toLowerCase();
    if (this.toPseudo.has(lc)) return lc;
    throw new UnlearnError('SUBJECT_NOT_FOUND', `subject not found: ${name}`, 'name a subject by its address or its s-… pseudonym from a report');
  }

  /** What a report shows for a real subject: its pseudonym, or the subject itself when `reveal` is true. */
  display(subject: string, reveal = false): string {
    if (reveal) return subject;
    return this.toPseudo.get(subject) ?? pseudonymise(subject, this.key);
  }

  /** All [real, pseudonym] pairs (in first-seen order). Personal data: keep in memory only. */
  entries(): IterableIterator<[string, string]> {
    return this.toPseudo.entries();
  }
}
