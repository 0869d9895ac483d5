/**
 * Group commit: the work of concurrent callers gathered into one transaction, so that one
 * durable commit (one WAL fsync on SQLite with `synchronous=FULL`, one commit flush on
 * PostgreSQL) acknowledges many of them. The classic technique of database logs (DeWitt et al.,
 * "Implementation Techniques for Main Memory Database Systems", SIGMOD 1984; Helland et al.,
 * "Group Commit Timers and High Volume Transaction Systems", HPTS 1987), done here without a
 * timer: a batch starts on the turn of the event loop after the first caller arrives, and
 * whoever arrives while a batch commits goes into the next one.
 *
 * Guarantees:
 * - a caller's promise settles only after the transaction holding its work has committed (or
 *   rolled back): nothing is acknowledged before it is durable;
 * - a caller whose item the batch function answers with an error (validation, a conflict it
 *   detected) does not affect the others: `apply` decides each item's outcome before writing;
 * - when the batch transaction fails as a whole (an unexpected constraint, a deadlock, a lost
 *   race with another process), every item of it is run again alone, in its own transaction,
 *   so one bad item cannot sink the others; each caller then gets its own result or error.
 */
import type { Transaction } from 'kysely';
import type { Database } from './schema.js';
import type { Store } from './store.js';

/** What the batch function answers for one item: a value, or the error to reject that caller with. */
export type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

/** Options of {@link GroupCommit}. */
export interface GroupCommitOptions {
  /** Most items in one transaction (default 128; keeps multi-row statements under bind-parameter limits). */
  maxBatch?: number;
}

/**
 * A group-commit queue over a store. `apply(trx, items)` does the work of all `items` in the
 * transaction `trx` and returns one {@link Outcome} per item, in order; it must not write for an
 * item it answers with an error, and must not read the result of an insert (on SQLite its
 * inserts are pipelined: see {@link Store.tx}).
 */
export class GroupCommit<I, R> {
  private queue: { item: I; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private running = false;
  private idlers: (() => void)[] = [];
  private readonly maxBatch: number;
  /** Committed transactions and the items they held (their ratio is the mean batch size). */
  readonly stats = { batches: 0, items: 0 };

  constructor(
    private readonly store: Store,
    private readonly apply: (trx: Transaction<Database>, items: I[]) => Promise<Outcome<R>[]>,
    o: GroupCommitOptions = {},
  ) {
    this.maxBatch = o.maxBatch ?? 128;
  }

  /** Queue `item`; resolves with its result once the batch holding it has committed. */
  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.running) {
        this.running = true;
        // One turn of the event loop: requests that arrived together join one batch.
        setImmediate(() => void this.drain());
      }
    });
  }

  /** Resolves once every item submitted so far has been committed or failed (before closing the store). */
  idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idlers.push(resolve));
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, this.maxBatch);
        let outcomes: Outcome<R>[];
        try {
          outcomes = await this.run(batch.map((b) => b.item));
        } catch (e) {
          if (batch.length === 1) {
            batch[0]!.reject(e);
            continue;
          }
          // The batch failed as a whole: run each item alone so only the faulty one fails.
          for (const b of batch) {
            try {
              settle(b, (await this.run([b.item]))[0]!);
            } catch (err) {
              b.reject(err);
            }
          }
          continue;
        }
        batch.forEach((b, i) => settle(b, outcomes[i]!));
      }
    } finally {
      this.running = false;
      for (const f of this.idlers.splice(0)) f();
    }
  }

  private async run(items: I[]): Promise<Outcome<R>[]> {
    // The batch function reads no insert's result: its inserts are pipelined to the SQLite thread.
    const outcomes = await this.store.tx(async (t) => {
      const out = await this.apply(t, items);
      if (out.length !== items.length) throw new Error(`group commit: ${out.length} outcomes for ${items.length} items`);
      return out;
    }, { pipelineInserts: true });
    this.stats.batches++;
    this.stats.items += items.length;
    return outcomes;
  }
}

function settle<R>(b: { resolve: (r: R) => void; reject: (e: unknown) => void }, o: Outcome<R>): void {
  if (o.ok) b.resolve(o.value);
  else b.reject(o.error);
}
