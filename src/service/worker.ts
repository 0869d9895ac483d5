/**
 * `unlearn worker`: a stateless queue worker. It runs tasks (farm trainings, SISA shards,
 * unlearning steps) on a pool of worker threads and, given the service's database, the service's
 * `plan` and `unlearn` jobs, leasing each row of the job table and committing its effects there.
 * Inputs and outputs go through the shared store (a directory every worker and the service see
 * at the same path; it is the service's data root: models, staging, keys, tasks).
 */
import { availableParallelism } from 'node:os';
import type { BackendName } from '../engine/backend.js';
import { WorkerPool } from '../engine/workerPool.js';
import { startWorker, type RunningWorker, type QueueTarget } from '../jobs/bull.js';
import { SqlJobQueue } from '../jobs/queue.js';
import { JobRunner } from '../jobs/runner.js';
import { poolTaskRunner } from './pipeline.js';
import { openServiceContext, serviceHandlers } from './server.js';

/** Options of {@link startQueueWorker}. */
export interface QueueWorkerOptions extends QueueTarget {
  /** The shared store (the service's data root). */
  store: string;
  /** The service's PostgreSQL URL; without it the worker runs tasks only. */
  database?: string;
  schema?: string;
  policyPath?: string;
  /** Jobs at once and worker threads (default: the number of cores). */
  concurrency?: number;
  backend?: BackendName | 'auto';
  /** Service-job lease (default 30 s), BullMQ lock and stall interval (defaults 30 s). */
  leaseMs?: number;
  lockMs?: number;
  stallMs?: number;
  log?: (line: string) => void;
}

/** Start a worker; `close()` stops taking jobs, waits for the running ones and releases everything. */
export async function startQueueWorker(o: QueueWorkerOptions): Promise<RunningWorker> {
  const concurrency = o.concurrency ?? availableParallelism();
  const pool = new WorkerPool({ size: concurrency, backend: o.backend ?? 'auto' });
  // One warm-up per thread (each is idle, so each takes one): the task modules load before the first job arrives.
  await Promise.all(Array.from({ length: concurrency }, () => pool.run(new URL('./warmThread.ts', import.meta.url).href, 'warmThread', {})));
  const ctx = o.database ? await openServiceContext({ dataRoot: o.store, database: o.database, schema: o.schema, policyPath: o.policyPath }) : undefined;
  const runner = ctx
    ? new JobRunner(new SqlJobQueue(ctx.store), serviceHandlers(ctx, { runTask: poolTaskRunner(pool) }), { leaseMs: o.leaseMs ?? 30_000, onError: (j, e) => o.log?.(`job ${j.kind} ${j.id} (attempt ${j.attempt}): ${(e as Error)?.message ?? e}`) })
    : undefined;
  const w = await startWorker({ ...o, concurrency, serviceRunner: runner, runTask: (m, fn, args) => pool.run(m, fn, args) });
  const close = w.close;
  w.close = async () => {
    await close();
    await pool.close();
    await ctx?.store.close();
  };
  return w;
}
