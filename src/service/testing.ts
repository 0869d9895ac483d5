/**
 * Test fixtures of the service: three tiny models on the CPS wages table (534 people, one row
 * each: subject = row id) in the plain, SISA and certified formats, a fast policy, and a
 * service started on a temporary data root (SQLite, or PostgreSQL in a fresh schema).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initEngine } from '../engine/backend.js';
import { Store } from '../store/store.js';
import { trainCertifiedWorkflow } from '../unlearn/certified/format.js';
import { sisaTrainWorkflow } from '../unlearn/sisa/index.js';
import { trainWorkflow } from '../workflows.js';
import { createToken } from './auth.js';
import { subjectPseudonym } from './context.js';
import { startService, type RunningService, type ServeOptions } from './server.js';

/** A policy with second-scale batching windows, for tests and the demo. */
export const FAST_POLICY = `version: 1
deadlineDays: 30
deleteSupersededAfterDays: 1
purposes:
  privacy:
    guarantee: { certified: { epsilon: 1, delta: 1.0e-5 } }
    autoAccept: true
    batching: { windowHours: 0.0001, maxWaiting: 50 }
  copyright:
    guarantee: { approximate: { audits: { verbMem: 0.02 } } }
    autoAccept: false
    batching: { windowHours: 0.0001, maxWaiting: 20 }
  correction:
    guarantee: { approximate: { audits: { forgetAccuracy: 0.1 } } }
    autoAccept: false
    batching: { windowHours: 0.0001, maxWaiting: 100 }
  bias:
    guarantee: { approximate: { audits: { forgetAccuracy: 0.1, miaAuc: 0.2 } } }
    autoAccept: false
    batching: { windowHours: 0.0001, maxWaiting: 100 }
  security:
    guarantee: exact
    autoAccept: true
    batching: { windowHours: 0.0001, maxWaiting: 1 }
`;

let models: Promise<{ dir: string; plain: string; sisa: string; certified: string }> | undefined;

/** Train the three fixture models once per process (a few seconds on 2 cores). */
export function fixtureModels(): Promise<{ dir: string; plain: string; sisa: string; certified: string }> {
  models ??= (async () => {
    await initEngine('auto');
    const dir = mkdtempSync(join(tmpdir(), 'unlearn-svc-models-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    const plain = join(dir, 'plain');
    const sisa = join(dir, 'sisa');
    const certified = join(dir, 'certified');
    await trainWorkflow({ dataset: 'cps-wages', kind: 'mlp', hidden: [8], recipe: { epochs: 3, batchSize: 64, seed: 1 }, out: plain, quiet: true });
    await sisaTrainWorkflow({ dataset: 'cps-wages', kind: 'mlp', hidden: [8], recipe: { epochs: 2, batchSize: 64, seed: 1 }, sisa: { shards: 4, slices: 2, workers: 0 }, out: sisa });
    await trainCertifiedWorkflow({ dataset: 'cps-wages', kind: 'logreg', params: { epsilon: 1, delta: 1e-5, lambda: 0.1, sigma: 10 }, out: certified, seed: 1 });
    return { dir, plain, sisa, certified };
  })();
  return models;
}

/** A service on a fresh data root with the fast policy; `close` removes everything. */
export async function testService(o: Partial<ServeOptions> & { postgres?: string } = {}): Promise<RunningService & { dataRoot: string; schema?: string; token(role: string, subjects?: string[]): Promise<string>; api(path: string, init?: Omit<RequestInit, 'body'> & { token?: string; body?: unknown }): Promise<Response> }> {
  const dataRoot = mkdtempSync(join(tmpdir(), 'unlearn-svc-'));
  const policyPath = join(dataRoot, 'policy.yaml');
  writeFileSync(policyPath, FAST_POLICY);
  const schema = o.postgres ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const svc = await startService({ dataRoot, port: 0, policyPath, tickMs: 50, inProcess: true, log: () => undefined, rate: { perSecond: 1000, burst: 1000 }, ...(o.postgres && { database: o.postgres, schema }), ...o });
  return {
    ...svc,
    dataRoot,
    schema,
    async token(role: string, subjects: string[] = []) {
      return (await createToken(svc.ctx.store, { role, subjects: subjects.map((s) => subjectPseudonym(svc.ctx, s)) })).secret;
    },
    api(path, init = {}) {
      const { token, body, headers, ...rest } = init;
      const h: Record<string, string> = { ...(headers as Record<string, string>) };
      if (token) h.authorization = `Bearer ${token}`;
      if (body !== undefined) h['content-type'] ??= 'application/json';
      return fetch(svc.url + path, { ...rest, headers: h, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    },
    async close() {
      await svc.close();
      if (schema) {
        const s = await Store.open({ url: o.postgres!, schema, dropSchemaOnClose: true });
        await s.close();
      }
      rmSync(dataRoot, { recursive: true, force: true });
    },
  };
}

/** Poll `f` until it returns a truthy value or `ms` pass. @throws Error on timeout, with `what`. */
export async function waitFor<T>(f: () => Promise<T | undefined | false>, what: string, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
