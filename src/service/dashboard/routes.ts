/**
 * The web dashboard of the service: server-rendered page shells at `/` (sign in), `/requester`,
 * `/operator` and `/auditor`, with a little vanilla JavaScript (static/app.js) that calls the
 * JSON API with the signed-in token. Every asset comes from this package: the page script and
 * style from static/, jose's browser build (certificate and tree-head signatures, verified with
 * WebCrypto Ed25519) from node_modules; no external network. Also the few read endpoints the
 * pages need beyond the API of app.ts: who am I, the queue and workers, the log's records, one
 * request's own log records with their proofs (what a requester needs to check a certificate
 * against the live log), the trade-off plot (Vega-Lite rendered to SVG here).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { TopLevelSpec } from 'vega-lite';
import type { QueueStatus } from '../../jobs/bull.js';
import { renderSvg } from '../../report/html.js';
import { requireRole, type Principal } from '../auth.js';
import type { ServiceContext } from '../context.js';
import { parseRecord } from '../evidence/log.js';
import { consistencyProof, fromHex, inclusionProof, rootFromLeafHashes, toB64u } from '../evidence/merkle.js';
import { FieldError } from '../problem.js';
import { visibleRequest } from '../requests.js';
import { REQUEST_ID_RE } from '../schemas.js';

const STATIC = join(dirname(fileURLToPath(import.meta.url)), 'static');
const JOSE = dirname(createRequire(import.meta.url).resolve('jose'));
const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };

/** The pages: path, title, and which role they are for. */
export const PAGES = [
  { path: '/', id: 'signin', title: 'Sign in' },
  { path: '/requester', id: 'requester', title: 'My deletion requests' },
  { path: '/operator', id: 'operator', title: 'Operations' },
  { path: '/auditor', id: 'auditor', title: 'Audit' },
] as const;

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The HTML shell of one page (the script fills `<main>`). */
export function pageHtml(page: (typeof PAGES)[number]): string {
  const nav = PAGES.map((p) => `<a href="${p.path}"${p.id === page.id ? ' aria-current="page"' : ''}>${esc(p.title)}</a>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(page.title)} · Unlearn</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/ui/style.css">
<script type="importmap">{"imports":{"jose":"/ui/vendor/jose/index.js"}}</script>
<script type="module" src="/ui/app.js"></script></head>
<body data-page="${page.id}"><header><strong>Unlearn</strong> deletion requests <nav aria-label="pages">${nav}</nav>
<span id="who" aria-live="polite"></span> <button type="button" id="signout" hidden>Sign out</button></header>
<main id="main" tabindex="-1"><h1>${esc(page.title)}</h1><noscript>This page needs JavaScript.</noscript></main>
<div id="status" role="status" aria-live="polite"></div></body></html>`;
}

/** What the routes need besides the context. */
export interface DashboardOptions {
  ctx: ServiceContext;
  /** BullMQ queues and workers, when the service dispatches to `unlearn worker`s. */
  queueStatus?: () => Promise<QueueStatus>;
}

type Env = { Variables: { who: Principal } };

/** Add the pages, their assets and their read endpoints to the service's app. */
export function mountDashboard(app: OpenAPIHono<Env>, o: DashboardOptions): void {
  const { ctx } = o;
  for (const p of PAGES) app.get(p.path, (c) => c.html(pageHtml(p)));
  app.get('/ui/*', async (c) => {
    const rel = c.req.path.slice('/ui/'.length);
    const [root, file] = rel.startsWith('vendor/jose/') ? [JOSE, rel.slice('vendor/jose/'.length)] : [STATIC, rel];
    const path = normalize(join(root, file));
    const type = TYPES[extname(path)];
    if (!path.startsWith(root + sep) || !type) throw new FieldError('NOT_FOUND', '/path', `no asset ${rel}`, 'see the page source');
    const body = await readFile(path).catch(() => undefined);
    if (!body) throw new FieldError('NOT_FOUND', '/path', `no asset ${rel}`, 'see the page source');
    return c.body(body, 200, { 'content-type': type, 'cache-control': 'no-cache' });
  });

  app.get('/v1/whoami', (c) => {
    const who = c.get('who');
    return c.json({ role: who.role, subjects: who.subjects });
  });

  app.get('/v1/queue', async (c) => {
    requireRole(c.get('who'), 'operator');
    const jobs = await ctx.store.db.selectFrom('jobs').select(['id', 'kind', 'status', 'attempts', 'max_attempts', 'lease_owner', 'lease_expires_at', 'error', 'created_at', 'updated_at']).orderBy('created_at', 'desc').limit(50).execute();
    const counts: Record<string, number> = {};
    for (const r of await ctx.store.db.selectFrom('jobs').select(['status']).select((eb) => eb.fn.countAll<number>().as('n')).groupBy('status').execute()) counts[r.status] = Number(r.n);
    return c.json({
      backend: o.queueStatus ? 'bullmq' : 'in-process',
      table: { counts, recent: jobs.map((j) => ({ ...j, created_at: new Date(Number(j.created_at)).toISOString(), updated_at: new Date(Number(j.updated_at)).toISOString() })) },
      bullmq: o.queueStatus ? await o.queueStatus().catch((e: Error) => ({ error: `Redis unreachable: ${e.message}` })) : null,
    });
  });

  app.get('/v1/log/records', async (c) => {
    requireRole(c.get('who'), 'auditor', 'operator');
    const size = await ctx.store.logSize();
    const from = Math.max(0, Number(c.req.query('from') ?? 0) | 0);
    const to = Math.min(size, Math.max(from, Number(c.req.query('to') ?? size) | 0));
    const rows = await ctx.store.logEntries(from, to);
    return c.json({ size, from, to, records: rows.map((r) => r.entry) });
  });

  app.get('/v1/deletion-requests/:id/log', async (c) => {
    const id = c.req.param('id');
    if (!REQUEST_ID_RE.test(id)) throw new FieldError('NOT_FOUND', '/path/id', `no deletion request ${id}`, 'list your requests with GET /v1/deletion-requests');
    const r = await visibleRequest(ctx, c.get('who'), id); // 404 for another requester's request
    return c.json(await requestLog(ctx, r.id, r.certificate));
  });

  app.get('/v1/plots/tradeoff.svg', async (c) => {
    requireRole(c.get('who'), 'operator', 'auditor');
    const svg = await renderSvg(tradeoffSpec(await tradeoffRows(ctx)));
    return c.body(svg, 200, { 'content-type': 'image/svg+xml' });
  });
}

/** A request's log records, each with its inclusion proof in the tree of the current signed tree head. */
export interface RequestLog {
  requestId: string;
  /** The signed head of the log as it is now; every proof below is against it. */
  treeHead: { treeSize: number; rootHash: string; timestamp: string; signature: string };
  /** Records whose `requestId` is this request, oldest first: the canonical JSON bytes as stored, the RFC 9162 leaf hash and the audit path (base64url). */
  records: { index: number; record: string; leafHash: string; proof: string[] }[];
  /** With a certificate: the RFC 9162 consistency proof from the tree head the certificate carries to {@link RequestLog.treeHead} (the log only grew since). */
  consistency: { from: number; to: number; fromRoot: string; toRoot: string; proof: string[] } | null;
}

/**
 * The log records of one request with inclusion proofs against the current signed tree head, and
 * (when it has a certificate) the consistency proof from the certificate's tree head to it. This
 * is what a requester, who may not read the whole log, needs to check their certificate against
 * the live log: the record the certificate carries is still entry `index`, it is included in the
 * tree the service signs now, and that tree extends the one the certificate was issued against.
 */
export async function requestLog(ctx: ServiceContext, requestId: string, certificate: string | null): Promise<RequestLog> {
  const treeHead = await ctx.ledger.treeHead();
  // Canonical JSON has no spaces, so the record's own requestId appears as this substring; the parse below drops look-alikes (a requestId nested in data).
  const rows = await ctx.store.db.selectFrom('log_entries').select(['idx', 'entry']).where('idx', '<', treeHead.treeSize).where('entry', 'like', `%"requestId":"${requestId}"%`).orderBy('idx').execute();
  const hashes = (await ctx.store.logLeafHashes(0, treeHead.treeSize)).map(fromHex);
  if (toB64u(rootFromLeafHashes(hashes)) !== treeHead.rootHash) throw new Error(`log of ${treeHead.treeSize} entries does not hash to its signed tree head`);
  const records: RequestLog['records'] = [];
  for (const row of rows) {
    if (parseRecord(row.entry)?.requestId !== requestId) continue;
    const index = Number(row.idx);
    records.push({ index, record: row.entry, leafHash: toB64u(hashes[index]!), proof: inclusionProof(hashes, index).map(toB64u) });
  }
  let consistency: RequestLog['consistency'] = null;
  if (certificate) {
    const claims = JSON.parse(Buffer.from(certificate.split('.')[1] ?? '', 'base64url').toString('utf8')) as { treeHead?: { treeSize?: number } };
    const from = claims.treeHead?.treeSize;
    if (Number.isSafeInteger(from) && from! >= 1 && from! <= treeHead.treeSize) {
      consistency = { from: from!, to: treeHead.treeSize, fromRoot: toB64u(rootFromLeafHashes(hashes.slice(0, from))), toRoot: treeHead.rootHash, proof: consistencyProof(hashes, from!).map(toB64u) };
    }
  }
  return { requestId, treeHead, records, consistency };
}

/** One point of the trade-off plot: a completed model deletion. */
export interface TradeoffRow {
  method: string;
  path: string;
  /** Measured wall seconds of the job. */
  costSeconds: number;
  estimateSeconds: number;
  /** Test accuracy of the new version (utility), forget accuracy (forgetting: lower is more), in [0, 1]. */
  TA: number | null;
  FA: number | null;
  miaAuc: number | null;
}

/** Rows of the trade-off plot from the certificates of completed requests (their figures carry the job's evaluation). */
export async function tradeoffRows(ctx: ServiceContext): Promise<TradeoffRow[]> {
  const reqs = await ctx.store.db.selectFrom('deletion_requests').select(['id', 'certificate']).where('certificate', 'is not', null).execute();
  const rows: TradeoffRow[] = [];
  for (const r of reqs) {
    const claims = JSON.parse(Buffer.from(r.certificate!.split('.')[1]!, 'base64url').toString('utf8')) as { models?: { model: string; method: string; path: string; figures: { metrics?: { TA: number; FA: number; miaAuc: number } } }[] };
    const plans = await ctx.store.plansOf(r.id);
    for (const m of claims.models ?? []) {
      const p = plans.find((x) => x.model_id === m.model);
      if (!p || p.actual_seconds === null) continue;
      const e = m.figures.metrics;
      rows.push({ method: m.method, path: m.path, costSeconds: p.actual_seconds, estimateSeconds: p.estimate_seconds, TA: e?.TA ?? null, FA: e?.FA ?? null, miaAuc: Number.isFinite(e?.miaAuc) ? e!.miaAuc : null });
    }
  }
  return rows;
}

/** Vega-Lite: cost (x, log) × utility (TA, y) with forgetting (FA) as colour and the method as shape. */
export function tradeoffSpec(rows: TradeoffRow[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: rows.length ? 'Completed deletions: cost × utility × forgetting' : 'No completed deletions yet',
    width: 420,
    height: 260,
    data: { values: rows as unknown as Record<string, unknown>[] },
    mark: { type: 'point', filled: true, size: 90 },
    encoding: {
      x: { field: 'costSeconds', type: 'quantitative', title: 'actual cost (s)', scale: { type: 'log' } },
      y: { field: 'TA', type: 'quantitative', title: 'test accuracy after (utility)', scale: { zero: false } },
      color: { field: 'FA', type: 'quantitative', title: 'forget accuracy (forgetting)' },
      shape: { field: 'method', type: 'nominal', title: 'method' },
      tooltip: [{ field: 'method' }, { field: 'path' }, { field: 'costSeconds' }, { field: 'estimateSeconds' }, { field: 'TA' }, { field: 'FA' }, { field: 'miaAuc' }],
    },
  };
}
