/**
 * `unlearn serve`: open the store (SQLite under the data root by default, or PostgreSQL), the
 * key ring and the policy, start the HTTP server, the job runner (plan and unlearn jobs; the
 * unlearning itself on a worker thread) and the scheduler tick (batching, weight deletion).
 */
import { serve, type ServerType } from '@hono/node-server';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkerPool } from '../engine/workerPool.js';
import { SqlJobDispatcher, type QueueTarget } from '../jobs/bull.js';
import { JobRunner, type JobHandler } from '../jobs/runner.js';
import { SqlJobQueue } from '../jobs/queue.js';
import { ensureDir } from '../models/io.js';
import { Store } from '../store/store.js';
import { createApp } from './app.js';
import { mountDashboard } from './dashboard/routes.js';
import { RateLimiter } from './auth.js';
import { servicePseudonymKey, type ServiceContext } from './context.js';
import { KeyRing } from './evidence/keys.js';
import { loadPolicy } from './evidence/policy.js';
import { Ledger } from './ledger.js';
import { intakeQueue } from './requests.js';
import { deleteSupersededWeights, handlePlan, handleUnlearn, poolTaskRunner, scheduleBatches, type TaskRunner } from './pipeline.js';

/** The policy used when `--policy` is not given: examples/policy.yaml of this package. */
export const DEFAULT_POLICY = fileURLToPath(new URL('../../examples/policy.yaml', import.meta.url));

/** Options of {@link startService}. */
export interface ServeOptions {
  dataRoot: string;
  /** `postgres://…`, or a SQLite path (default `<dataRoot>/service.db`). */
  database?: string;
  /** PostgreSQL schema (tests). */
  schema?: string;
  port?: number;
  host?: string;
  policyPath?: string;
  /** Per-token rate limit (requests per second, burst); default 50/s, burst 100. */
  rate?: { perSecond: number; burst: number };
  bodyLimitBytes?: number;
  /** Scheduler tick and job poll interval, ms (default 500). */
  tickMs?: number;
  leaseMs?: number;
  /** Run unlearning in this thread instead of a worker (tests). */
  inProcess?: boolean;
  /** Do not start the job runner and scheduler (intake only, e.g. the intake benchmark). */
  noJobs?: boolean;
  /** BullMQ on Redis: jobs are dispatched to `unlearn worker` processes instead of run here. */
  queue?: QueueTarget;
  /** Test hook at named points of a job. */
  probe?: (point: string) => void;
  log?: (line: string) => void;
}

/** A running service. */
export interface RunningService {
  url: string;
  ctx: ServiceContext;
  runner?: JobRunner;
  /** Run one scheduler tick now (batching, weight deletion). */
  tick(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Open the shared state of a service (or of a worker serving it): the store, the key ring and
 * the pseudonym key under the data root, the policy. @throws UnlearnError IO_ERROR / INVALID_PARAMS (policy).
 */
export async function openServiceContext(o: Pick<ServeOptions, 'dataRoot' | 'database' | 'schema' | 'policyPath'>): Promise<ServiceContext> {
  const dataRoot = resolve(o.dataRoot);
  await ensureDir(dataRoot);
  const { policy, sha256 } = await loadPolicy(o.policyPath ?? DEFAULT_POLICY);
  const store = await Store.open({ url: o.database ?? join(dataRoot, 'service.db'), schema: o.schema });
  const keys = await KeyRing.open(dataRoot);
  return { store, ledger: new Ledger(store, keys), policy, policySha256: sha256, dataRoot, pseudonymKey: await servicePseudonymKey(dataRoot), splits: new Map(), now: Date.now };
}

/** The service's job handlers (`plan`, `unlearn`), for the in-process runner and for queue workers. */
export function serviceHandlers(ctx: ServiceContext, deps: { runTask: TaskRunner; probe?: (point: string) => void }): Record<string, JobHandler> {
  return { plan: (j) => handlePlan(ctx, j, deps.probe), unlearn: (j, jc) => handleUnlearn(ctx, deps, j, jc) };
}

/** Open everything and listen. @throws UnlearnError IO_ERROR / INVALID_PARAMS (policy). */
export async function startService(o: ServeOptions): Promise<RunningService> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const ctx = await openServiceContext(o);
  const { store, dataRoot, policySha256: sha256 } = ctx;
  const queue = new SqlJobQueue(store);
  let pool: WorkerPool | undefined;
  let runTask: TaskRunner;
  if (o.inProcess) {
    const { runUnlearn } = await import('./unlearnTask.js');
    runTask = runUnlearn;
  } else {
    runTask = (args) => (pool ??= new WorkerPool({ size: 1 }), poolTaskRunner(pool)(args));
  }
  // With a queue, `unlearn worker` processes run the jobs; this process only dispatches them.
  const dispatcher = o.queue && !o.noJobs ? new SqlJobDispatcher(store, o.queue) : undefined;
  dispatcher?.watchTasks(o.queue!);
  const runner = o.noJobs || dispatcher
    ? undefined
    : new JobRunner(queue, serviceHandlers(ctx, { runTask, probe: o.probe }), {
        concurrency: 2,
        leaseMs: o.leaseMs ?? 30_000,
        pollMs: o.tickMs ?? 500,
        onError: (j, e) => log(`job ${j.kind} ${j.id} (attempt ${j.attempt}): ${(e as Error)?.message ?? e}`),
      });
  let ticking = false;
  const tick = async () => {
    if (ticking) return;
    ticking = true;
    try {
      await scheduleBatches(ctx, queue);
      await deleteSupersededWeights(ctx);
      await dispatcher?.tick();
    } catch (e) {
      log(`scheduler: ${(e as Error).message}`);
    } finally {
      ticking = false;
    }
  };
  const timer = o.noJobs ? undefined : setInterval(() => void tick(), o.tickMs ?? 500);
  runner?.start();
  const { app } = createApp({ ctx, limiter: new RateLimiter(o.rate?.perSecond ?? 50, o.rate?.burst ?? 100), bodyLimitBytes: o.bodyLimitBytes, ready: async () => (await store.ping()) && (o.noJobs || runner !== undefined || dispatcher !== undefined) });
  mountDashboard(app, { ctx, queueStatus: dispatcher ? () => dispatcher.status() : undefined });
  const server: ServerType = await new Promise((res) => {
    const s = serve({ fetch: app.fetch, port: o.port ?? 8080, hostname: o.host ?? '127.0.0.1' }, () => res(s));
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const url = `http://${o.host ?? '127.0.0.1'}:${port}`;
  log(`unlearn serve: listening on ${url} (database ${store.dialect}, data root ${dataRoot}, policy sha256 ${sha256.slice(0, 12)}…)`);
  return {
    url,
    ctx,
    runner,
    tick,
    async close() {
      clearInterval(timer);
      await new Promise<void>((res) => server.close(() => res()));
      await runner?.stop();
      await dispatcher?.close();
      await pool?.close();
      await intakeQueue(ctx).idle();
      await store.close();
    },
  };
}
