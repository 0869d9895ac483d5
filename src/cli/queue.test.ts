// The real CLI with --queue against real Redis (UNLEARN_TEST_REDIS) and a real `unlearn worker`
// process: `unlearn bench --queue` (the challenge-score farm) and SISA `train --sisa --queue` /
// `forget --queue` give the same bytes as the same commands run locally. Tasks need only Redis and
// the shared store; when UNLEARN_TEST_POSTGRES is set the worker also runs as in a deployment,
// with `--database` (a database of its own, dropped afterwards) for the service's jobs. Small on
// purpose (cps-wages, 534 people): about a minute on a quiet machine.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { runCli } from '../testing/cli.js';

const REDIS = process.env.UNLEARN_TEST_REDIS;
const PG = process.env.UNLEARN_TEST_POSTGRES;
const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/unlearn.js');

/** Leaderboard JSON without what may differ between runs: wall times and the costs measured from them, dates, paths, the thread count. */
function stable(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stable);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => !/seconds|wall|time|date|createdAt|cache|out|backend|cost|^workers$/i.test(k)).map(([k, x]) => [k, stable(x)]));
  return v;
}

describe('CLI --queue end to end (real Redis, an `unlearn worker` process)', { skip: REDIS ? false : 'UNLEARN_TEST_REDIS is not set: CLI --queue end-to-end tests skipped' }, () => {
  let dir: string;
  let store: string;
  let prefix: string;
  let worker: ChildProcess;
  let logFile: string;
  let database: string | undefined;
  const admin = async <T>(f: (c: pg.Client) => Promise<T>) => {
    const c = new pg.Client({ connectionString: PG });
    await c.connect();
    try {
      return await f(c);
    } finally {
      await c.end();
    }
  };
  const q = () => ['--queue', REDIS!, '--queue-prefix', prefix, '--store', store];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'unlearn-cli-queue-'));
    store = join(dir, 'store');
    prefix = `cliq${randomBytes(5).toString('hex')}`; // a key prefix of its own on the shared Redis
    logFile = join(dir, 'worker.log');
    const db: string[] = [];
    if (PG) {
      database = `unlearn_cliq_${randomBytes(5).toString('hex')}`;
      await admin((c) => c.query(`create database ${database}`));
      const u = new URL(PG);
      u.pathname = `/${database}`;
      db.push('--database', u.href);
    }
    const fd = openSync(logFile, 'w');
    worker = spawn(process.execPath, [BIN, '--backend', 'wasm', 'worker', '--queue', REDIS!, '--prefix', prefix, '--store', store, '--concurrency', '1', ...db], { stdio: ['ignore', 'ignore', fd] });
    closeSync(fd);
    const end = Date.now() + 60_000;
    while (!readFileSync(logFile, 'utf8').includes('concurrency 1')) {
      if (worker.exitCode !== null || Date.now() > end) throw new Error(`worker did not start: ${readFileSync(logFile, 'utf8')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    if (PG) assert.match(readFileSync(logFile, 'utf8'), /service jobs/, 'with --database the worker also takes the service jobs');
  });
  after(async () => {
    if (worker && worker.exitCode === null) await new Promise((r) => (worker.once('exit', r), worker.kill('SIGTERM')));
    if (database) await admin((c) => c.query(`drop database if exists ${database} with (force)`));
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const published = () => (readFileSync(logFile, 'utf8').match(/ published in /g) ?? []).length;

  test('unlearn bench --queue: the same leaderboard and the same φ of every farm job as the local run', async () => {
    const args = ['--json', 'bench', '--dataset', 'cps-wages', '--methods', 'retrain,finetune', '--params', '{"finetune":{"epochs":1}}', '--models', '3', '--shadows', '2', '--forget', 'random:0.03', '--hidden', '8', '--epochs', '2', '--batch-size', '64', '--seed', '3'];
    const local = runCli(...args, '--workers', '1', '--out', join(dir, 'bench-local'));
    assert.equal(local.code, 0, local.stderr);
    const before = published();
    const remote = runCli(...args, ...q(), '--out', join(dir, 'bench-queue'));
    assert.equal(remote.code, 0, remote.stderr);
    assert.ok(published() > before, `the worker ran the farm: ${readFileSync(logFile, 'utf8')}`);
    const lb = async (d: string) => stable(JSON.parse(await readFile(join(dir, d, 'leaderboard.json'), 'utf8')));
    assert.deepEqual(await lb('bench-queue'), await lb('bench-local'));
    // Every farm job's cached result, φ and accuracies bit for bit. The file names differ: a local
    // farm's keys include its threads' engine description, a queue farm's do not (its workers are
    // other processes), so the results are compared as sorted sets.
    const results = async (d: string) => {
      const files = (await readdir(d)).filter((f) => f.endsWith('.json'));
      const picked = await Promise.all(files.map(async (f) => {
        const r = JSON.parse(await readFile(join(d, f), 'utf8'));
        return JSON.stringify({ phiForget: r.phiForget, phiTest: r.phiTest, phiPool: r.phiPool, RA: r.RA, FA: r.FA, TA: r.TA });
      }));
      return picked.sort();
    };
    const jobsLocal = await results(join(dir, 'bench-local', 'cache', 'jobs'));
    assert.ok(jobsLocal.length >= 8, `${jobsLocal.length} farm jobs`);
    assert.deepEqual(await results(join(store, 'farm-cache', 'jobs')), jobsLocal);
  });

  test('unlearn train --sisa --queue and forget --queue: the same shard weights and model hashes as the local run', async () => {
    const train = ['--json', 'train', '--dataset', 'cps-wages', '--sisa', '--shards', '3', '--slices', '2', '--hidden', '8', '--epochs', '2', '--batch-size', '32', '--seed', '5'];
    const L = join(dir, 'sisa-local');
    const Q = join(store, 'sisa-queue'); // on the store the worker shares
    const a = runCli(...train, '--workers', '1', '--out', L);
    assert.equal(a.code, 0, a.stderr);
    const before = published();
    const b = runCli(...train, ...q(), '--out', Q);
    assert.equal(b.code, 0, b.stderr);
    assert.ok(published() >= before + 3, 'three shards trained on the worker');
    const manifest = async (d: string) => JSON.parse(await readFile(join(d, 'manifest.json'), 'utf8'));
    const [ma, mb] = [await manifest(L), await manifest(Q)];
    assert.equal(mb.modelHash, ma.modelHash, 'the ensemble hashes the same');
    const shards = (m: { sisa: { shardHashes?: string[] }; extra?: unknown }) => JSON.stringify(m.sisa);
    assert.equal(shards(mb), shards(ma));
    const weights = async (d: string) => {
      const out: string[] = [];
      for (const e of (await readdir(join(d, 'shards'), { withFileTypes: true })).filter((x) => x.isDirectory()).sort((x, y) => x.name.localeCompare(y.name))) out.push((await readFile(join(d, 'shards', e.name, 'weights.bin'))).toString('base64'));
      return out;
    };
    assert.deepEqual(await weights(Q), await weights(L));

    // Forget two people: the affected shards retrain on the worker; same bytes as locally.
    const ids = (ma.lineage.trainIds as string[]).slice(0, 2).flatMap((id) => ['--id', id]);
    const fa = runCli('--json', 'forget', '--model', L, ...ids, '--out', join(dir, 'sisa-local-f'));
    assert.equal(fa.code, 0, fa.stderr);
    const mid = published();
    const fb = runCli('--json', 'forget', '--model', Q, ...ids, ...q(), '--out', join(store, 'sisa-queue-f'));
    assert.equal(fb.code, 0, fb.stderr);
    assert.ok(published() > mid, 'the retraining ran on the worker');
    const [fma, fmb] = [await manifest(join(dir, 'sisa-local-f')), await manifest(join(store, 'sisa-queue-f'))];
    assert.equal(fmb.modelHash, fma.modelHash);
    assert.notEqual(fma.modelHash, ma.modelHash, 'something was removed');
    assert.deepEqual(await weights(join(store, 'sisa-queue-f')), await weights(join(dir, 'sisa-local-f')));
  });
});
