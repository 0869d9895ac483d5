/**
 * The HTTP API of the deletion-request service (Hono + @hono/zod-openapi). The zod schemas of
 * schemas.ts validate every request and generate the OpenAPI 3.1 document at `/openapi.json`.
 * Every error is RFC 9457 problem+json naming the field (problem.ts).
 */
import { OpenAPIHono, createRoute, type RouteConfig, type z } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { UnlearnError } from '../errors.js';
import { authenticate, requireRole, type Principal, type RateLimiter } from './auth.js';
import { subjectPseudonym, type ServiceContext } from './context.js';
import { FieldError, problemOf, problemResponse } from './problem.js';
import { registerModel } from './registry.js';
import { decide, decodeCursor, encodeCursor, extendRequest, requestView, submitRequest, visibleRequest } from './requests.js';
import * as S from './schemas.js';

/** What the app needs besides the shared context. */
export interface AppOptions {
  ctx: ServiceContext;
  limiter: RateLimiter;
  /** Largest accepted request body, bytes (default 64 KiB). */
  bodyLimitBytes?: number;
  /** Readiness: the database answers and the job runner is up. */
  ready: () => Promise<boolean>;
}

type Env = { Variables: { who: Principal } };

const TARGET_PART: Record<string, string> = { json: 'body', query: 'query', param: 'path', header: 'header', form: 'body' };

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
const problem = (description: string) => ({ content: { 'application/problem+json': { schema: S.Problem } }, description });
const ERRORS = {
  400: problem('malformed request (JSON, cursor, header)'),
  401: problem('missing, unknown, expired or revoked token'),
  403: problem('the token lacks the role, or names a subject it is not bound to'),
  404: problem('not found (or not yours)'),
  413: problem('body larger than the limit'),
  422: problem('a field is invalid; `field` names it'),
  429: problem('rate limit of the token exceeded'),
};
const secured = [{ bearer: [] as string[] }];

const route = <R extends RouteConfig>(r: R) => createRoute({ security: secured, ...r, responses: { ...ERRORS, ...r.responses } });

/** Build the app. */
export function createApp(o: AppOptions): { app: OpenAPIHono<Env>; registry: Registry } {
  const { ctx } = o;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const httpRequests = new Counter({ name: 'unlearn_http_requests_total', help: 'HTTP requests by route, method and status', labelNames: ['route', 'method', 'status'], registers: [registry] });
  const httpSeconds = new Histogram({ name: 'unlearn_http_request_duration_seconds', help: 'HTTP request duration', labelNames: ['route', 'method'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [registry] });
  new Gauge({
    name: 'unlearn_deletion_requests',
    help: 'Deletion requests by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const rows = await ctx.store.db.selectFrom('deletion_requests').select(['status']).select((eb) => eb.fn.countAll<number>().as('n')).groupBy('status').execute();
      this.reset();
      for (const r of rows) this.set({ status: r.status }, Number(r.n));
    },
  });
  new Gauge({
    name: 'unlearn_jobs',
    help: 'Jobs by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const rows = await ctx.store.db.selectFrom('jobs').select(['status']).select((eb) => eb.fn.countAll<number>().as('n')).groupBy('status').execute();
      this.reset();
      for (const r of rows) this.set({ status: r.status }, Number(r.n));
    },
  });
  new Gauge({ name: 'unlearn_log_size', help: 'Entries in the transparency log', registers: [registry], async collect() { this.set(await ctx.store.logSize()); } });

  const app = new OpenAPIHono<Env>({
    defaultHook: (result) => {
      if (result.success) return;
      const issue = result.error.issues[0]!;
      const part = TARGET_PART[result.target] ?? result.target;
      const keys = issue.code === 'unrecognized_keys' ? (issue as { keys: string[] }).keys : [];
      const path = [...issue.path.map(String), ...keys.slice(0, 1)];
      const what = issue.code === 'unrecognized_keys' ? `unknown field ${keys.map((k) => JSON.stringify(k)).join(', ')}` : issue.message;
      throw new FieldError('INVALID_PARAMS', `/${part}${path.length ? '/' + path.join('/') : ''}`, `${part}${path.length ? ' ' + path.join('.') : ''}: ${what}`, 'see /openapi.json for the schema');
    },
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'ul_… token from `unlearn tokens create`' });

  app.onError((e, c) => {
    if (e instanceof HTTPException) {
      const field = e.status === 400 ? '/body' : undefined;
      const err = e.status === 413 ? new FieldError('PAYLOAD_TOO_LARGE', '/body', e.message || 'body too large', `send at most ${o.bodyLimitBytes ?? 65536} bytes`) : new FieldError('INVALID_ARGS', field ?? '/', e.message || 'bad request', 'send a JSON body with Content-Type: application/json');
      return problemResponse(problemOf(err));
    }
    const p = problemOf(e);
    if (p.status >= 500) console.error(`unlearn serve: ${c.req.method} ${c.req.path}: ${(e as Error)?.stack ?? e}`);
    const headers: Record<string, string> = p.status === 401 ? { 'www-authenticate': 'Bearer' } : {};
    if (e instanceof UnlearnError && e.code === 'RATE_LIMITED') headers['retry-after'] = e.hint?.match(/\d+/)?.[0] ?? '1';
    return problemResponse(p, headers);
  });
  app.notFound((c) => problemResponse(problemOf(new FieldError('NOT_FOUND', '/path', `no route ${c.req.method} ${c.req.path}`, 'see /openapi.json'))));

  app.use('*', async (c, next) => {
    const t0 = performance.now();
    await next();
    const r = c.req.routePath || 'unmatched';
    httpRequests.inc({ route: r, method: c.req.method, status: String(c.res.status) });
    httpSeconds.observe({ route: r, method: c.req.method }, (performance.now() - t0) / 1000);
  });
  app.use('/v1/*', bodyLimit({ maxSize: o.bodyLimitBytes ?? 65536, onError: () => { throw new FieldError('PAYLOAD_TOO_LARGE', '/body', `body larger than ${o.bodyLimitBytes ?? 65536} bytes`, 'send a smaller body'); } }));
  app.use('/v1/*', async (c, next) => {
    if (c.req.path === '/v1/keys') return next();
    const who = await authenticate(ctx.store, c.req.header('authorization'), ctx.now());
    const wait = o.limiter.take(who.tokenId);
    if (wait > 0) throw new UnlearnError('RATE_LIMITED', 'rate limit of this token exceeded', `retry after ${wait} s`);
    if (c.req.method === 'POST') {
      const type = c.req.header('content-type') ?? '';
      const hasBody = c.req.header('content-length') !== '0' && (c.req.header('content-length') !== undefined || c.req.header('transfer-encoding') !== undefined);
      if (hasBody && !/^application\/json\b/i.test(type)) throw new FieldError('INVALID_ARGS', '/header/content-type', `Content-Type ${type || '(none)'} is not application/json`, 'send Content-Type: application/json');
    }
    c.set('who', who);
    await next();
  });

  // ---------------------------------------------------------------- deletion requests
  app.openapi(
    route({ method: 'post', path: '/v1/deletion-requests', summary: 'File a deletion request', request: { body: { content: { 'application/json': { schema: S.CreateDeletionRequest } }, required: true }, headers: S.IdempotencyHeader }, responses: { 202: json(S.Accepted, 'received and durably recorded') } }),
    async (c) => {
      const who = c.get('who');
      requireRole(who, 'requester', 'operator');
      const r = await submitRequest(ctx, who, c.req.valid('json'), c.req.header('idempotency-key'));
      return c.json(r.receipt, 202, { location: r.receipt.statusUrl, ...(r.replayed && { 'idempotent-replayed': 'true' }) });
    },
  );
  app.openapi(route({ method: 'get', path: '/v1/deletion-requests', summary: 'List deletion requests (cursor pagination)', request: { query: S.ListQuery }, responses: { 200: json(S.DeletionRequestPage, 'a page') } }), async (c) => {
    const who = c.get('who');
    const q = c.req.valid('query');
    const limit = q.limit ?? 20;
    const rows = await ctx.store.listRequests({ tokenId: who.role === 'requester' ? who.tokenId : undefined, status: q.status, purpose: q.purpose, cursor: q.cursor ? decodeCursor(q.cursor) : undefined, limit: limit + 1 });
    const page = rows.slice(0, limit);
    return c.json({ items: await Promise.all(page.map((r) => requestView(ctx, r))), nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]) : null } as never, 200);
  });
  app.openapi(route({ method: 'get', path: '/v1/deletion-requests/{id}', summary: 'One deletion request with its terms and plans', request: { params: S.RequestIdParam }, responses: { 200: json(S.DeletionRequestView, 'the request') } }), async (c) => {
    const r = await visibleRequest(ctx, c.get('who'), c.req.valid('param').id);
    return c.json((await requestView(ctx, r)) as never, 200);
  });
  for (const action of ['accept', 'reject'] as const) {
    app.openapi(route({ method: 'post', path: `/v1/deletion-requests/{id}/${action}`, summary: `${action === 'accept' ? 'Accept' : 'Reject'} the proposed terms`, request: { params: S.RequestIdParam, body: { content: { 'application/json': { schema: S.Decision } }, required: false } }, responses: { 200: json(S.DeletionRequestView, 'the request after the decision'), 409: problem('the request is not awaiting a decision') } }), async (c) => {
      const who = c.get('who');
      requireRole(who, 'requester', 'operator');
      const body = (c.req.valid('json') as { reason?: string } | undefined) ?? {};
      const r = await decide(ctx, who, c.req.valid('param').id, action === 'accept', body.reason);
      return c.json((await requestView(ctx, r)) as never, 200);
    });
  }
  app.openapi(route({ method: 'post', path: '/v1/deletion-requests/{id}/extend', summary: 'Extend the deadline (GDPR Art. 12(3), operator)', request: { params: S.RequestIdParam, body: { content: { 'application/json': { schema: S.Extension } }, required: true } }, responses: { 200: json(S.DeletionRequestView, 'the extended request'), 409: problem('already extended or past the first month') } }), async (c) => {
    const who = c.get('who');
    requireRole(who, 'operator');
    const b = c.req.valid('json');
    const r = await extendRequest(ctx, who, c.req.valid('param').id, b.days, b.reason);
    return c.json((await requestView(ctx, r)) as never, 200);
  });
  app.openapi(route({ method: 'get', path: '/v1/deletion-requests/{id}/certificate', summary: 'The signed certificate (compact JWS)', request: { params: S.RequestIdParam }, responses: { 200: json(S.CertificateView, 'the certificate') } }), async (c) => {
    const r = await visibleRequest(ctx, c.get('who'), c.req.valid('param').id);
    if (!r.certificate) throw new FieldError('NOT_FOUND', '/path/id', `request ${r.id} is ${r.status}: no certificate yet`, 'wait until it is completed');
    return c.json({ id: r.id, certificate: r.certificate }, 200);
  });

  // ---------------------------------------------------------------- models
  app.openapi(route({ method: 'post', path: '/v1/models', summary: 'Register a model version (operator)', request: { body: { content: { 'application/json': { schema: S.RegisterModel } }, required: true } }, responses: { 201: json(S.VersionView, 'registered'), 200: json(S.VersionView, 'already registered'), 409: problem('conflicts with the model or with completed deletions') } }), async (c) => {
    requireRole(c.get('who'), 'operator');
    const r = await registerModel(ctx, c.req.valid('json'));
    return c.json(versionView(r.version, r.version.id) as never, r.inserted ? 201 : 200);
  });
  app.openapi(route({ method: 'get', path: '/v1/models', summary: 'Registered models', responses: { 200: json(S.ModelView.array(), 'models') } }), async (c) => {
    requireRole(c.get('who'), 'operator', 'auditor');
    return c.json((await ctx.store.listModels()).map((m) => ({ id: m.id, name: m.name, format: m.format, currentVersion: m.current_version })), 200);
  });
  app.openapi(route({ method: 'get', path: '/v1/models/{id}/versions', summary: 'The version graph of a model', request: { params: S.ModelIdParam }, responses: { 200: json(S.VersionGraph, 'versions and parent edges') } }), async (c) => {
    requireRole(c.get('who'), 'operator', 'auditor');
    const id = c.req.valid('param').id;
    const m = await ctx.store.model(id);
    if (!m) throw new FieldError('NOT_FOUND', '/path/id', `no model ${id}`, 'list models with GET /v1/models');
    const vs = await ctx.store.versionsOf(id);
    const ids = new Set(vs.map((v) => v.id));
    return c.json({ model: id, versions: vs.map((v) => versionView(v, m.current_version)), edges: vs.filter((v) => v.parent && ids.has(v.parent)).map((v) => ({ from: v.parent!, to: v.id })) } as never, 200);
  });
  app.openapi(route({ method: 'get', path: '/v1/subjects/{subject}/models', summary: 'Model versions holding a subject (operator)', request: { params: S.SubjectParam }, responses: { 200: json(S.SubjectModels, 'versions') } }), async (c) => {
    requireRole(c.get('who'), 'operator');
    const s = subjectPseudonym(ctx, c.req.valid('param').subject);
    const rows = await ctx.store.allVersionsWithSubject(s);
    return c.json({ subject: s, versions: rows.map((r) => ({ model: r.model_id, version: r.version_id, examples: r.examples, supersededBy: r.superseded_by })) }, 200);
  });

  // ---------------------------------------------------------------- log and keys
  app.openapi(route({ method: 'get', path: '/v1/log/tree-head', summary: 'The signed tree head', responses: { 200: json(S.TreeHeadView, 'signed tree head') } }), async (c) => c.json(await ctx.ledger.treeHead(), 200));
  app.openapi(route({ method: 'get', path: '/v1/log/inclusion', summary: 'Inclusion proof of a log entry', request: { query: S.InclusionQuery }, responses: { 200: json(S.InclusionView, 'inclusion proof') } }), async (c) => {
    const q = c.req.valid('query');
    return c.json(await logCall(() => ctx.ledger.log.inclusion(q.entry, q.size), '/query/entry'), 200);
  });
  app.openapi(route({ method: 'get', path: '/v1/log/consistency', summary: 'Consistency proof between two tree sizes', request: { query: S.ConsistencyQuery }, responses: { 200: json(S.ConsistencyView, 'consistency proof') } }), async (c) => {
    const q = c.req.valid('query');
    if (q.from > q.to) throw new FieldError('INVALID_PARAMS', '/query/from', `from ${q.from} is after to ${q.to}`, 'give from ≤ to');
    return c.json(await logCall(() => ctx.ledger.log.consistency(q.from, q.to), '/query/to'), 200);
  });
  app.openapi(createRoute({ method: 'get', path: '/v1/keys', summary: 'Public keys (JWK set), old keys included', responses: { 200: json(S.Jwks, 'JWK set') } }), (c) => c.json(ctx.ledger.jwks() as never, 200));
  app.openapi(route({ method: 'post', path: '/v1/noop', summary: 'Authenticated no-op (benchmark baseline)', request: { body: { content: { 'application/json': { schema: S.Noop } }, required: true } }, responses: { 200: json(S.Noop, 'nothing done') } }), (c) => c.json(c.req.valid('json'), 200));

  // ---------------------------------------------------------------- operations
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', async (c) => ((await o.ready().catch(() => false)) ? c.json({ ready: true }) : c.json({ ready: false }, 503)));
  app.get('/metrics', async (c) => c.body(await registry.metrics(), 200, { 'content-type': registry.contentType }));
  app.doc31('/openapi.json', { openapi: '3.1.0', info: { title: 'Unlearn deletion-request service', version: '1' } });
  return { app, registry };
}

/** Map the evidence layer's range errors to the query field. */
async function logCall<T>(f: () => Promise<T>, field: string): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof UnlearnError && e.code === 'INVALID_PARAMS') throw new FieldError('INVALID_PARAMS', field, e.message, e.hint);
    throw e;
  }
}

function versionView(v: import('../store/store.js').VersionRow, current: string | null) {
  return { id: v.id, parent: v.parent, format: v.format, guarantee: v.guarantee, method: v.method, examples: v.num_examples, wallSeconds: v.wall_seconds, supersededBy: v.superseded_by, weightsDeleted: v.weights_deleted_at !== null, createdAt: new Date(v.created_at).toISOString(), current: v.id === current };
}
