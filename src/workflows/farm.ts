/**
 * The model farm: runs many independent trainings and unlearnings (N retrained models, N
 * unlearning runs per method, K shadow models and their unlearnings) in a `worker_threads` pool,
 * one tfjs backend per worker (docs/engine.md), and caches every result on disk under a key that is
 * the hash of the job's manifest (data fingerprint, model spec, recipe, seed, forget ids, method
 * and params; see {@link jobKey}). Running the same jobs again reads them from the cache: an
 * interrupted benchmark continues where it stopped, and a finished one is re-scored for free.
 */
import { WorkerPool, type TaskPool } from '../engine/workerPool.js';
import { initEngine, type BackendName } from '../engine/backend.js';
import { jobKey, loadFarmSplit, packSplit, readCachedResult, runFarmJob, type FarmContext, type FarmJob, type FarmJobResult } from './farmJobs.js';

export { jobKey, type FarmContext, type FarmJob, type FarmJobResult, type SplitSource } from './farmJobs.js';

const JOBS_MODULE = new URL('./farmJobs.ts', import.meta.url).href;

/** Progress of a farm run: jobs finished (computed or cached) out of the total. */
export interface FarmProgress {
  done: number;
  total: number;
  cached: number;
  /** The job that just finished. */
  job: FarmJob;
}

/** Options of {@link ModelFarm}. */
export interface FarmOptions {
  /** Worker threads (default: the number of cores); 0 runs jobs in this thread. */
  workers?: number;
  backend?: BackendName | 'auto';
  onProgress?: (p: FarmProgress) => void;
  /** Run the jobs on this pool instead (e.g. queue workers; `ctx.cacheDir` must then be on the store they share). */
  pool?: TaskPool;
}

/** Counts of a farm's work so far. */
export interface FarmStats {
  computed: number;
  cached: number;
}

/** A farm bound to one context (data, spec, recipe, forget set, cache directory). */
export class ModelFarm {
  readonly ctx: FarmContext;
  private pool?: WorkerPool;
  private readonly opts: FarmOptions;
  readonly stats: FarmStats = { computed: 0, cached: 0 };

  constructor(ctx: FarmContext, opts: FarmOptions = {}) {
    this.ctx = ctx;
    this.opts = opts;
  }

  /** The cache key of a job in this farm. */
  key(job: FarmJob): string {
    return jobKey(this.ctx, job);
  }

  /**
   * Run `jobs` (results in the same order): cached ones are read, the others are computed in the
   * pool (in submission order, on the first idle worker) and cached. Calls `onProgress` after each.
   * @throws the first job error (UnlearnError codes survive the thread boundary).
   */
  async run(jobs: FarmJob[], progress: { offset?: number; total?: number } = {}): Promise<FarmJobResult[]> {
    const total = progress.total ?? jobs.length;
    let done = progress.offset ?? 0;
    const tick = (job: FarmJob, cached: boolean) => {
      done++;
      if (cached) this.stats.cached++;
      else this.stats.computed++;
      this.opts.onProgress?.({ done, total, cached: this.stats.cached, job });
    };
    return Promise.all(
      jobs.map(async (job) => {
        const key = this.key(job);
        const hit = await readCachedResult(this.ctx.cacheDir, key, job.kind === 'original' || job.kind === 'shadow');
        if (hit) {
          tick(job, true);
          return hit;
        }
        const r = await this.execute(job);
        tick(job, false);
        return r;
      }),
    );
  }

  private serial: Promise<unknown> = Promise.resolve();
  private engine?: Promise<BackendName>;

  private remoteCtx?: Promise<FarmContext>;

  private async execute(job: FarmJob): Promise<FarmJobResult> {
    if (this.opts.pool) {
      // Queue workers get the split itself (packed into typed arrays, which the queue stores once by content hash) rather than re-running its loader; the job keys, and so the results, are the same.
      this.remoteCtx ??= loadFarmSplit(this.ctx).then((split) => ({ ...this.ctx, source: { packed: packSplit(split) } }));
      return this.opts.pool.run<FarmJobResult>(JOBS_MODULE, 'runFarmJob', { ctx: await this.remoteCtx, job });
    }
    const workers = this.opts.workers;
    if (workers === 0) {
      // In-process: one job at a time (one backend, one training loop).
      const next = this.serial.then(async () => {
        this.engine ??= initEngine(this.opts.backend ?? 'auto');
        await this.engine;
        return runFarmJob({ ctx: this.ctx, job });
      });
      this.serial = next.catch(() => undefined);
      return next;
    }
    this.pool ??= new WorkerPool({ size: workers, backend: this.opts.backend ?? 'auto' });
    return this.pool.run<FarmJobResult>(JOBS_MODULE, 'runFarmJob', { ctx: this.ctx, job });
  }

  /** Stop the worker threads (if any were started). */
  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = undefined;
  }
}
