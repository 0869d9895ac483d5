/**
 * The job interface of the service, small on purpose so another backend (e.g. BullMQ on Redis)
 * can implement it: enqueue (idempotent by dedupe key), claim with a lease, heartbeat,
 * complete, fail. {@link SqlJobQueue} keeps jobs in the service's database: durable, and a job
 * whose worker died (no heartbeat before its lease ran out) is claimed again.
 */
import type { Executor, Store } from '../store/store.js';

/** A job as a worker sees it. */
export interface Job {
  id: string;
  kind: string;
  payload: unknown;
  /** 1 on the first run, 2 after one failure or expired lease, … */
  attempt: number;
  maxAttempts: number;
}

/** The job queue. Times are milliseconds. */
export interface JobQueue {
  /** Add a job unless one with `dedupeKey` exists; returns its id. `ex` lets callers enqueue in their own transaction. */
  enqueue(j: { kind: string; dedupeKey: string; payload: unknown; maxAttempts?: number; runAfter?: number }, ex?: Executor): Promise<string>;
  /** Lease the next runnable job to `owner` for `leaseMs`, or undefined. */
  claim(owner: string, leaseMs: number, kinds?: string[]): Promise<Job | undefined>;
  /** Extend the lease; false when it was lost. */
  heartbeat(id: string, owner: string, leaseMs: number): Promise<boolean>;
  /** Mark done (inside `ex` to commit with the job's effects); false when the lease was lost. */
  complete(id: string, owner: string, result: unknown, ex?: Executor): Promise<boolean>;
  /** Record a failure: retried after `retryMs` until its attempts run out. */
  fail(id: string, owner: string, error: string, retryMs: number): Promise<'queued' | 'failed' | 'lost'>;
}

/** {@link JobQueue} over the store's `jobs` table (SQLite or PostgreSQL). */
export class SqlJobQueue implements JobQueue {
  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  enqueue(j: { kind: string; dedupeKey: string; payload: unknown; maxAttempts?: number; runAfter?: number }, ex?: Executor): Promise<string> {
    return this.store.enqueueJob({ ...j, maxAttempts: j.maxAttempts ?? 3 }, this.now(), ex);
  }
  async claim(owner: string, leaseMs: number, kinds?: string[]): Promise<Job | undefined> {
    const r = await this.store.claimJob(owner, leaseMs, this.now(), kinds);
    return r && { id: r.id, kind: r.kind, payload: JSON.parse(r.payload), attempt: r.attempts, maxAttempts: r.max_attempts };
  }
  heartbeat(id: string, owner: string, leaseMs: number): Promise<boolean> {
    return this.store.heartbeatJob(id, owner, leaseMs, this.now());
  }
  complete(id: string, owner: string, result: unknown, ex?: Executor): Promise<boolean> {
    return this.store.completeJob(id, owner, result, this.now(), ex);
  }
  fail(id: string, owner: string, error: string, retryMs: number): Promise<'queued' | 'failed' | 'lost'> {
    return this.store.failJob(id, owner, error, retryMs, this.now());
  }
}
