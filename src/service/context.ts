/**
 * What every part of the service shares: the store, the ledger (log + keys), the policy and its
 * hash, the data root, the pseudonym key, and the dataset splits already loaded.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataSplit } from '../data/dataset.js';
import { PSEUDONYM_KEY_ENV, isPseudonym, pseudonymise } from '../data/pseudonym.js';
import { loadSplitFor } from '../data/registry.js';
import { ensureDir, writeFileSynced } from '../models/io.js';
import type { ModelManifest } from '../models/manifest.js';
import type { Store } from '../store/store.js';
import type { Policy } from './evidence/policy.js';
import type { Ledger } from './ledger.js';

/** The shared state of one running service. */
export interface ServiceContext {
  store: Store;
  ledger: Ledger;
  policy: Policy;
  policySha256: string;
  dataRoot: string;
  /** HMAC key of the service's subject pseudonyms (secret; never logged). */
  pseudonymKey: string;
  /** Dataset splits by fingerprint (loading one is seconds). */
  splits: Map<string, Promise<DataSplit>>;
  now(): number;
  /**
   * Where the planner's cost estimates come from: `measured` (default) replaces a path's formula
   * by the mean of the actual seconds recorded by earlier runs of it on the same model; `formula`
   * keeps the formulas over the recorded training time, so the paths chosen do not depend on how
   * fast earlier jobs ran (a benchmark that must repeat its outcome for the same seed).
   */
  estimates?: 'measured' | 'formula';
}

/**
 * The service's pseudonym key: env `UNLEARN_PSEUDONYM_KEY`, else `<dataRoot>/pseudonym.key`
 * (32 random bytes hex, mode 0600, created on first start).
 */
export async function servicePseudonymKey(dataRoot: string): Promise<string> {
  const env = process.env[PSEUDONYM_KEY_ENV];
  if (env) return env;
  const path = join(dataRoot, 'pseudonym.key');
  if (existsSync(path)) return (await readFile(path, 'utf8')).trim();
  await ensureDir(dataRoot);
  const key = randomBytes(32).toString('hex');
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFileSynced(tmp, key + '\n');
  const { chmod, link, rm } = await import('node:fs/promises');
  await chmod(tmp, 0o600);
  try {
    await link(tmp, path); // of two first starts, one key wins
  } catch {
    /* exists */
  }
  await rm(tmp, { force: true });
  return (await readFile(path, 'utf8')).trim();
}

/** The service pseudonym of a subject named by the requester (already a pseudonym: kept). */
export function subjectPseudonym(ctx: Pick<ServiceContext, 'pseudonymKey'>, subject: string): string {
  const s = subject.trim();
  return isPseudonym(s) ? s : pseudonymise(s.toLowerCase(), ctx.pseudonymKey);
}

/** The split a manifest's dataset names, loaded once per fingerprint. */
export function splitFor(ctx: ServiceContext, dataset: ModelManifest['dataset']): Promise<DataSplit> {
  let p = ctx.splits.get(dataset.fingerprint);
  if (!p) {
    p = loadSplitFor(dataset);
    p.catch(() => ctx.splits.delete(dataset.fingerprint));
    ctx.splits.set(dataset.fingerprint, p);
  }
  return p;
}

/** Training example ids of `trainIds` whose subject has service pseudonym in `subjects`. */
export function idsOfSubjects(ctx: ServiceContext, split: DataSplit, trainIds: string[], subjects: Set<string>): string[] {
  const subjectOf = new Map<string, string>();
  for (let i = 0; i < split.train.ids.length; i++) subjectOf.set(split.train.ids[i], split.train.subjects[i]);
  const cache = new Map<string, string>();
  const out: string[] = [];
  for (const id of trainIds) {
    const s = subjectOf.get(id);
    if (s === undefined) continue;
    let p = cache.get(s);
    if (p === undefined) cache.set(s, (p = pseudonymise(s.toLowerCase(), ctx.pseudonymKey)));
    if (subjects.has(p)) out.push(id);
  }
  return out;
}
