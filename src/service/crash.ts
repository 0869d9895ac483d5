/**
 * Crash harness: run the service as a child process, file deletion requests against it, and
 * SIGKILL it at random points — during intake (the harness kills it between requests), and
 * inside jobs (the child kills itself at the job probes: inside the planning transaction, mid-job,
 * after training, after verification, after the rename into place, mid-publication). Restart it
 * each time and go on until every acknowledged request is final. Then count: acknowledged
 * requests lost, requests planned twice, completed twice, jobs published twice, half-published
 * versions; verify every certificate and the log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Store } from '../store/store.js';
import { createToken } from './auth.js';
import { servicePseudonymKey, subjectPseudonym } from './context.js';
import { readPublicKeys } from './evidence/keys.js';
import { verifyCertificate } from './evidence/certificate.js';
import { verifyLog, type SignedTreeHead } from './evidence/log.js';
import { storeLogStorage } from './ledger.js';
import { FAST_POLICY } from './testing.js';

/** Options of {@link runCrashHarness}. */
export interface CrashOptions {
  dataRoot: string;
  /** Model directories to register: id → dir. */
  models: Record<string, string>;
  /** Subjects to request deletion of (one request each, in order). */
  subjects: string[];
  /** Probability that the harness kills the service after filing a request. */
  intakeKillP: number;
  /** Probability that the service kills itself at each job probe. */
  jobKillP: number;
  /** Also kill the service the first time a job reaches each probe point, so every point is hit at least once. */
  killEveryPointOnce?: boolean;
  /** Requests in flight at once. */
  concurrency?: number;
  timeoutMs?: number;
  log?: (line: string) => void;
}

/** What {@link runCrashHarness} counted. */
export interface CrashReport {
  requests: number;
  acknowledged: number;
  kills: { intake: number; job: Record<string, number> };
  /** Job probe points at which no kill happened (empty when every point was hit). */
  pointsNotKilled: string[];
  restarts: number;
  lost: number;
  /** Requests with more than one `request.planned` record (a planning job that ran twice). */
  plannedTwice: number;
  completedTwice: number;
  publishedTwice: number;
  halfPublished: number;
  final: Record<string, number>;
  certificates: { checked: number; failed: number };
  log: { ok: boolean; size: number; problems: number };
  seconds: number;
}

const CHILD = fileURLToPath(new URL('./crashChild.ts', import.meta.url));

/** The job probes of the service (src/service/pipeline.ts), in the order a job passes them. */
export const PROBE_POINTS = ['planning', 'running', 'trained', 'verified', 'renamed', 'publishing'] as const;

/** Run the harness. */
export async function runCrashHarness(o: CrashOptions): Promise<CrashReport> {
  const t0 = Date.now();
  const log = o.log ?? (() => undefined);
  const policy = join(o.dataRoot, 'policy.yaml');
  writeFileSync(policy, FAST_POLICY);
  const dbUrl = join(o.dataRoot, 'service.db');
  let store = await Store.open({ url: dbUrl });
  const key = await servicePseudonymKey(o.dataRoot);
  const op = (await createToken(store, { role: 'operator' })).secret;
  const req = (await createToken(store, { role: 'requester', subjects: o.subjects.map((s) => subjectPseudonym({ pseudonymKey: key }, s)) })).secret;
  await store.close();

  const report: CrashReport = { requests: o.subjects.length, acknowledged: 0, kills: { intake: 0, job: {} }, pointsNotKilled: [], restarts: 0, lost: 0, plannedTwice: 0, completedTwice: 0, publishedTwice: 0, halfPublished: 0, final: {}, certificates: { checked: 0, failed: 0 }, log: { ok: false, size: 0, problems: 0 }, seconds: 0 };
  let child: ChildProcess | undefined;
  let url = '';
  const start = async () => {
    child = spawn(process.execPath, ['--import', 'tsx', CHILD], { env: { ...process.env, UNLEARN_CRASH_ROOT: o.dataRoot, UNLEARN_CRASH_POLICY: policy, UNLEARN_CRASH_P: String(o.jobKillP), ...(o.killEveryPointOnce && { UNLEARN_CRASH_EACH: join(o.dataRoot, 'crash-points-killed') }) }, stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! });
    url = await new Promise<string>((res, rej) => {
      child!.once('exit', (c, s) => rej(new Error(`service exited before listening (${c ?? s})`)));
      lines.on('line', (l) => {
        const m = JSON.parse(l) as { url?: string; killedAt?: string };
        if (m.url) res(m.url);
        if (m.killedAt) report.kills.job[m.killedAt] = (report.kills.job[m.killedAt] ?? 0) + 1;
      });
    });
    child.removeAllListeners('exit');
  };
  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const kill = async () => {
    if (!alive()) return;
    const c = child!;
    await new Promise<void>((res) => {
      c.once('exit', () => res());
      c.kill('SIGKILL');
    });
  };
  const ensure = async () => {
    if (alive()) return;
    if (child) report.restarts++;
    await start();
  };
  const api = async (method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}) => {
    for (let attempt = 0; ; attempt++) {
      await ensure();
      try {
        const r = await fetch(url + path, { method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }), ...headers }, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
        return { status: r.status, data: (await r.json()) as any };
      } catch (e) {
        if (attempt > 50) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };

  await ensure();
  for (const [id, dir] of Object.entries(o.models)) {
    const r = await api('POST', '/v1/models', op, { id, dir });
    if (r.status >= 300) throw new Error(`register ${id}: ${JSON.stringify(r.data)}`);
  }
  // Intake: every request carries an idempotency key, so a retry after a kill is safe; an id
  // counts as acknowledged only when a 202 came back.
  const acked: string[] = [];
  const queue = o.subjects.map((s, i) => ({ s, key: `crash-${i}` }));
  const workers = Array.from({ length: o.concurrency ?? 4 }, async () => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      const r = await api('POST', '/v1/deletion-requests', req, { subject: item.s, purpose: 'privacy' }, { 'idempotency-key': item.key }).catch(() => undefined);
      if (r?.status === 202) acked.push(r.data.id);
      else if (r?.status !== 202) queue.push(item);
      if (Math.random() < o.intakeKillP) {
        report.kills.intake++;
        await kill();
      }
    }
  });
  await Promise.all(workers);
  report.acknowledged = new Set(acked).size;
  log(`intake done: ${report.acknowledged} acknowledged, ${report.kills.intake} kills during intake`);

  // Run until every acknowledged request is final (restarting after every kill).
  const end = Date.now() + (o.timeoutMs ?? 600_000);
  for (;;) {
    await ensure();
    store = await Store.open({ url: dbUrl });
    const rows = await store.requestsInStatus(['completed', 'refused', 'rejected']);
    await store.close();
    if (rows.length >= report.acknowledged) break;
    if (Date.now() > end) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  await kill();

  // Count.
  store = await Store.open({ url: dbUrl });
  try {
    const jwks = await readPublicKeys(o.dataRoot);
    for (const id of new Set(acked)) {
      const r = await store.request(id);
      if (!r) {
        report.lost++;
        continue;
      }
      report.final[r.status] = (report.final[r.status] ?? 0) + 1;
      if (r.certificate) {
        report.certificates.checked++;
        if (!(await verifyCertificate(r.certificate, jwks)).ok) report.certificates.failed++;
      }
    }
    const storage = storeLogStorage(store);
    const entries = await storage.entries(0, await storage.size());
    const completed = new Map<string, number>();
    const planned = new Map<string, number>();
    const published = new Map<string, number>();
    for (const e of entries) {
      const rec = JSON.parse(e.json) as { type: string; requestId?: string; data: Record<string, unknown> };
      if (rec.type === 'request.completed') completed.set(rec.requestId!, (completed.get(rec.requestId!) ?? 0) + 1);
      if (rec.type === 'request.planned') planned.set(rec.requestId!, (planned.get(rec.requestId!) ?? 0) + 1);
      if (rec.type === 'job.completed') published.set(String(rec.data.job), (published.get(String(rec.data.job)) ?? 0) + 1);
    }
    report.completedTwice = [...completed.values()].filter((n) => n > 1).length;
    report.plannedTwice = [...planned.values()].filter((n) => n > 1).length;
    report.publishedTwice = [...published.values()].filter((n) => n > 1).length;
    for (const m of await store.listModels()) {
      for (const v of await store.versionsOf(m.id)) {
        const path = join(v.dir, 'manifest.json');
        if (v.weights_deleted_at !== null) continue;
        if (!existsSync(path) || (JSON.parse(await readFile(path, 'utf8')) as { modelHash: string }).modelHash !== v.id) report.halfPublished++;
      }
      if (m.current_version && !(await store.version(m.current_version))) report.halfPublished++;
    }
    const heads: SignedTreeHead[] = (await store.treeHeads()).map((r) => JSON.parse(r.signature));
    const lv = await verifyLog(entries, heads, jwks);
    report.log = { ok: lv.ok, size: lv.size, problems: lv.problems.length };
  } finally {
    await store.close();
  }
  report.pointsNotKilled = PROBE_POINTS.filter((p) => !report.kills.job[p]);
  report.seconds = (Date.now() - t0) / 1000;
  return report;
}
