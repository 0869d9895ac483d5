// The BullMQ transport against the real Redis and PostgreSQL of UNLEARN_TEST_REDIS and
// UNLEARN_TEST_POSTGRES: content-addressed tasks, duplicate enqueues, racing workers, a worker
// SIGKILLed mid-job, a Redis restart mid-run, a service restart mid-run.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Store } from '../store/store.js';
import { RemotePool, SqlJobDispatcher, startWorker, taskHash, taskPaths, packageRelative, type RunningWorker } from './bull.js';
import { SqlJobQueue } from './queue.js';

const REDIS = process.env.UNLEARN_TEST_REDIS;
const PG = process.env.UNLEARN_TEST_POSTGRES;
const TASKS = new URL('./testing/tasks.ts', import.meta.url).href;
const CHILD = fileURLToPath(new URL('./testing/workerChild.ts', import.meta.url));
const skipRedis = REDIS ? false : 'UNLEARN_TEST_REDIS is not set (e.g. redis://127.0.0.1:6379): BullMQ tests skipped';
const skipBoth = !REDIS ? skipRedis : !PG ? 'UNLEARN_TEST_POSTGRES is not set: BullMQ service-job tests skipped' : false;

const lines = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8').trim().split('\n').filter(Boolean) : []);
async function until<T>(f: () => T | Promise<T>, what: string, ms = 30_000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Restart the machine's Redis (no persistence: every key is gone) and wait until it answers. */
function restartRedis(url: string): void {
  const u = new URL(url);
  const port = u.port || '6379';
  try {
    execFileSync('redis-cli', ['-h', u.hostname, '-p', port, 'shutdown', 'nosave'], { stdio: 'ignore' });
  } catch {
    /* the connection drops as it shuts down */
  }
  execFileSync('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '-::1', '--port', port, '--save', '', '--appendonly', 'no', '--dir', '/var/lib/redis', '--logfile', '/var/log/redis/ci.log']);
  for (let i = 0; i < 100; i++) {
    try {
      if (execFileSync('redis-cli', ['-h', u.hostname, '-p', port, 'ping']).toString().trim() === 'PONG') return;
    } catch {
      /* not yet */
    }
    execFileSync('sleep', ['0.1']);
  }
  throw new Error('redis did not come back');
}

function child(cfg: Record<string, unknown>): Promise<{ p: ChildProcess; id: string }> {
  const p = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((res, rej) => {
    let buf = '';
    p.stdout!.on('data', (d) => {
      buf += d;
      const m = buf.match(/ready (\S+)/);
      if (m) res({ p, id: m[1]! });
    });
    p.once('exit', (c) => rej(new Error(`worker exited with ${c}`)));
  });
}

describe('BullMQ tasks', { skip: skipRedis }, () => {
  let dir: string;
  let prefix: string;
  let runs: string;
  const workers: RunningWorker[] = [];
  const pools: RemotePool[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'unlearn-bull-'));
    prefix = `t${randomBytes(5).toString('hex')}`;
    runs = join(dir, 'runs.txt');
  });
  after(async () => {
    await Promise.all([...workers.map((w) => w.close()), ...pools.map((p) => p.close())]);
    rmSync(dir, { recursive: true, force: true });
  });
  const pool = (o: Partial<ConstructorParameters<typeof RemotePool>[0]> = {}) => {
    const p = new RemotePool({ url: REDIS!, prefix, store: join(dir, 'store'), pollMs: 50, backoffMs: 100, ...o });
    pools.push(p);
    return p;
  };
  const worker = async (o: { stallMs?: number } = {}) => {
    const w = await startWorker({ url: REDIS!, prefix, store: join(dir, 'store'), concurrency: 2, lockMs: o.stallMs ?? 1000, stallMs: o.stallMs ?? 1000 });
    workers.push(w);
    return w;
  };

  test('the job id is the content hash; a duplicate enqueue from two clients with two workers racing runs once', async () => {
    await worker();
    await worker();
    const args = { tag: 'dup', ms: 300, runs };
    const [a, b] = await Promise.all([pool().run<{ twice: string }>(TASKS, 'slowTask', args), pool().run<{ twice: string }>(TASKS, 'slowTask', args)]);
    assert.deepEqual(a, b);
    assert.equal(a.twice, 'dupdup');
    assert.equal(lines(runs).filter((l) => l.startsWith('dup ')).length, 1, 'ran once');
    // Once published, a third enqueue is answered from the store without running.
    await pool().run(TASKS, 'slowTask', args);
    assert.equal(lines(runs).filter((l) => l.startsWith('dup ')).length, 1);
    const hash = taskHash({ module: packageRelative(TASKS), fn: 'slowTask', args });
    assert.ok(existsSync(taskPaths(join(dir, 'store'), hash).result));
  });

  test('an output directory is published into the store and copied to the caller', async () => {
    const out = join(dir, 'mine');
    await pool().run(TASKS, 'slowTask', { tag: 'out', ms: 10, runs, out }, { outArg: 'out' });
    assert.equal(readFileSync(join(out, 'value.txt'), 'utf8'), 'outout');
  });

  test('a failing task is retried with backoff, then reported', async () => {
    await assert.rejects(pool({ attempts: 2 }).run(TASKS, 'slowTask', { tag: 1, ms: 1, runs }), /failed/);
    assert.equal(lines(runs).filter((l) => l.startsWith('1 ')).length, 2, 'two attempts');
  });

  test('SIGKILL a worker mid-job: another finishes it after the stall interval, published once', async () => {
    await Promise.all(workers.splice(0).map((w) => w.close()));
    const a = await child({ url: REDIS, prefix, store: join(dir, 'store'), stallMs: 800 });
    const args = { tag: 'kill', ms: 1500, runs, out: join(dir, 'kill-out') };
    const done = pool().run<{ twice: string }>(TASKS, 'slowTask', args, { outArg: 'out' });
    await until(() => lines(runs).some((l) => l.startsWith('kill ')), 'worker A to start the task');
    a.p.kill('SIGKILL');
    const b = await worker({ stallMs: 800 });
    assert.equal((await done).twice, 'killkill');
    const started = lines(runs).filter((l) => l.startsWith('kill '));
    assert.equal(started.length, 2, 'started by A, then by B');
    assert.equal(b.published, 1, 'B published the result');
    const rec = JSON.parse(readFileSync(taskPaths(join(dir, 'store'), taskHash({ module: packageRelative(TASKS), fn: 'slowTask', args, outArg: 'out' })).result, 'utf8'));
    assert.equal(rec.worker, b.id);
    assert.equal(readFileSync(join(dir, 'kill-out', 'value.txt'), 'utf8'), 'killkill');
  });

  test('Redis restarted mid-run (no persistence): every task still completes', async () => {
    await worker();
    const p = pool();
    const all = Promise.all(Array.from({ length: 6 }, (_, i) => p.run<{ tag: string }>(TASKS, 'slowTask', { tag: `r${i}`, ms: 400, runs })));
    await until(() => lines(runs).some((l) => l.startsWith('r')), 'the first task to start');
    try {
      restartRedis(REDIS!);
    } finally {
      execFileSync('redis-cli', ['-u', REDIS!, 'ping']);
    }
    const out = await all;
    assert.deepEqual(out.map((o) => o.tag), ['r0', 'r1', 'r2', 'r3', 'r4', 'r5']);
  });
});

describe('BullMQ service jobs over the PostgreSQL job table', { skip: skipBoth }, () => {
  let dir: string;
  let prefix: string;
  let runs: string;
  let schema: string;
  let store: Store;
  const kids: ChildProcess[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'unlearn-bullsvc-'));
    prefix = `t${randomBytes(5).toString('hex')}`;
    runs = join(dir, 'runs.txt');
    writeFileSync(runs, '');
    schema = `t_${randomBytes(6).toString('hex')}`;
    store = await Store.open({ url: PG!, schema });
  });
  after(async () => {
    for (const k of kids) k.kill('SIGTERM');
    await store.close();
    const s = await Store.open({ url: PG!, schema, dropSchemaOnClose: true });
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const cfg = () => ({ url: REDIS, prefix, store: join(dir, 'store'), stallMs: 1000, postgres: PG, schema, runs, leaseMs: 1500 });
  const doneCount = async (s: Store) => (await s.listJobs()).filter((j) => j.status === 'done').length;

  test('Redis restart and service restart mid-run: the job table re-dispatches, workers keep going, each job recorded once', async () => {
    const q = new SqlJobQueue(store);
    for (let n = 0; n < 8; n++) await q.enqueue({ kind: 'touch', dedupeKey: `touch:${n}`, payload: { n, ms: 300 } });
    assert.equal(await q.enqueue({ kind: 'touch', dedupeKey: 'touch:0', payload: { n: 0, ms: 300 } }), (await store.listJobs())[0]!.id, 'duplicate enqueue is a no-op');
    for (let i = 0; i < 2; i++) kids.push((await child(cfg())).p);
    let dispatcher = new SqlJobDispatcher(store, { url: REDIS!, prefix });
    const ticking = { on: true };
    const loop = (async () => {
      while (ticking.on) {
        await dispatcher.tick().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await until(async () => (await doneCount(store)) >= 2, 'two jobs done');
    restartRedis(REDIS!);
    await until(async () => (await doneCount(store)) >= 4, 'four jobs done after the Redis restart');
    // The service stops (dispatcher and its database connections), and comes back.
    ticking.on = false;
    await loop;
    await dispatcher.close();
    await store.close();
    const mid = await Store.open({ url: PG!, schema });
    const before = await doneCount(mid);
    await new Promise((r) => setTimeout(r, 700));
    await mid.close();
    store = await Store.open({ url: PG!, schema });
    dispatcher = new SqlJobDispatcher(store, { url: REDIS!, prefix });
    ticking.on = true;
    const loop2 = (async () => {
      while (ticking.on) {
        await dispatcher.tick().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await until(async () => (await doneCount(store)) === 8, 'all eight jobs done');
    ticking.on = false;
    await loop2;
    await dispatcher.close();
    const jobs = await store.listJobs();
    assert.ok(before >= 4);
    assert.deepEqual(jobs.map((j) => JSON.parse(j.result!).n).sort((a: number, b: number) => a - b), [0, 1, 2, 3, 4, 5, 6, 7]);
    // A job may have started twice only when its lease expired (Redis restart while running); its done mark is committed once.
    const perJob = new Map<string, number>();
    for (const l of lines(runs)) perJob.set(l.split(' ')[0]!, (perJob.get(l.split(' ')[0]!) ?? 0) + 1);
    assert.equal(perJob.size, 8);
  });
});
