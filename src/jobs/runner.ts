/**
 * The in-process job runner: polls a {@link JobQueue}, runs each claimed job's handler, keeps
 * its lease alive with heartbeats, and records completion or failure. Handlers receive a
 * {@link JobContext} whose `complete(ex)` commits the job's done mark inside the handler's own
 * publication transaction (so effects and completion commit together), and whose `signal`
 * aborts when the lease is lost.
 */
import { randomBytes } from 'node:crypto';
import type { Executor } from '../store/store.js';
import type { Job, JobQueue } from './queue.js';

/** What a handler gets besides the job. */
export interface JobContext {
  owner: string;
  /** Aborted when a heartbeat finds the lease lost (another worker took the job). */
  signal: AbortSignal;
  /**
   * Mark the job done inside transaction `ex`. @throws Error when the lease was lost, so the
   * caller's transaction rolls back.
   */
  complete(ex: Executor, result?: unknown): Promise<void>;
}

export type JobHandler = (job: Job, ctx: JobContext) => Promise<void>;

/** Options of {@link JobRunner}. */
export interface RunnerOptions {
  /** How many jobs run at once (default 1). */
  concurrency?: number;
  leaseMs?: number;
  pollMs?: number;
  /** Delay before a failed job is retried (default 1 s). */
  retryMs?: number;
  onError?: (job: Job, e: unknown) => void;
}

/** Runs jobs of the kinds it has handlers for until {@link JobRunner.stop}. */
export class JobRunner {
  readonly owner = `runner-${process.pid}-${randomBytes(4).toString('hex')}`;
  private running = 0;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private readonly active = new Set<Promise<void>>();
  private readonly o: Required<Omit<RunnerOptions, 'onError'>> & Pick<RunnerOptions, 'onError'>;

  constructor(
    private readonly queue: JobQueue,
    private readonly handlers: Record<string, JobHandler>,
    o: RunnerOptions = {},
  ) {
    this.o = { concurrency: 1, leaseMs: 30_000, pollMs: 200, retryMs: 1000, ...o };
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Stop claiming and wait for the running jobs. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.allSettled([...this.active]);
  }

  /** Claim and run jobs until none is runnable (for tests and draining). */
  async drain(): Promise<number> {
    let n = 0;
    for (let job = await this.claim(); job; job = await this.claim()) {
      await this.run(job);
      n++;
    }
    return n;
  }

  /** Claim one runnable job and run it; false when none was runnable (a queue transport's worker calls this per message). */
  async runOne(): Promise<boolean> {
    const job = await this.claim();
    if (!job) return false;
    await this.run(job);
    return true;
  }

  private claim(): Promise<Job | undefined> {
    return this.queue.claim(this.owner, this.o.leaseMs, Object.keys(this.handlers));
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    try {
      while (!this.stopped && this.running < this.o.concurrency) {
        const job = await this.claim();
        if (!job) break;
        const p = this.run(job).finally(() => this.active.delete(p));
        this.active.add(p);
      }
    } catch (e) {
      this.o.onError?.({ id: '-', kind: '-', payload: null, attempt: 0, maxAttempts: 0 }, e);
    }
    this.schedule(this.o.pollMs);
  }

  private async run(job: Job): Promise<void> {
    this.running++;
    const abort = new AbortController();
    let done = false;
    const beat = setInterval(async () => {
      try {
        if (!(await this.queue.heartbeat(job.id, this.owner, this.o.leaseMs))) abort.abort(new Error('lease lost'));
      } catch {
        /* a missed heartbeat is retried at the next interval */
      }
    }, Math.max(50, Math.floor(this.o.leaseMs / 3)));
    const ctx: JobContext = {
      owner: this.owner,
      signal: abort.signal,
      complete: async (ex, result) => {
        if (!(await this.queue.complete(job.id, this.owner, result ?? null, ex))) throw new Error(`job ${job.id}: lease lost before completion`);
        done = true;
      },
    };
    try {
      const handler = this.handlers[job.kind];
      await handler(job, ctx);
      if (!done) await this.queue.complete(job.id, this.owner, null);
    } catch (e) {
      this.o.onError?.(job, e);
      if (!abort.signal.aborted) await this.queue.fail(job.id, this.owner, String((e as Error)?.message ?? e), this.o.retryMs).catch(() => undefined);
    } finally {
      clearInterval(beat);
      this.running--;
    }
  }
}
