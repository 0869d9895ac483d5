/**
 * The transparency log: an append-only list of records (every state change of the service),
 * hashed into an RFC 9162 Merkle tree ({@link ./merkle.ts}), with signed tree heads, inclusion
 * and consistency proofs, and an offline verifier that names edited, deleted, reordered and
 * inserted entries.
 *
 * A record is `{index, prevLeafHash, type, at, requestId?, data}`; its bytes are the canonical
 * JSON (RFC 8785) of the record, UTF-8; its leaf hash is SHA-256(0x00 ‖ bytes). Each record
 * carries its own index and the leaf hash of the record before it (for index 0, 32 zero bytes),
 * so the records alone form a hash chain; the Merkle tree over the leaf hashes gives compact
 * proofs. All hashes in JSON are unpadded base64url of the 32 bytes.
 *
 * The store implements {@link LogStorage} (a table keyed by index); the store may also build
 * records itself inside its own transaction with {@link buildRecord}.
 */
import type { JSONWebKeySet } from 'jose';
import { z } from 'zod';
import { UnlearnError } from '../../errors.js';
import { canonicalJson } from './canonical.js';
import type { KeyRing } from './keys.js';
import { signJson, verifyJson } from './jws.js';
import {
  CompactRange,
  consistencyProof,
  equalBytes,
  fromB64u,
  HASH_BYTES,
  inclusionProof,
  leafHash,
  rootFromLeafHashes,
  rootsAtSizes,
  toB64u,
  verifyConsistency,
  verifyInclusion,
} from './merkle.js';

/** What a caller logs: a type such as `request.received`, an ISO 8601 time, a request id, details. */
export interface LogEntry {
  /** Kind of event, dotted lowercase, e.g. `request.accepted`, `key.rotated`. */
  type: string;
  /** ISO 8601 UTC time of the event; default: now. */
  at?: string;
  /** The deletion request this event belongs to, if any. */
  requestId?: string;
  /** JSON-serialisable details (no secrets, subjects pseudonymised). */
  data?: Record<string, unknown>;
}

/** The record as hashed: the entry plus its position and the previous record's leaf hash. */
export interface LogRecord {
  index: number;
  /** base64url leaf hash of record index-1; for index 0, 32 zero bytes. */
  prevLeafHash: string;
  type: string;
  at: string;
  requestId?: string;
  data: Record<string, unknown>;
}

/** A row as the store returns it: its key, the exact record bytes (canonical JSON text) and the leaf hash stored beside it. */
export interface StoredLogEntry {
  /** The row's key (its position in the log). */
  index: number;
  /** The canonical JSON text of the {@link LogRecord}, exactly the bytes hashed. */
  json: string;
  /** The leaf hash stored with the row, 32 bytes. */
  leafHash: Uint8Array;
}

/**
 * The storage a log needs; the service's store implements it over its `log_entries` table.
 * - `append(record, json, leafHash)` inserts the row with key `record.index` and returns that
 *   index. It must fail (throw) if the key is taken, so that two writers cannot both claim an
 *   index; {@link TransparencyLog} re-reads the size and retries.
 * - `size()` is the number of rows; `leafHashes(from, to)` and `entries(from, to)` return rows
 *   `from ≤ index < to` in index order.
 */
export interface LogStorage {
  append(record: LogRecord, json: string, leafHash: Uint8Array): Promise<number>;
  size(): Promise<number>;
  leafHashes(from: number, to: number): Promise<Uint8Array[]>;
  entries(from: number, to: number): Promise<StoredLogEntry[]>;
}

/** A tree head: the log's size and Merkle root at a time, signed (JWS, typ `unlearn-sth`). */
export interface SignedTreeHead {
  treeSize: number;
  /** base64url MTH over the first treeSize leaves. */
  rootHash: string;
  /** ISO 8601 UTC time of signing. */
  timestamp: string;
  /** JWS compact over the canonical JSON of {treeSize, rootHash, timestamp}. */
  signature: string;
}

/** An inclusion proof (RFC 9162 §2.1.3) for one record, hashes in base64url. */
export interface InclusionProof {
  index: number;
  treeSize: number;
  leafHash: string;
  rootHash: string;
  proof: string[];
}

/** A consistency proof (RFC 9162 §2.1.4) between two sizes, hashes in base64url. */
export interface ConsistencyProof {
  from: number;
  to: number;
  fromRoot: string;
  toRoot: string;
  proof: string[];
}

/** JWS `typ` of signed tree heads. */
export const TREE_HEAD_TYP = 'unlearn-sth';
/** `prevLeafHash` of record 0. */
export const ZERO_HASH = toB64u(new Uint8Array(HASH_BYTES));
const TYPE_RE = /^[a-z][a-z0-9_-]*(?:\.[a-z][a-z0-9_-]*)*$/;

/**
 * Build the record for log position `index` after the record whose leaf hash is `prevLeafHash`
 * (null for index 0): its canonical JSON bytes and its leaf hash.
 * @throws UnlearnError INVALID_PARAMS for a malformed type, time or non-JSON data.
 */
export function buildRecord(entry: LogEntry, index: number, prevLeafHash: Uint8Array | null): { record: LogRecord; json: string; leafHash: Uint8Array } {
  if (!TYPE_RE.test(entry.type)) throw new UnlearnError('INVALID_PARAMS', `log entry type "${entry.type}" is not dotted lowercase`, 'use a type such as request.accepted');
  const at = entry.at ?? new Date().toISOString();
  if (Number.isNaN(Date.parse(at))) throw new UnlearnError('INVALID_PARAMS', `log entry time "${at}" is not ISO 8601`, 'give a time such as 2026-01-31T12:00:00.000Z');
  if ((index === 0) !== (prevLeafHash === null)) throw new UnlearnError('INVALID_PARAMS', `record ${index} ${index === 0 ? 'has' : 'lacks'} a previous leaf hash`, 'give the previous leaf hash for every record but the first');
  const record: LogRecord = { index, prevLeafHash: prevLeafHash ? toB64u(prevLeafHash) : ZERO_HASH, type: entry.type, at, requestId: entry.requestId, data: entry.data ?? {} };
  const json = canonicalJson(record);
  return { record, json, leafHash: leafHash(new TextEncoder().encode(json)) };
}

/** Parse a stored record's JSON; null when it is not a record. */
export function parseRecord(json: string): LogRecord | null {
  try {
    const r = JSON.parse(json) as LogRecord;
    if (!Number.isSafeInteger(r.index) || typeof r.prevLeafHash !== 'string' || typeof r.type !== 'string' || typeof r.at !== 'string') return null;
    return r;
  } catch {
    return null;
  }
}

/** The canonical JSON signed in a tree head. */
const treeHeadPayload = (h: Pick<SignedTreeHead, 'treeSize' | 'rootHash' | 'timestamp'>) => ({ treeSize: h.treeSize, rootHash: h.rootHash, timestamp: h.timestamp });

/** Sign a tree head of `treeSize` leaves with root `root` at `timestamp` (default now). */
export async function signTreeHead(treeSize: number, root: Uint8Array, keys: KeyRing, timestamp = new Date().toISOString()): Promise<SignedTreeHead> {
  const head = { treeSize, rootHash: toB64u(root), timestamp };
  return { ...head, signature: await signJson(treeHeadPayload(head), keys, TREE_HEAD_TYP) };
}

/**
 * Verify a signed tree head offline: the JWS verifies with a key of `jwks` and signs exactly
 * the head's treeSize, rootHash and timestamp. Never throws.
 */
export async function verifyTreeHead(head: SignedTreeHead, jwks: JSONWebKeySet): Promise<{ ok: boolean; kid?: string; problems: string[] }> {
  const r = await verifyJson(head.signature ?? '', jwks, TREE_HEAD_TYP);
  if (!r.ok) return { ok: false, kid: r.kid, problems: r.problems.map((p) => `tree head of size ${head.treeSize}: ${p}`) };
  if (canonicalJson(r.payload) !== canonicalJson(treeHeadPayload(head))) {
    return { ok: false, kid: r.kid, problems: [`tree head of size ${head.treeSize}: its fields differ from the signed ones`] };
  }
  return { ok: true, kid: r.kid, problems: [] };
}

/**
 * The log over a {@link LogStorage}, signing tree heads with a {@link KeyRing}. Appends from
 * one process are serialised; across processes the storage's unique key decides and the
 * loser retries.
 */
export class TransparencyLog {
  private tail: Promise<unknown> = Promise.resolve();
  /** Compact range of the leaves read so far (committed entries never change: the log is append-only). */
  private readonly range = new CompactRange();
  private rangeTail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly storage: LogStorage,
    private readonly keys: KeyRing,
  ) {}

  /**
   * Append one entry; resolves once the storage has committed it.
   * @returns its index and 32-byte leaf hash.
   * @throws UnlearnError INVALID_PARAMS for a malformed entry; the storage's error after 5 lost races.
   */
  append(entry: LogEntry): Promise<{ index: number; leafHash: Uint8Array }> {
    const run = async () => {
      for (let attempt = 0; ; attempt++) {
        const index = await this.storage.size();
        const prev = index === 0 ? null : (await this.storage.leafHashes(index - 1, index))[0]!;
        const { record, json, leafHash } = buildRecord(entry, index, prev);
        try {
          await this.storage.append(record, json, leafHash);
          return { index, leafHash };
        } catch (e) {
          if (attempt >= 4 || (await this.storage.size()) === index) throw e;
        }
      }
    };
    const result = this.tail.then(run, run);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /**
   * The signed tree head of the log as it is now (or of its first `treeSize` entries). The root
   * of the current size is kept incrementally ({@link CompactRange}): only leaves appended since
   * the previous head are read and hashed, so signing a head costs O(new entries + log n), not
   * O(n). A head of an older size is computed from its leaves.
   */
  async treeHead(treeSize?: number): Promise<SignedTreeHead> {
    const size = await this.sizeAtMost(treeSize);
    if (size < this.range.size) return signTreeHead(size, rootFromLeafHashes(await this.storage.leafHashes(0, size)), this.keys);
    // One extension at a time, so two concurrent calls never append the same leaves twice.
    const extend = async () => {
      if (this.range.size < size) {
        const from = this.range.size;
        for (const h of await this.storage.leafHashes(from, size)) this.range.append(h);
      }
      return this.range.size === size ? this.range.root() : rootFromLeafHashes(await this.storage.leafHashes(0, size));
    };
    const root = this.rangeTail.then(extend, extend);
    this.rangeTail = root.catch(() => undefined);
    return signTreeHead(size, await root, this.keys);
  }

  /**
   * The inclusion proof of entry `index` in the tree of `treeSize` entries (default: now).
   * @throws UnlearnError INVALID_PARAMS when index ≥ treeSize or treeSize exceeds the log.
   */
  async inclusion(index: number, treeSize?: number): Promise<InclusionProof> {
    const size = await this.sizeAtMost(treeSize);
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
      throw new UnlearnError('INVALID_PARAMS', `log entry ${index} is not in a tree of ${size} entries`, `give an entry between 0 and ${size - 1}`);
    }
    const hashes = await this.storage.leafHashes(0, size);
    return { index, treeSize: size, leafHash: toB64u(hashes[index]!), rootHash: toB64u(rootFromLeafHashes(hashes)), proof: inclusionProof(hashes, index).map(toB64u) };
  }

  /**
   * The consistency proof between the trees of `from` and `to` entries (default: now).
   * @throws UnlearnError INVALID_PARAMS unless 0 ≤ from ≤ to ≤ size.
   */
  async consistency(from: number, to?: number): Promise<ConsistencyProof> {
    const size = await this.sizeAtMost(to);
    if (!Number.isSafeInteger(from) || from < 0 || from > size) {
      throw new UnlearnError('INVALID_PARAMS', `consistency from ${from} is not in 0..${size}`, `give from between 0 and ${size}`);
    }
    const hashes = await this.storage.leafHashes(0, size);
    return {
      from,
      to: size,
      fromRoot: toB64u(rootFromLeafHashes(hashes.slice(0, from))),
      toRoot: toB64u(rootFromLeafHashes(hashes)),
      proof: consistencyProof(hashes, from).map(toB64u),
    };
  }

  /**
   * The stored record of entry `index`: its canonical JSON text, exactly the bytes hashed.
   * @throws UnlearnError INVALID_PARAMS when there is no such entry.
   */
  async record(index: number): Promise<string> {
    const [row] = Number.isSafeInteger(index) && index >= 0 ? await this.storage.entries(index, index + 1) : [];
    if (!row) throw new UnlearnError('INVALID_PARAMS', `log entry ${index} does not exist`, 'give an index below the log size');
    return row.json;
  }

  private async sizeAtMost(treeSize?: number): Promise<number> {
    const size = await this.storage.size();
    if (treeSize === undefined) return size;
    if (!Number.isSafeInteger(treeSize) || treeSize < 0 || treeSize > size) {
      throw new UnlearnError('INVALID_PARAMS', `tree size ${treeSize} is not in 0..${size}`, `give a tree size between 0 and ${size} (the log's size)`);
    }
    return treeSize;
  }
}

/** Check an inclusion proof object offline (RFC 9162 §2.1.3.2); false for malformed hashes. */
export function checkInclusion(p: InclusionProof): boolean {
  try {
    return verifyInclusion(fromB64u(p.leafHash), p.index, p.treeSize, p.proof.map(fromB64u), fromB64u(p.rootHash));
  } catch {
    return false;
  }
}

/** Check a consistency proof object offline (RFC 9162 §2.1.4.2); false for malformed hashes. */
export function checkConsistency(p: ConsistencyProof): boolean {
  try {
    return verifyConsistency(p.from, p.to, fromB64u(p.fromRoot), fromB64u(p.toRoot), p.proof.map(fromB64u));
  } catch {
    return false;
  }
}

/** A log as a JSON document (what `unlearn log verify --file` reads): rows with base64url leaf hashes, and signed tree heads. */
export interface LogExport {
  entries: { index: number; json: string; leafHash: string }[];
  treeHeads: SignedTreeHead[];
}

/** Export every row of a log storage, with the given signed tree heads. */
export async function exportLog(storage: LogStorage, treeHeads: SignedTreeHead[] = []): Promise<LogExport> {
  const rows = await storage.entries(0, await storage.size());
  return { entries: rows.map((r) => ({ index: r.index, json: r.json, leafHash: toB64u(r.leafHash) })), treeHeads };
}

const exportSchema = z.object({
  entries: z.array(z.object({ index: z.int().min(0), json: z.string(), leafHash: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a base64url SHA-256') })),
  treeHeads: z.array(z.object({ treeSize: z.int().min(0), rootHash: z.string(), timestamp: z.string(), signature: z.string() })).default([]),
});

/**
 * Parse a {@link LogExport} (e.g. `JSON.parse` of a file) into rows and tree heads.
 * @throws UnlearnError INVALID_PARAMS naming the first bad field.
 */
export function parseLogExport(value: unknown, name = 'log export'): { entries: StoredLogEntry[]; treeHeads: SignedTreeHead[] } {
  const r = exportSchema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new UnlearnError('INVALID_PARAMS', `${name}: ${i.path.join('.') || '(top level)'}: ${i.message}`, 'give {"entries": [{"index", "json", "leafHash"}], "treeHeads": [...]}');
  }
  return { entries: r.data.entries.map((e) => ({ ...e, leafHash: fromB64u(e.leafHash) })), treeHeads: r.data.treeHeads };
}

/** One problem found by {@link verifyLog}: the log index concerned, its kind, one line of detail. */
export interface LogProblem {
  index: number;
  kind: 'edited' | 'deleted' | 'reordered' | 'inserted';
  detail: string;
}

/**
 * Recompute the whole log from its rows and name what was tampered with. Checks, in order:
 * 1. each row's bytes hash to its stored leaf hash and parse as a record (else **edited**);
 * 2. two rows claiming one index: the one off the hash chain is **inserted**;
 * 3. rows stored out of the order of their own indices (those outside the longest increasing
 *    run) are **reordered**;
 * 4. indices missing below the highest present, or below a signed tree head's size, are **deleted**;
 * 5. record i+1 must link to record i's leaf hash, else record i was **edited** (and its hash rewritten);
 * 6. each signed tree head must verify with `jwks` (when given) and match the root recomputed
 *    over its first treeSize records; a mismatch no earlier check explains names the range.
 * Without tree heads, deleting the newest records cannot be detected (nothing commits to them).
 * `entries` is the full log (index 0 onwards) in the storage's key order.
 */
export async function verifyLog(entries: StoredLogEntry[], signedTreeHeads: SignedTreeHead[] = [], jwks?: JSONWebKeySet): Promise<{ ok: boolean; size: number; problems: LogProblem[] }> {
  const problems: LogProblem[] = [];
  const rows = [...entries].sort((a, b) => a.index - b.index);
  const enc = new TextEncoder();
  const parsed = rows.map((row) => {
    const record = parseRecord(row.json);
    const hash = leafHash(enc.encode(row.json));
    return { row, record, hash, claimed: record?.index ?? row.index, intact: record !== null && equalBytes(hash, row.leafHash) };
  });
  const edited = new Set<number>();
  for (const p of parsed) {
    if (!p.intact) {
      edited.add(p.claimed);
      problems.push({ index: p.claimed, kind: 'edited', detail: p.record ? `entry ${p.claimed} does not hash to its stored leaf hash` : `entry at row ${p.row.index} is not a log record` });
    }
  }
  // 2. Duplicates: keep the row that sits on the chain (its predecessor's hash is its prev, or its successor links to it).
  const byClaim = new Map<number, typeof parsed>();
  for (const p of parsed) byClaim.set(p.claimed, [...(byClaim.get(p.claimed) ?? []), p]);
  const genuine = new Map<number, (typeof parsed)[number]>();
  for (const [c, ps] of byClaim) {
    if (ps.length === 1) {
      genuine.set(c, ps[0]!);
      continue;
    }
    const onChain = (p: (typeof parsed)[number]) => {
      const prevs = byClaim.get(c - 1) ?? [];
      const nexts = byClaim.get(c + 1) ?? [];
      return (
        Number(p.intact) +
        Number(c === 0 ? p.record?.prevLeafHash === ZERO_HASH : prevs.some((q) => q.record && p.record?.prevLeafHash === toB64u(q.row.leafHash))) +
        Number(nexts.some((q) => q.record?.prevLeafHash === toB64u(p.row.leafHash)))
      );
    };
    const ranked = [...ps].sort((a, b) => onChain(b) - onChain(a) || a.row.index - b.row.index);
    genuine.set(c, ranked[0]!);
    for (const p of ranked.slice(1)) problems.push({ index: c, kind: 'inserted', detail: `row ${p.row.index} is a second entry ${c}, off the hash chain` });
  }
  const inserted = new Set(parsed.filter((p) => genuine.get(p.claimed) !== p));
  // 3. Reordered: rows (in storage order) outside a longest increasing subsequence of claimed indices.
  const ordered = parsed.filter((p) => !inserted.has(p));
  const keep = longestIncreasing(ordered.map((p) => p.claimed));
  ordered.forEach((p, i) => {
    if (!keep.has(i)) problems.push({ index: p.claimed, kind: 'reordered', detail: `entry ${p.claimed} is stored at row ${p.row.index}, out of order` });
  });
  // 4. Deleted: gaps below the highest index, or below a tree head's size.
  const size = [...ordered.map((p) => p.claimed + 1), ...signedTreeHeads.map((h) => h.treeSize)].reduce((a, b) => Math.max(a, b), 0);
  for (let i = 0; i < size; i++) {
    if (!genuine.has(i)) {
      const committed = signedTreeHeads.find((h) => h.treeSize > i);
      problems.push({ index: i, kind: 'deleted', detail: genuine.has(i + 1) || !committed ? `entry ${i} is missing` : `entry ${i} is missing (the tree head of size ${committed.treeSize} commits to it)` });
    }
  }
  // 5. The chain: record i+1 names record i's leaf hash.
  for (const [c, p] of genuine) {
    const prev = genuine.get(c - 1);
    if (!p.record || edited.has(c)) continue;
    const expected = c === 0 ? ZERO_HASH : prev ? toB64u(prev.row.leafHash) : undefined;
    if (expected !== undefined && p.record.prevLeafHash !== expected && !edited.has(c - 1)) {
      edited.add(c - 1);
      problems.push({ index: c - 1, kind: 'edited', detail: `entry ${c - 1} was rewritten: entry ${c} links to another leaf hash` });
    }
  }
  // 6. Signed tree heads.
  const recomputed: Uint8Array[] = [];
  for (let i = 0; i < size; i++) recomputed.push(genuine.get(i)?.hash ?? new Uint8Array(HASH_BYTES));
  const roots = rootsAtSizes(recomputed, signedTreeHeads.map((h) => h.treeSize));
  let matched = 0;
  for (const head of [...signedTreeHeads].sort((a, b) => a.treeSize - b.treeSize)) {
    if (jwks) {
      const v = await verifyTreeHead(head, jwks);
      if (!v.ok) {
        problems.push({ index: Math.max(head.treeSize - 1, 0), kind: 'edited', detail: v.problems[0]! });
        continue;
      }
    }
    if (toB64u(roots.get(head.treeSize)!) === head.rootHash) {
      matched = head.treeSize;
      continue;
    }
    if (!problems.some((p) => p.index < head.treeSize)) {
      problems.push({ index: matched, kind: 'edited', detail: `entries ${matched}..${head.treeSize - 1} do not hash to the signed tree head of size ${head.treeSize}: one was edited, inserted or removed and the chain rewritten` });
    }
  }
  problems.sort((a, b) => a.index - b.index || a.kind.localeCompare(b.kind));
  return { ok: problems.length === 0, size, problems };
}

/** Positions of one longest strictly increasing subsequence of `xs` (patience sorting, O(n log n)). */
function longestIncreasing(xs: number[]): Set<number> {
  const tails: number[] = []; // tails[k] = position of the smallest tail of an increasing run of length k+1
  const back: number[] = new Array(xs.length).fill(-1);
  xs.forEach((x, i) => {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (xs[tails[mid]!]! < x) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) back[i] = tails[lo - 1]!;
    tails[lo] = i;
  });
  const keep = new Set<number>();
  for (let i = tails.length ? tails[tails.length - 1]! : -1; i >= 0; i = back[i]!) keep.add(i);
  return keep;
}
