/**
 * Queue benchmark: the same work in this process's worker threads and on W = 1, 2, 4 `unlearn
 * worker` processes (one job at a time each, the real CLI) through BullMQ on Redis, in one run:
 * - the challenge-score farm: original + retrained models of a small digits MLP (farm jobs);
 * - a batch of SISA deletions: independent single-example deletions from one SISA model, each
 *   retraining one shard from its checkpoint, all submitted at once;
 * - the queue's overhead per job: a no-op task through the queue (submit → worker → result in
 *   the store → client) against the same no-op on a local worker thread.
 * Each configuration uses a fresh store, so nothing is answered from an earlier result.
 *
 *   UNLEARN_TEST_REDIS=redis://127.0.0.1:6379 npx tsx bench/queue.ts
 *   BENCH_FARM_JOBS=8 BENCH_DELETIONS=6 BENCH_NOOPS=100 …   (defaults)
 *
 * Writes bench/results/queue.md and out/bench/queue.json.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fingerprintSplit, type DataSplit } from '../src/data/dataset.js';
import { initEngine } from '../src/engine/backend.js';
import { WorkerPool, type TaskPool } from '../src/engine/workerPool.js';
import { RemotePool } from '../src/jobs/bull.js';
import { markdownTable } from '../src/report/table.js';
import { smallDigits } from '../src/testing/fixtures.js';
import { specFor } from '../src/train/fit.js';
import { TrainRecipeSchema } from '../src/train/recipe.js';
import { sisaForget } from '../src/unlearn/sisa/forget.js';
import { trainSisa } from '../src/unlearn/sisa/train.js';
import { ModelFarm, type FarmJob } from '../src/workflows/farm.js';

const REDIS = process.env.UNLEARN_TEST_REDIS ?? 'redis://127.0.0.1:6379';
const FARM_JOBS = Number(process.env.BENCH_FARM_JOBS ?? 8);
const DELETIONS = Number(process.env.BENCH_DELETIONS ?? 6);
const NOOPS = Number(process.env.BENCH_NOOPS ?? 100);
const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const TASKS = new URL('../src/jobs/testing/tasks.ts', import.meta.url).href;

/** Start W `unlearn worker` processes (concurrency 1) and wait until each is listening. */
async function workers(w: number, prefix: string, store: string): Promise<ChildProcess[]> {
  return Promise.all(
    Array.from({ length: w }, () => {
      const p = spawn(process.execPath, ['--import', 'tsx', MAIN, '--backend', 'wasm', 'worker', '--queue', REDIS, '--prefix', prefix, '--store', store, '--concurrency', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
      return new Promise<ChildProcess>((res, rej) => {
        let buf = '';
        p.stderr!.on('data', (d) => {
          buf += d;
          if (buf.includes('concurrency 1')) res(p);
        });
        p.once('exit', (c) => rej(new Error(`worker exited ${c}: ${buf}`)));
      });
    }),
  );
}
const stop = (ps: ChildProcess[]) => Promise.all(ps.map((p) => new Promise((r) => (p.once('exit', r), p.kill('SIGTERM')))));
const time = async (f: () => Promise<unknown>) => {
  const t0 = performance.now();
  await f();
  return (performance.now() - t0) / 1000;
};

async function main() {
  await initEngine('wasm');
  const root = await mkdtemp(join(tmpdir(), 'unlearn-bench-queue-'));
  const split = await smallDigits(600, 200);
  const farmCtx = (cacheDir: string) => ({
    source: { module: new URL('../src/testing/fixtures.ts', import.meta.url).href, fn: 'smallDigits', args: [600, 200] },
    fingerprint: split.fingerprint,
    spec: specFor(split, 'mlp', { hidden: [32] }),
    recipe: TrainRecipeSchema.parse({ epochs: 4, batchSize: 32, learningRate: 0.003 }),
    forgetIdx: [1, 5, 9, 40, 77, 123],
    cacheDir,
  });
  const farmJobs: FarmJob[] = [{ kind: 'original', seed: 0 }, ...Array.from({ length: FARM_JOBS - 1 }, (_, i) => ({ kind: 'retrain' as const, seed: i + 1, set: i % 2 ? 'B' : 'A' }))];

  // One SISA model; deletions pick one example from each shard in turn.
  const train = { ...split.train, subjects: split.train.ids.map((_, i) => `w-${i % 60}`) };
  const sisaSplit: DataSplit = { ...split, train, fingerprint: fingerprintSplit('digits', train, split.test) };
  const spec = { kind: 'mlp' as const, inputShape: [784], numClasses: 10, hidden: [32], activation: 'relu' as const };
  const recipe = { optimizer: 'adam' as const, learningRate: 2e-3, epochs: 4, batchSize: 32, seed: 7 };
  const sisaDir = (store: string) => join(store, 'sisa');
  const sisaModel = async (store: string) => (await trainSisa(sisaSplit, spec, recipe, { shards: 4, slices: 2, workers: 1 }, { out: sisaDir(store) })).manifest;
  const deletions = (store: string, m: Awaited<ReturnType<typeof sisaModel>>, pool?: TaskPool) =>
    Promise.all(Array.from({ length: DELETIONS }, (_, i) => sisaForget(sisaDir(store), sisaSplit, { ids: [m.assignment.shards[i % 4]!.slices[1]![i]!] }, join(store, `del-${i}`), { workers: 1, pool, evaluate: () => ({ evaluation: {}, metrics: {} }) })));

  const rows: { config: string; farmSeconds: number; deletionSeconds: number }[] = [];
  const cores = availableParallelism();
  const load0 = loadavg()[0]!;
  const uptime0 = execFileSync('uptime', { encoding: 'utf8' }).trim();

  // Local: this process's worker threads, one per core (the default), no queue.
  {
    const store = join(root, 'local');
    const farm = new ModelFarm(farmCtx(join(store, 'farm')), { workers: cores, backend: 'wasm' });
    const farmSeconds = await time(() => farm.run(farmJobs));
    await farm.close();
    const m = await sisaModel(store);
    const deletionSeconds = await time(() => deletions(store, m));
    rows.push({ config: `local threads (${cores})`, farmSeconds, deletionSeconds });
    console.error(`local: farm ${farmSeconds.toFixed(1)} s, deletions ${deletionSeconds.toFixed(1)} s`);
  }
  for (const w of [1, 2, 4]) {
    const store = join(root, `w${w}`);
    await mkdir(store, { recursive: true });
    const prefix = `bench${randomBytes(4).toString('hex')}`;
    const procs = await workers(w, prefix, store);
    const pool = new RemotePool({ url: REDIS, prefix, store, pollMs: 50 });
    try {
      const farm = new ModelFarm(farmCtx(join(store, 'farm')), { pool });
      const farmSeconds = await time(() => farm.run(farmJobs));
      const m = await sisaModel(store);
      const deletionSeconds = await time(() => deletions(store, m, pool));
      rows.push({ config: `${w} worker${w > 1 ? 's' : ''}`, farmSeconds, deletionSeconds });
      console.error(`${w} workers: farm ${farmSeconds.toFixed(1)} s, deletions ${deletionSeconds.toFixed(1)} s`);
    } finally {
      await pool.close();
      await stop(procs);
    }
  }

  // Overhead per job: a no-op through the queue vs on a local worker thread (sequential round trips).
  const local = new WorkerPool({ size: 1, backend: 'wasm' });
  const runs = join(root, 'runs.txt');
  await local.run(TASKS, 'slowTask', { tag: 'warm', ms: 0, runs });
  const localNoop = (await time(async () => {
    for (let i = 0; i < NOOPS; i++) await local.run(TASKS, 'slowTask', { tag: `l${i}`, ms: 0, runs });
  })) / NOOPS;
  await local.close();
  const store = join(root, 'noop');
  const prefix = `bench${randomBytes(4).toString('hex')}`;
  const procs = await workers(1, prefix, store);
  const pool = new RemotePool({ url: REDIS, prefix, store, pollMs: 5 });
  await pool.run(TASKS, 'slowTask', { tag: 'warm', ms: 0, runs });
  const queueNoop = (await time(async () => {
    for (let i = 0; i < NOOPS; i++) await pool.run(TASKS, 'slowTask', { tag: `q${i}`, ms: 0, runs });
  })) / NOOPS;
  const queueNoopPar = (await time(() => Promise.all(Array.from({ length: NOOPS }, (_, i) => pool.run(TASKS, 'slowTask', { tag: `p${i}`, ms: 0, runs }))))) / NOOPS;
  await pool.close();
  await stop(procs);
  await rm(root, { recursive: true, force: true });

  const uptime1 = execFileSync('uptime', { encoding: 'utf8' }).trim();
  const base = rows[1]!;
  const md = [
    `# Queue benchmark`,
    ``,
    `${new Date().toISOString().slice(0, 10)}, ${cores} cores shared with other work (1-minute load average ${load0.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end): the curve is honest for this loaded machine, not a clean scaling measurement. Farm: ${FARM_JOBS} trainings (digits 600/200, MLP 784-32-10, 4 epochs). SISA: ${DELETIONS} single-example deletions at once from one 4-shard × 2-slice model (one shard retrained from its checkpoint each). Workers: \`unlearn worker --concurrency 1\` processes through BullMQ on Redis, each keeping its inputs (the packed split, shard data and checkpoints, stored by content hash in the shared store) in its input cache; local: the farm's worker threads in one process.`,
    ``,
    markdownTable(['configuration', 'farm wall (s)', 'speed-up vs 1 worker', 'SISA deletions wall (s)', 'speed-up vs 1 worker'], rows.map((r) => [r.config, r.farmSeconds.toFixed(1), (base.farmSeconds / r.farmSeconds).toFixed(2), r.deletionSeconds.toFixed(1), (base.deletionSeconds / r.deletionSeconds).toFixed(2)])),
    ``,
    `Overhead per job (no-op task, ${NOOPS} jobs): local worker thread ${(localNoop * 1000).toFixed(2)} ms; queue round trip ${(queueNoop * 1000).toFixed(1)} ms one at a time, ${(queueNoopPar * 1000).toFixed(1)} ms per job with all ${NOOPS} in flight (1 worker).`,
    ``,
    `\`uptime\` at the start: \`${uptime0}\`; at the end: \`${uptime1}\`.`,
    ``,
  ].join('\n');
  await mkdir('bench/results', { recursive: true });
  await mkdir('out/bench', { recursive: true });
  await writeFile('bench/results/queue.md', md);
  await writeFile('out/bench/queue.json', JSON.stringify({ rows, localNoopMs: localNoop * 1000, queueNoopMs: queueNoop * 1000, queueNoopParallelMs: queueNoopPar * 1000, cores, load: [load0, loadavg()[0]], uptime: [uptime0, uptime1] }, null, 1));
  process.stdout.write(md);
}

await main();
process.exit(0);
