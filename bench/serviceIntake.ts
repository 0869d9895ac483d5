/**
 * Intake benchmark of the deletion-request service (autocannon on loopback): authenticated
 * `POST /v1/deletion-requests` (a durable commit per request: SQLite WAL with synchronous=FULL,
 * or a PostgreSQL commit) beside the authenticated no-op `POST /v1/noop` of the same server, in
 * the same run; req/s with p50/p99 latency, and the ratio (the price of durability). The job
 * runner is off, so the numbers are intake alone.
 *
 *   npm run bench:service-intake [-- --seconds 10 --connections 10]
 * PostgreSQL leg when UNLEARN_TEST_POSTGRES is set (a fresh schema, dropped afterwards).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
// @ts-expect-error autocannon ships no types
import autocannon from 'autocannon';
import { createToken } from '../src/service/auth.js';
import { subjectPseudonym } from '../src/service/context.js';
import { startService } from '../src/service/server.js';
import { FAST_POLICY } from '../src/service/testing.js';
import { Store } from '../src/store/store.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, connections: { type: 'string', default: '10' } } });
const seconds = Number(values.seconds);
const connections = Number(values.connections);

interface Row { db: string; endpoint: string; rps: number; p50: number; p99: number; errors: number; non2xx: number }

async function leg(db: string, database?: string): Promise<Row[]> {
  const dataRoot = mkdtempSync(join(tmpdir(), 'unlearn-bench-intake-'));
  const policyPath = join(dataRoot, 'policy.yaml');
  writeFileSync(policyPath, FAST_POLICY);
  const schema = database ? `bench_${randomBytes(5).toString('hex')}` : undefined;
  const svc = await startService({ dataRoot, database, schema, policyPath, port: 0, noJobs: true, rate: { perSecond: 1e9, burst: 1e9 }, log: () => undefined });
  const token = (await createToken(svc.ctx.store, { role: 'requester', subjects: [subjectPseudonym(svc.ctx, 'cps/1')] })).secret;
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const run = async (endpoint: string, path: string, body: unknown): Promise<Row> => {
    const r = await autocannon({ url: svc.url + path, method: 'POST', headers, body: JSON.stringify(body), connections, duration: seconds });
    return { db, endpoint, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx };
  };
  const rows = [await run('POST /v1/noop', '/v1/noop', { ping: 'x' }), await run('POST /v1/deletion-requests', '/v1/deletion-requests', { subject: 'cps/1', purpose: 'privacy' })];
  await svc.close();
  if (database) {
    const s = await Store.open({ url: database, schema, dropSchemaOnClose: true });
    await s.close();
  }
  rmSync(dataRoot, { recursive: true, force: true });
  return rows;
}

const rows = [...(await leg('sqlite')), ...(process.env.UNLEARN_TEST_POSTGRES ? await leg('postgres', process.env.UNLEARN_TEST_POSTGRES) : [])];
console.log(`intake benchmark: ${connections} connections, ${seconds} s per endpoint, loopback`);
console.log('| database | endpoint | req/s | p50 ms | p99 ms | errors | non-2xx |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.db} | ${r.endpoint} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.non2xx} |`);
for (const db of new Set(rows.map((r) => r.db))) {
  const [noop, post] = rows.filter((r) => r.db === db);
  console.log(`${db}: durable intake runs at ${((100 * post.rps) / noop.rps).toFixed(0)}% of the no-op endpoint's rate`);
}
if (!process.env.UNLEARN_TEST_POSTGRES) console.log('PostgreSQL leg skipped: set UNLEARN_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test');
