// The service with --queue on PostgreSQL and Redis: plan and unlearn jobs run on a separate
// queue worker (leasing rows of the job table), and the request completes with a certificate
// that verifies.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunningWorker } from '../jobs/bull.js';
import { sql } from 'kysely';
import { CERTIFICATE_TYP } from './certify.js';
import { verifyJson } from './evidence/jws.js';
import { fixtureModels, testService, waitFor } from './testing.js';
import { startQueueWorker } from './worker.js';

const PG = process.env.UNLEARN_TEST_POSTGRES;
const REDIS = process.env.UNLEARN_TEST_REDIS;
const skip = !PG || !REDIS ? 'UNLEARN_TEST_POSTGRES and UNLEARN_TEST_REDIS must both be set: service-on-queue test skipped' : false;

describe('service with --queue', { skip }, () => {
  let svc: Awaited<ReturnType<typeof testService>>;
  let worker: RunningWorker;
  let schema: string;
  const prefix = `t${randomBytes(5).toString('hex')}`;
  before(async () => {
    const m = await fixtureModels();
    svc = await testService({ postgres: PG, queue: { url: REDIS!, prefix } });
    schema = (await sql<{ search_path: string }>`show search_path`.execute(svc.ctx.store.db)).rows[0]!.search_path;
    worker = await startQueueWorker({ url: REDIS!, prefix, store: svc.dataRoot, database: PG, schema, policyPath: join(svc.dataRoot, 'policy.yaml'), concurrency: 1, backend: 'wasm' });
    const op = await svc.token('operator');
    const r = await svc.api('/v1/models', { method: 'POST', token: op, body: { id: 'plain', dir: m.plain } });
    assert.equal(r.status, 201, await r.text());
  });
  after(async () => {
    await worker?.close();
    await svc?.close();
  });

  test('a request is planned and unlearned on the worker, and certified', async () => {
    assert.equal(svc.runner, undefined, 'no in-process runner with --queue');
    const tok = await svc.token('requester', ['cps/3']);
    const { id } = (await (await svc.api('/v1/deletion-requests', { method: 'POST', token: tok, body: { subject: 'cps/3', purpose: 'security' } })).json()) as { id: string };
    const done = await waitFor(async () => {
      const s = (await (await svc.api(`/v1/deletion-requests/${id}`, { token: tok })).json()) as { status: string };
      return ['completed', 'refused'].includes(s.status) && s;
    }, 'completion on the worker', 120_000);
    assert.equal(done.status, 'completed');
    const jobs = await svc.ctx.store.listJobs();
    assert.ok(jobs.length >= 2 && jobs.every((j) => j.status === 'done'));
    const cert = (await (await svc.api(`/v1/deletion-requests/${id}/certificate`, { token: tok })).json()) as { certificate: string };
    const v = await verifyJson(cert.certificate, (await (await svc.api('/v1/keys')).json()) as never, CERTIFICATE_TYP);
    assert.ok(v.ok, v.problems.join('; '));
    const op = await svc.token('operator');
    const q = (await (await svc.api('/v1/queue', { token: op })).json()) as { backend: string; bullmq: { queues: { name: string; workers: unknown[] }[] } };
    assert.equal(q.backend, 'bullmq');
    assert.ok(q.bullmq.queues.find((x) => x.name === 'service')!.workers.length >= 1);
  });
});
