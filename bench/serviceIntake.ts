/**
 * Intake benchmark of the deletion-request service (autocannon on loopback): authenticated
 * `POST /v1/deletion-requests` (a durable commit per request: SQLite WAL with synchronous=FULL,
 * or a PostgreSQL commit) beside the authenticated no-op `POST /v1/noop` of the same server, in
 * the same run; req/s with p50/p99 latency, and the ratio (the price of durability). Intake is
 * measured twice: without an Idempotency-Key, and with a fresh key on every request (what a
 * well-behaved client sends; one more lookup and one more row). Concurrent intakes share a
 * transaction (group commit, src/store/groupCommit.ts); the mean batch size is printed. The job
 * runner is off, so the numbers are intake alone. The server runs in a process of its own
 * (bench/intakeServer.ts), as `unlearn serve` does, so autocannon does not share its event loop;
 * "server CPU µs/req" is that process's CPU time (all its threads: the event loop and the SQLite
 * thread) over the requests answered, a figure that does not move with other load on the machine.
 * `INTAKE_CPU_PROF=DIR` writes the server's CPU profile (node --cpu-prof) into DIR.
 *
 *   npm run bench:service-intake [-- --seconds 10 --connections 10 --warmup 2]   (--connections 10,50 runs both)
 * Each server gets `--warmup` seconds of intake traffic first (not recorded).
 * PostgreSQL leg when UNLEARN_TEST_POSTGRES is set (a fresh schema, dropped afterwards).
 */
import { randomBytes } from 'node:crypto';
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
// @ts-expect-error autocannon ships no types
import autocannon from 'autocannon';
import { Store } from '../src/store/store.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, connections: { type: 'string', default: '10' }, warmup: { type: 'string', default: '2' } } });
const warmupSeconds = Number(values.warmup);
const seconds = Number(values.seconds);
const connectionCounts = values.connections.split(',').map(Number);

interface Row { db: string; endpoint: string; connections: number; rps: number; p50: number; p99: number; errors: number; non2xx: number; batch: number | null; cpuUsPerRequest: number; load1: number }

/** Starts bench/intakeServer.ts as a child process (its own event loop and core) and talks to it over IPC. */
async function startServer(dataRoot: string, database?: string, schema?: string) {
  const child = fork(fileURLToPath(new URL('./intakeServer.ts', import.meta.url)), [dataRoot, database ?? '', schema ?? ''], { execArgv: ['--import', 'tsx', ...(process.env.INTAKE_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.INTAKE_CPU_PROF}`] : [])] });
  const next = () => new Promise<any>((resolve, reject) => (child.once('message', resolve), child.once('exit', (c) => reject(new Error(`intake server exited with ${c}`)))));
  const { url, token } = await next();
  return {
    url: url as string,
    token: token as string,
    stats: () => (child.send('stats'), next()) as Promise<{ batches: number; items: number; cpu: { user: number; system: number } }>,
    close: () => new Promise<void>((resolve) => (child.once('exit', () => resolve()), child.send('close'))),
  };
}

async function leg(db: string, connections: number, database?: string): Promise<Row[]> {
  const dataRoot = mkdtempSync(join(tmpdir(), 'unlearn-bench-intake-'));
  const schema = database ? `bench_${randomBytes(5).toString('hex')}` : undefined;
  const svc = await startServer(dataRoot, database, schema);
  const headers = { authorization: `Bearer ${svc.token}`, 'content-type': 'application/json' };
  let n = 0;
  const run = async (endpoint: string, path: string, body: unknown, keyed = false): Promise<Row> => {
    const before = await svc.stats();
    const setupRequest = keyed ? (req: { headers: Record<string, string> }) => ({ ...req, headers: { ...req.headers, 'idempotency-key': `bench-${++n}` } }) : undefined;
    const r = await autocannon({ url: svc.url + path, method: 'POST', headers, body: JSON.stringify(body), connections, duration: seconds, ...(setupRequest && { requests: [{ setupRequest }] }) });
    const after = await svc.stats();
    const batches = after.batches - before.batches;
    const cpuUs = after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system;
    return { db, endpoint, connections, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx, batch: batches && path !== '/v1/noop' ? (after.items - before.items) / batches : null, cpuUsPerRequest: r.requests.total ? cpuUs / r.requests.total : NaN, load1: loadavg()[0]! };
  };
  const intake = { subject: 'cps/1', purpose: 'privacy' };
  // Warm-up, not recorded: the server's JIT compiles the request path before the first measured leg.
  if (warmupSeconds > 0) await autocannon({ url: svc.url + '/v1/deletion-requests', method: 'POST', headers, body: JSON.stringify(intake), connections, duration: warmupSeconds });
  const rows = [await run('POST /v1/noop', '/v1/noop', { ping: 'x' }), await run('POST /v1/deletion-requests', '/v1/deletion-requests', intake), await run('POST /v1/deletion-requests + Idempotency-Key', '/v1/deletion-requests', intake, true)];
  await svc.close();
  if (database) {
    const s = await Store.open({ url: database, schema, dropSchemaOnClose: true });
    await s.close();
  }
  rmSync(dataRoot, { recursive: true, force: true });
  return rows;
}

const rows: Row[] = [];
for (const c of connectionCounts) {
  rows.push(...(await leg('sqlite', c)));
  if (process.env.UNLEARN_TEST_POSTGRES) rows.push(...(await leg('postgres', c, process.env.UNLEARN_TEST_POSTGRES)));
}
console.log(`intake benchmark: ${connectionCounts.join(' and ')} connections, ${seconds} s per endpoint, loopback; load average after the runs ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log('| database | endpoint | connections | req/s | p50 ms | p99 ms | vs no-op | mean batch | server CPU µs/req | errors | non-2xx | load (1 min) |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const noop = rows.find((x) => x.db === r.db && x.connections === r.connections && x.endpoint === 'POST /v1/noop')!;
  console.log(`| ${r.db} | ${r.endpoint} | ${r.connections} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${((100 * r.rps) / noop.rps).toFixed(0)}% | ${r.batch === null ? '' : r.batch.toFixed(1)} | ${r.cpuUsPerRequest.toFixed(0)} | ${r.errors} | ${r.non2xx} | ${r.load1.toFixed(2)} |`);
}
if (!process.env.UNLEARN_TEST_POSTGRES) console.log('PostgreSQL leg skipped: set UNLEARN_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test');
