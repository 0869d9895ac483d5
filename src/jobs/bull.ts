/**
 * Scale-out over BullMQ on Redis. Redis is only the transport; what must survive lives elsewhere:
 * - **Tasks** (a module function and its arguments: a farm training, a SISA shard, an unlearning
 *   step) are content-addressed: the BullMQ job id is the sha256 of the task (module, function,
 *   canonical JSON of the arguments), so a duplicate enqueue is a no-op, and the worker publishes
 *   the result into the shared store at `<store>/tasks/<hash>/` (result.json; `out/` when the task
 *   writes a directory) with temp + fsync + link/rename, at most once. {@link RemotePool} is the
 *   client (the same `run(module, fn, args)` as the engine's WorkerPool); it waits on the store,
 *   and re-adds its pending tasks when Redis forgot them (a restart without persistence).
 * - **Service jobs** (`plan`, `unlearn`) stay in the service's job table (PostgreSQL), the source
 *   of truth. {@link SqlJobDispatcher} posts one BullMQ message per runnable row (queued and due,
 *   or running with an expired lease); a worker that receives one claims a lease on the table and
 *   runs the handler with the service's {@link JobRunner}, which commits the job's effects and its
 *   done mark in one transaction. After a Redis restart the next dispatch tick posts every
 *   unfinished row again.
 * Large inputs (typed arrays of {@link INPUT_BLOB_BYTES} bytes or more: a SISA shard's data, its
 * checkpoint) do not travel through Redis: the client writes each once into the store at
 * `<store>/inputs/<sha256>` and the task carries `{$input: sha256}`; a worker keeps the inputs it
 * read in a bounded per-worker cache keyed by that hash (src/engine/inputCache.ts), so repeated
 * jobs on the same inputs do not read them again.
 * Retries: tasks use BullMQ attempts with exponential backoff; service jobs the table's attempts.
 * Stalled jobs (a worker killed mid-job stops renewing its lock) go back to waiting after the
 * stall interval and another worker runs them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { availableParallelism, hostname } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Queue, Worker, type ConnectionOptions, type Job as BullJob } from 'bullmq';
import { InputCache, inputCacheBytes, type InputCacheStats } from '../engine/inputCache.js';
import { UnlearnError } from '../errors.js';
import { writeFileSynced } from '../models/io.js';
import { canonicalJson } from '../service/evidence/canonical.js';
import type { Store } from '../store/store.js';
import type { JobRunner } from './runner.js';

/** Queue of content-addressed tasks. */
export const TASK_QUEUE = 'tasks';
/** Queue of service-job messages (one per runnable row of the job table). */
export const SERVICE_QUEUE = 'service';

/** The package root: task modules travel as paths relative to it, so workers on other machines resolve their own install. */
const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Where BullMQ lives: a `redis://[user:pass@]host:port[/db]` URL and a key prefix (one per deployment or test run). */
export interface QueueTarget {
  url: string;
  prefix?: string;
}

/** ioredis options of a `redis://` URL (BullMQ requires `maxRetriesPerRequest: null` for workers). @throws UnlearnError INVALID_ARGS */
export function redisOptions(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UnlearnError('INVALID_ARGS', `--queue ${url} is not a URL`, 'give redis://HOST:PORT, e.g. redis://127.0.0.1:6379');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new UnlearnError('INVALID_ARGS', `--queue ${url} is not a redis:// URL`, 'give redis://HOST:PORT');
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: Number(u.port || 6379),
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    username: u.username || undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    maxRetriesPerRequest: null,
    retryStrategy: (n: number) => Math.min(200 * n, 2000),
  };
}

const prefixOf = (t: QueueTarget) => t.prefix ?? 'unlearn';

/** A task: `fn` exported by `module` (file URL or path inside this package) called with `args`. */
export interface TaskSpec {
  /** Path relative to the package root, e.g. `src/eval/farmJobs.ts`. */
  module: string;
  fn: string;
  args: unknown;
  /** Name of the argument that is an output directory: the worker points it into the store. */
  outArg?: string;
}

const TYPED = { Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, Uint8Array, Uint16Array, Uint32Array } as const;

/** JSON-safe form of task arguments and results: typed arrays become `{$typed, b64}` (little-endian bytes). */
export function encodeTyped(v: unknown): unknown {
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    const name = v.constructor.name as keyof typeof TYPED;
    if (!(name in TYPED)) throw new UnlearnError('INVALID_PARAMS', `cannot queue a ${name}`, 'pass plain typed arrays');
    return { $typed: name, b64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  }
  if (Array.isArray(v)) return v.map(encodeTyped);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, encodeTyped(x)]));
  return v;
}

/** Inverse of {@link encodeTyped}. */
export function decodeTyped(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decodeTyped);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.$typed === 'string' && typeof o.b64 === 'string' && o.$typed in TYPED) {
      const bytes = Buffer.from(o.b64, 'base64');
      const ab = new ArrayBuffer(bytes.length);
      new Uint8Array(ab).set(bytes);
      return new TYPED[o.$typed as keyof typeof TYPED](ab);
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, decodeTyped(x)]));
  }
  return v;
}

/** Typed arrays of at least this many bytes travel as content-addressed files in the store, not through Redis. */
export const INPUT_BLOB_BYTES = 64 * 1024;

/** Path of a content-addressed task input in the store. */
export const inputPath = (store: string, sha: string) => join(store, 'inputs', sha.slice(0, 2), sha);

/**
 * {@link encodeTyped}, with typed arrays of {@link INPUT_BLOB_BYTES} or more written once to the
 * store ({@link inputPath}, temp + fsync + link) and replaced by `{$input: sha256, $typed}`.
 */
export async function encodeInputs(v: unknown, store: string): Promise<unknown> {
  if (ArrayBuffer.isView(v) && !(v instanceof DataView) && v.byteLength >= INPUT_BLOB_BYTES) {
    const name = v.constructor.name as keyof typeof TYPED;
    if (!(name in TYPED)) throw new UnlearnError('INVALID_PARAMS', `cannot queue a ${name}`, 'pass plain typed arrays');
    const bytes = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const path = inputPath(store, sha);
    if (!existsSync(path)) {
      await mkdir(dirname(path), { recursive: true });
      await publishOnce(path, bytes);
    }
    return { $input: sha, $typed: name };
  }
  if (ArrayBuffer.isView(v)) return encodeTyped(v);
  if (Array.isArray(v)) return Promise.all(v.map((x) => encodeInputs(x, store)));
  if (v && typeof v === 'object') return Object.fromEntries(await Promise.all(Object.entries(v).map(async ([k, x]) => [k, await encodeInputs(x, store)])));
  return v;
}

/**
 * Inverse of {@link encodeInputs}: `{$input}` references are read from the store through `cache`
 * (keyed by the sha256, checked on read) and handed out as fresh copies.
 * @throws UnlearnError IO_ERROR when an input is missing from the store or does not hash to its name.
 */
export async function decodeInputs(v: unknown, store: string, cache: InputCache<Buffer>): Promise<unknown> {
  if (Array.isArray(v)) return Promise.all(v.map((x) => decodeInputs(x, store, cache)));
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.$input === 'string' && typeof o.$typed === 'string' && o.$typed in TYPED) {
      const sha = o.$input;
      const { value } = await cache.get(sha, async () => {
        const b = await readFile(inputPath(store, sha)).catch(() => undefined);
        if (!b) throw new UnlearnError('IO_ERROR', `task input ${sha.slice(0, 12)} is not in the store ${store}`, 'give every worker the same --store as the client');
        if (createHash('sha256').update(b).digest('hex') !== sha) throw new UnlearnError('IO_ERROR', `task input ${sha.slice(0, 12)} in the store does not hash to its name`, `remove ${inputPath(store, sha)} and run again`);
        return b;
      });
      const ab = new ArrayBuffer(value.length);
      new Uint8Array(ab).set(value);
      return new TYPED[o.$typed as keyof typeof TYPED](ab);
    }
    if (typeof o.$typed === 'string') return decodeTyped(o);
    return Object.fromEntries(await Promise.all(Object.entries(o).map(async ([k, x]) => [k, await decodeInputs(x, store, cache)])));
  }
  return v;
}

/** A module URL or path as a package-relative path. @throws UnlearnError INVALID_PARAMS for modules outside the package. */
export function packageRelative(module: string): string {
  const p = module.startsWith('file:') ? fileURLToPath(module) : resolve(PACKAGE_ROOT, module);
  const rel = relative(PACKAGE_ROOT, p);
  if (rel.startsWith('..') || isAbsolute(rel)) throw new UnlearnError('INVALID_PARAMS', `task module ${module} is outside the package`, 'queue only functions of this package');
  return rel.split('\\').join('/');
}

/** sha256 hex of a task: module, function and canonical JSON of the arguments (the output argument left out). */
export function taskHash(t: TaskSpec): string {
  const args = t.outArg && t.args && typeof t.args === 'object' ? { ...(t.args as Record<string, unknown>), [t.outArg]: undefined } : t.args;
  return createHash('sha256').update(canonicalJson({ module: t.module, fn: t.fn, args, outArg: t.outArg ?? null })).digest('hex');
}

/** Paths of a task in the shared store. */
export function taskPaths(store: string, hash: string): { dir: string; result: string; out: string } {
  const dir = join(store, 'tasks', hash.slice(0, 2), hash);
  return { dir, result: join(dir, 'result.json'), out: join(dir, 'out') };
}

/** What a published task holds. */
interface TaskRecord {
  hash: string;
  fn: string;
  value: unknown;
  worker: string;
  seconds: number;
  publishedAt: string;
}

/** Publish `text` at `path` once: temp + fsync, then link (fails when another worker published first). Returns true when this call published. */
async function publishOnce(path: string, text: string | Uint8Array): Promise<boolean> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeFileSynced(tmp, text);
  try {
    await link(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Options of {@link RemotePool}. */
export interface RemotePoolOptions extends QueueTarget {
  /** The shared model store (the same directory the workers were started with). */
  store: string;
  /** BullMQ attempts per task (default 3), first retry after `backoffMs` (default 1 s, doubling). */
  attempts?: number;
  backoffMs?: number;
  /** How often the store is checked for results and Redis for lost tasks, ms (default 250). */
  pollMs?: number;
  /** Called with BullMQ progress of a task (0–100). */
  onProgress?: (hash: string, progress: unknown) => void;
}

/**
 * The client side of the task queue, with the WorkerPool's `run(module, fn, args)`: tasks run on
 * `unlearn worker` processes; results come back through the store (bit-identical to a local run:
 * the same function on the same arguments). Call {@link RemotePool.close} when done.
 */
export class RemotePool {
  private readonly queue: Queue;
  private closed = false;

  constructor(private readonly o: RemotePoolOptions) {
    this.queue = new Queue(TASK_QUEUE, { connection: redisOptions(o.url), prefix: prefixOf(o) });
    this.queue.on('error', () => undefined); // reconnects by itself; run() re-adds lost tasks
  }

  /**
   * Run `fn(args)` of `module` on a worker and return its value. With `outArg`, the task's output
   * directory is published in the store and copied to `args[outArg]` here.
   * @throws Error with the worker's message once the task failed all its attempts.
   */
  async run<R>(module: string, fn: string, args: unknown, opts: { outArg?: string } = {}): Promise<R> {
    const spec: TaskSpec = { module: packageRelative(module), fn, args: await encodeInputs(args, this.o.store), outArg: opts.outArg };
    const hash = taskHash(spec);
    const paths = taskPaths(this.o.store, hash);
    const opt = { jobId: hash, attempts: this.o.attempts ?? 3, backoff: { type: 'exponential', delay: this.o.backoffMs ?? 1000 }, removeOnComplete: true, removeOnFail: { age: 3600 } };
    let added = false;
    for (let i = 0; ; i++) {
      if (existsSync(paths.result)) break;
      if (this.closed) throw new Error('remote pool is closed');
      try {
        // The state alone (not the job, whose data may be large) on every poll.
        const state = await this.queue.getJobState(hash);
        const j = state === 'failed' || this.o.onProgress ? await this.queue.getJob(hash) : undefined;
        if (state === 'failed' && added) throw new UnlearnError('IO_ERROR', `task ${fn} ${hash.slice(0, 12)} failed: ${j!.failedReason}`, 'see the worker log');
        if (state === 'failed') await j!.remove(); // a failure of an earlier run: try again
        if (state === 'failed' || state === 'unknown') {
          if (existsSync(paths.result)) break;
          await this.queue.add(fn, spec, opt);
          added = true;
        } else if (j && this.o.onProgress) this.o.onProgress(hash, j.progress);
      } catch (e) {
        if (e instanceof UnlearnError) throw e;
        /* Redis unreachable: retried at the next poll */
      }
      await new Promise((r) => setTimeout(r, Math.min(this.o.pollMs ?? 250, 25 * 2 ** i)));
    }
    const rec = JSON.parse(await readFile(paths.result, 'utf8')) as TaskRecord;
    if (opts.outArg) {
      const to = (args as Record<string, string>)[opts.outArg];
      const { cp } = await import('node:fs/promises');
      await cp(paths.out, to, { recursive: true, force: true });
    }
    return decodeTyped(rec.value) as R;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue.close();
  }
}

/** Options of {@link startWorker}. */
export interface WorkerOptions extends QueueTarget {
  store: string;
  /** Jobs at once (default: the number of cores). */
  concurrency?: number;
  /** BullMQ lock duration and stalled-check interval, ms (defaults 30 s / 30 s). A killed worker's job runs again after about lockMs + stallMs. */
  lockMs?: number;
  stallMs?: number;
  /** Runs a task (default: in this thread, by dynamic import). The CLI passes a worker-thread pool. */
  runTask?: (moduleUrl: string, fn: string, args: unknown) => Promise<unknown>;
  /** Bound of the cache of task inputs read from the store, bytes (default {@link inputCacheBytes}). */
  inputCacheBytes?: number;
  /** The service's job runner, when this worker also runs service jobs (needs `--database`). */
  serviceRunner?: JobRunner;
  log?: (line: string) => void;
}

/** A running worker. */
export interface RunningWorker {
  id: string;
  /** Tasks this worker ran to publication (not counting results another worker had published). */
  published: number;
  /** Hits and misses of the worker's cache of task inputs read from the store. */
  inputs(): InputCacheStats;
  close(): Promise<void>;
}

async function runInThread(moduleUrl: string, fn: string, args: unknown): Promise<unknown> {
  const m = (await import(moduleUrl)) as Record<string, (a: unknown) => unknown>;
  if (typeof m[fn] !== 'function') throw new UnlearnError('INVALID_PARAMS', `${moduleUrl} has no function ${fn}`, 'queue an exported function');
  return m[fn](args);
}

/**
 * Start a stateless worker: takes tasks (and, with `serviceRunner`, service jobs) from Redis,
 * reads inputs from and publishes outputs into the shared store.
 */
export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  const id = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const log = o.log ?? (() => undefined);
  const run = o.runTask ?? runInThread;
  const concurrency = o.concurrency ?? availableParallelism();
  const common = { connection: redisOptions(o.url), prefix: prefixOf(o), concurrency, lockDuration: o.lockMs ?? 30_000, stalledInterval: o.stallMs ?? 30_000, maxStalledCount: 2, name: id };
  const inputs = new InputCache<Buffer>({ maxBytes: o.inputCacheBytes ?? inputCacheBytes(), sizeOf: (b) => b.length });
  const state = { id, published: 0, inputs: () => inputs.stats } as RunningWorker;
  const tasks = new Worker<TaskSpec>(
    TASK_QUEUE,
    async (job: BullJob<TaskSpec>) => {
      const t = job.data;
      const hash = taskHash(t);
      if (hash !== job.id) throw new UnlearnError('INVALID_PARAMS', `task ${job.id} does not match its content hash`, 'enqueue tasks with RemotePool');
      const paths = taskPaths(o.store, hash);
      if (existsSync(paths.result)) return { hash, published: false };
      await job.updateProgress(0);
      const t0 = performance.now();
      let args = t.args;
      let tmpOut: string | undefined;
      if (t.outArg) {
        await mkdir(join(o.store, 'tasks', '.staging'), { recursive: true });
        tmpOut = join(o.store, 'tasks', '.staging', `${hash}-${randomBytes(4).toString('hex')}`);
        args = { ...(t.args as Record<string, unknown>), [t.outArg]: tmpOut };
      }
      args = await decodeInputs(args, o.store, inputs);
      try {
        const value = await run(pathToFileURL(join(PACKAGE_ROOT, t.module)).href, t.fn, args);
        await mkdir(paths.dir, { recursive: true });
        if (tmpOut) {
          if (!existsSync(paths.out)) await rename(tmpOut, paths.out).catch((e) => { if (!existsSync(paths.out)) throw e; });
        }
        const rec: TaskRecord = { hash, fn: t.fn, value: encodeTyped(value), worker: id, seconds: (performance.now() - t0) / 1000, publishedAt: new Date().toISOString() };
        const mine = await publishOnce(paths.result, JSON.stringify(rec));
        if (mine) state.published++;
        await job.updateProgress(100);
        log(`task ${t.fn} ${hash.slice(0, 12)} ${mine ? 'published' : 'already published'} in ${rec.seconds.toFixed(2)} s`);
        return { hash, published: mine };
      } finally {
        if (tmpOut) await rm(tmpOut, { recursive: true, force: true });
      }
    },
    common,
  );
  tasks.on('error', (e) => log(`worker: ${e.message}`));
  tasks.on('failed', (j, e) => log(`task ${j?.data.fn} ${j?.id?.slice(0, 12)} attempt ${j?.attemptsMade}: ${e.message}`));
  let service: Worker | undefined;
  if (o.serviceRunner) {
    const runner = o.serviceRunner;
    service = new Worker(
      SERVICE_QUEUE,
      async (job: BullJob<{ jobId: string }>) => {
        await job.updateProgress(0);
        const ran = await runner.runOne();
        await job.updateProgress(100);
        return { ran };
      },
      { ...common, concurrency: Math.max(1, Math.min(concurrency, 2)) },
    );
    service.on('error', (e) => log(`worker: ${e.message}`));
  }
  await tasks.waitUntilReady();
  await service?.waitUntilReady();
  log(`unlearn worker ${id}: concurrency ${concurrency}, store ${o.store}${service ? ', service jobs' : ''}`);
  state.close = async () => {
    await Promise.all([tasks.close(), service?.close()]);
  };
  return state;
}

/**
 * The service side of service jobs: every `tick()`, post one BullMQ message per runnable row of
 * the job table, with id sha256(kind, dedupe key) + attempt, so a row waiting in Redis is not
 * posted twice, a retried row gets a fresh message, and rows Redis lost are posted again.
 */
export class SqlJobDispatcher {
  private readonly queue: Queue;

  constructor(
    private readonly store: Store,
    target: QueueTarget,
    private readonly now: () => number = Date.now,
  ) {
    this.queue = new Queue(SERVICE_QUEUE, { connection: redisOptions(target.url), prefix: prefixOf(target) });
    this.queue.on('error', () => undefined);
  }

  /** Post messages for the runnable rows; returns how many rows were runnable. @throws when Redis is unreachable (the next tick retries). */
  async tick(): Promise<number> {
    const now = this.now();
    const rows = await this.store.db
      .selectFrom('jobs')
      .select(['id', 'kind', 'dedupe_key', 'attempts'])
      .where((eb) => eb.or([eb.and([eb('status', '=', 'queued'), eb('run_after', '<=', now)]), eb.and([eb('status', '=', 'running'), eb('lease_expires_at', '<', now)])]))
      .execute();
    for (const r of rows) {
      const jobId = `${createHash('sha256').update(`${r.kind}\n${r.dedupe_key}`).digest('hex')}-${r.attempts}`;
      await this.queue.add(r.kind, { jobId: r.id }, { jobId, removeOnComplete: { age: 60 }, removeOnFail: { age: 60 } });
    }
    return rows.length;
  }

  /** Queue counts, workers and active jobs' progress, for the dashboard. */
  async status(): Promise<QueueStatus> {
    return queueStatus([this.queue, ...(this.tasks ? [this.tasks] : [])]);
  }

  private tasks?: Queue;
  /** Also report the task queue in {@link status}. */
  watchTasks(target: QueueTarget): void {
    this.tasks = new Queue(TASK_QUEUE, { connection: redisOptions(target.url), prefix: prefixOf(target) });
    this.tasks.on('error', () => undefined);
  }

  async close(): Promise<void> {
    await Promise.all([this.queue.close(), this.tasks?.close()]);
  }
}

/** What the queue looks like now. */
export interface QueueStatus {
  queues: { name: string; counts: Record<string, number>; workers: { name: string; addr?: string; age?: number }[]; active: { id: string; name: string; progress: unknown; attempts: number }[] }[];
}

async function queueStatus(queues: Queue[]): Promise<QueueStatus> {
  const out: QueueStatus = { queues: [] };
  for (const q of queues) {
    const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
    const workers = (await q.getWorkers()).map((w) => ({ name: String(w.name ?? w.id ?? ''), addr: w.addr, age: Number(w.age) || undefined }));
    const active = (await q.getActive(0, 20)).map((j) => ({ id: String(j.id), name: j.name, progress: j.progress, attempts: j.attemptsMade }));
    out.queues.push({ name: q.name, counts, workers, active });
  }
  return out;
}
