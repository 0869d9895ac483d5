/**
 * The service's use of the evidence layer: every state change is a record of the transparency
 * log (src/service/evidence/log.ts: hash-chained records, RFC 9162 leaves) stored in the
 * service's database, appended in the same transaction as the change it records; tree heads are
 * signed with the data root's key ring and stored once per size.
 */
import type { JSONWebKeySet } from 'jose';
import type { Executor, Store } from '../store/store.js';
import type { KeyRing } from './evidence/keys.js';
import { buildRecord, TransparencyLog, type LogEntry, type LogRecord, type LogStorage, type SignedTreeHead, type StoredLogEntry } from './evidence/log.js';
import { fromHex, toHex } from './evidence/merkle.js';

/**
 * The store's `log_entries` table as the evidence layer's {@link LogStorage} (leaf hashes are
 * kept as hex). `append` fails when the record's index is not the next one.
 */
export function storeLogStorage(store: Store, ex: Executor = store.db): LogStorage {
  return {
    async append(record: LogRecord, json: string, leafHash: Uint8Array) {
      const run = (t: Executor) => store.appendLogEntry(json, toHex(leafHash), Date.now(), t, record.index);
      return ex === store.db ? store.tx(run) : run(ex);
    },
    size: () => store.logSize(ex),
    async leafHashes(from, to) {
      return (await store.logLeafHashes(from, to, ex)).map(fromHex);
    },
    async entries(from, to): Promise<StoredLogEntry[]> {
      return (await store.logEntries(from, to, ex)).map((r) => ({ index: Number(r.idx), json: r.entry, leafHash: fromHex(r.leaf_hash) }));
    },
  };
}

/** The log entries and signatures of one service. */
export class Ledger {
  readonly log: TransparencyLog;
  constructor(
    readonly store: Store,
    readonly keys: KeyRing,
  ) {
    this.log = new TransparencyLog(storeLogStorage(store), keys);
  }

  /**
   * Append one entry (no personal data: subjects pseudonymised) in the caller's transaction;
   * returns its index. The index is taken by the store's log counter, which serialises appenders
   * until commit, so the hash chain stays unbroken under concurrent transactions.
   */
  async append(ex: Executor, entry: LogEntry, now = Date.now()): Promise<number> {
    return this.appendMany(ex, [{ entry, now }]);
  }

  /**
   * Append several entries, in order, in the caller's transaction with one update of the log
   * counter and one insert (group commit of intake); returns the first one's index. Each record
   * chains to the one before it exactly as with {@link Ledger.append} one at a time.
   */
  async appendMany(ex: Executor, entries: { entry: LogEntry; now?: number }[]): Promise<number> {
    if (!entries.length) return this.store.logSize(ex);
    return this.store.reserveLogIndices(ex, entries.length, async (first, prevHex) => {
      let prev = prevHex === null ? null : fromHex(prevHex);
      return entries.map(({ entry, now = Date.now() }, i) => {
        const { json, leafHash } = buildRecord({ at: new Date(now).toISOString(), ...entry }, first + i, prev);
        prev = leafHash;
        return { entry: json, leafHash: toHex(leafHash), now };
      });
    });
  }

  /** The signed head of the tree as it is now (signed once per size and stored). */
  async treeHead(): Promise<SignedTreeHead> {
    const size = await this.store.logSize();
    const stored = await this.store.treeHead(size);
    if (stored) return JSON.parse(stored.signature) as SignedTreeHead;
    const head = await this.log.treeHead(size);
    await this.store.insertTreeHead({ size, root_hash: head.rootHash, signature: JSON.stringify(head), created_at: Date.parse(head.timestamp) });
    return head;
  }

  /** Every stored signed tree head, oldest first (for `log verify`). */
  async treeHeads(): Promise<SignedTreeHead[]> {
    return (await this.store.treeHeads()).map((r) => JSON.parse(r.signature) as SignedTreeHead);
  }

  jwks(): JSONWebKeySet {
    return this.keys.jwks();
  }
}
