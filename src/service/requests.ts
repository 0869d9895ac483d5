/**
 * Deletion-request operations behind the HTTP API: intake (durable before the 202, with
 * Idempotency-Key semantics), reading with the requester's visibility rule, the requester's
 * decision on the proposed terms, and deadline extensions.
 */
import { createHash } from 'node:crypto';
import { UnlearnError } from '../errors.js';
import type { Transaction } from 'kysely';
import { GroupCommit, type Outcome } from '../store/groupCommit.js';
import type { Database } from '../store/schema.js';
import { newId, type RequestRow } from '../store/store.js';
import type { Principal } from './auth.js';
import { subjectPseudonym, type ServiceContext } from './context.js';
import { canonicalJson } from './evidence/canonical.js';
import { ruleFor, type Purpose } from './evidence/policy.js';
import { checkExtension, deadlineOf, transition } from './lifecycle.js';
import { FieldError } from './problem.js';

/** The body of POST /v1/deletion-requests (validated by schemas.ts). */
export interface SubmitBody {
  subject?: string;
  exampleIds?: string[];
  purpose: Purpose;
  requestedGuarantee?: string;
  models?: string[];
  note?: string;
}

/** The 202 answer of an accepted intake. */
export interface Receipt {
  id: string;
  status: string;
  statusUrl: string;
  deadline: string;
  receivedAt: string;
}

const IDEM_RE = /^[\x21-\x7e]{1,200}$/;

/** The result of one intake: the status and receipt to answer, and whether it replays an earlier one. */
export interface Submitted {
  status: number;
  receipt: Receipt;
  replayed: boolean;
}

/** One validated intake waiting for its batch. */
interface Intake {
  who: Principal;
  body: SubmitBody;
  subject: string | null;
  idempotencyKey: string | undefined;
  bodySha: string;
  now: number;
  deadline: number;
}

/**
 * File a deletion request. The request row, its `request.received` log entry, its planning job
 * and the idempotency key commit in one transaction before this returns; concurrent intakes
 * share that transaction (group commit, {@link intakeQueue}), each answered only once it has
 * committed. A replayed key with the same body returns the first receipt; with another body → 422.
 * @throws FieldError FORBIDDEN (a requester naming a subject it is not bound to; the attempt is
 *   logged), INVALID_PARAMS (bad idempotency key, key reused with another body).
 */
export async function submitRequest(ctx: ServiceContext, who: Principal, body: SubmitBody, idempotencyKey: string | undefined): Promise<Submitted> {
  if (idempotencyKey !== undefined && !IDEM_RE.test(idempotencyKey)) {
    throw new FieldError('INVALID_PARAMS', '/header/idempotency-key', 'Idempotency-Key must be 1..200 visible ASCII characters', 'send a UUID or another short token');
  }
  const subject = body.subject !== undefined ? subjectPseudonym(ctx, body.subject) : null;
  if (who.role === 'requester') {
    if (body.exampleIds) throw new FieldError('FORBIDDEN', '/body/exampleIds', 'requester tokens name a subject, not example ids', 'send {"subject": …} for a subject you are bound to');
    if (!who.subjects.includes(subject!)) {
      await ctx.store.tx((t) => ctx.ledger.append(t, { type: 'auth.forbidden', data: { token: who.tokenId, subject, action: 'deletion-request' } }));
      throw new FieldError('FORBIDDEN', '/body/subject', 'this token may not request deletion for that subject', 'ask the operator to bind the subject to your token');
    }
  }
  const now = ctx.now();
  const item: Intake = { who, body, subject, idempotencyKey, bodySha: createHash('sha256').update(canonicalJson(body)).digest('hex'), now, deadline: deadlineOf(now, ruleFor(ctx.policy, body.purpose).deadlineDays) };
  const queue = intakeQueue(ctx);
  try {
    return await queue.submit(item);
  } catch (e) {
    // Two first uses of one key by two processes at once: the loser's insert hits the primary
    // key (its batch is then retried item by item); replay the winner's answer.
    if (idempotencyKey !== undefined && !(e instanceof UnlearnError) && (await ctx.store.idempotency(who.tokenId, idempotencyKey))) return queue.submit(item);
    throw e;
  }
}

const queues = new WeakMap<ServiceContext, GroupCommit<Intake, Submitted>>();

/** The intake group-commit queue of a service (one per context). */
export function intakeQueue(ctx: ServiceContext): GroupCommit<Intake, Submitted> {
  let q = queues.get(ctx);
  if (!q) queues.set(ctx, (q = new GroupCommit(ctx.store, (t, items) => commitIntakes(ctx, t, items))));
  return q;
}

/**
 * Write a batch of intakes in transaction `t`: answer the replays and key conflicts first (from
 * the stored keys and from earlier items of the same batch), then insert the new requests, their
 * log entries (in batch order, one hash chain), their planning jobs and their keys, one
 * multi-row statement per table.
 */
async function commitIntakes(ctx: ServiceContext, t: Transaction<Database>, items: Intake[]): Promise<Outcome<Submitted>[]> {
  const keyOf = (i: Intake) => `${i.who.tokenId}\n${i.idempotencyKey}`;
  const keyed = items.filter((i) => i.idempotencyKey !== undefined);
  const seen = new Map<string, { bodySha: string; answer: Submitted }>();
  for (const r of await ctx.store.idempotencyMany(keyed.map((i) => ({ tokenId: i.who.tokenId, key: i.idempotencyKey! })), t)) {
    seen.set(`${r.token_id}\n${r.key}`, { bodySha: r.body_sha256, answer: { status: r.status, receipt: JSON.parse(r.response) as Receipt, replayed: true } });
  }
  const fresh: { item: Intake; row: RequestRow; receipt: Receipt }[] = [];
  const outcomes = items.map((item): Outcome<Submitted> => {
    const prior = item.idempotencyKey !== undefined ? seen.get(keyOf(item)) : undefined;
    if (prior) {
      if (prior.bodySha !== item.bodySha) return { ok: false, error: new FieldError('INVALID_PARAMS', '/header/idempotency-key', 'this Idempotency-Key was used with another body', 'use a new key for a new request') };
      return { ok: true, value: { ...prior.answer, replayed: true } };
    }
    const { who, body, subject, now, deadline } = item;
    const id = newId('dr');
    const row: RequestRow = {
      id, token_id: who.tokenId, subject, example_ids: body.exampleIds ? JSON.stringify([...new Set(body.exampleIds)].sort()) : null, purpose: body.purpose, requested_guarantee: body.requestedGuarantee ?? null, models: body.models ? JSON.stringify(body.models) : null, note: body.note ?? null,
      status: 'received', policy_sha256: ctx.policySha256, received_at: now, deadline_at: deadline, extended_deadline_at: null, terms: null, reason: null, certificate: null, completed_at: null, updated_at: now, revision: 0,
    };
    const receipt: Receipt = { id, status: 'received', statusUrl: `/v1/deletion-requests/${id}`, deadline: new Date(deadline).toISOString(), receivedAt: new Date(now).toISOString() };
    fresh.push({ item, row, receipt });
    if (item.idempotencyKey !== undefined) seen.set(keyOf(item), { bodySha: item.bodySha, answer: { status: 202, receipt, replayed: true } });
    return { ok: true, value: { status: 202, receipt, replayed: false } };
  });
  if (fresh.length) {
    await ctx.store.insertRequest(fresh.map((f) => f.row), t);
    await ctx.ledger.appendMany(t, fresh.map(({ item: { body, subject, now, deadline }, row }) => ({ now, entry: { type: 'request.received', requestId: row.id, data: { to: 'received', purpose: body.purpose, subject, exampleIds: body.exampleIds?.length ?? null, requestedGuarantee: body.requestedGuarantee ?? null, policySha256: ctx.policySha256, deadline: new Date(deadline).toISOString() } } })));
    await ctx.store.enqueueJobs(fresh.map((f) => ({ kind: 'plan', dedupeKey: `plan:${f.row.id}`, payload: { requestId: f.row.id }, maxAttempts: 5, runAfter: f.item.now })), fresh[0]!.item.now, t);
    const keys = fresh.filter((f) => f.item.idempotencyKey !== undefined);
    await ctx.store.insertIdempotency(keys.map(({ item, row, receipt }) => ({ token_id: item.who.tokenId, key: item.idempotencyKey!, body_sha256: item.bodySha, request_id: row.id, response: JSON.stringify(receipt), status: 202, created_at: item.now })), t);
  }
  return outcomes;
}

/**
 * The request `id` as `who` may see it. A requester sees only requests it filed: another's id
 * is answered as not found, never confirming it exists.
 * @throws UnlearnError NOT_FOUND
 */
export async function visibleRequest(ctx: ServiceContext, who: Principal, id: string): Promise<RequestRow> {
  const r = await ctx.store.request(id);
  if (!r || (who.role === 'requester' && r.token_id !== who.tokenId)) throw new FieldError('NOT_FOUND', '/path/id', `no deletion request ${id}`, 'list your requests with GET /v1/deletion-requests');
  return r;
}

/** The JSON view of a request with its plans. */
export async function requestView(ctx: ServiceContext, r: RequestRow) {
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  const plans = await ctx.store.plansOf(r.id);
  return {
    id: r.id,
    status: r.status,
    subject: r.subject,
    exampleIds: r.example_ids ? (JSON.parse(r.example_ids) as string[]).length : null,
    purpose: r.purpose,
    requestedGuarantee: r.requested_guarantee,
    models: r.models ? (JSON.parse(r.models) as string[]) : null,
    policySha256: r.policy_sha256,
    receivedAt: iso(r.received_at)!,
    deadline: iso(r.deadline_at)!,
    extendedDeadline: iso(r.extended_deadline_at),
    terms: r.terms ? (JSON.parse(r.terms) as Record<string, unknown>) : null,
    reason: r.reason,
    completedAt: iso(r.completed_at),
    hasCertificate: r.certificate !== null,
    plans: plans.map((p) => ({ model: p.model_id, version: p.version_id, method: p.method, guarantee: p.guarantee, estimateSeconds: p.estimate_seconds, actualSeconds: p.actual_seconds, status: p.status, outputVersion: p.output_version, alternatives: JSON.parse(p.alternatives) })),
  };
}

/** Decode a list cursor (base64url JSON of the last row's time and id). @throws FieldError INVALID_ARGS */
export function decodeCursor(c: string): { receivedAt: number; id: string } {
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as { t: number; i: string };
    if (Number.isSafeInteger(v.t) && typeof v.i === 'string' && v.i.length <= 64) return { receivedAt: v.t, id: v.i };
  } catch {
    /* fall through */
  }
  throw new FieldError('INVALID_ARGS', '/query/cursor', 'cursor is not one this service returned', 'pass nextCursor from the previous page');
}

export const encodeCursor = (r: RequestRow) => Buffer.from(JSON.stringify({ t: r.received_at, i: r.id })).toString('base64url');

/**
 * The requester's (or operator's) decision on the proposed terms.
 * @throws UnlearnError CONFLICT when the request is not awaiting a decision.
 */
export async function decide(ctx: ServiceContext, who: Principal, id: string, accept: boolean, reason?: string): Promise<RequestRow> {
  const r = await visibleRequest(ctx, who, id);
  return ctx.store.tx(async (t) => {
    const cur = (await ctx.store.request(id, t))!;
    const terms = cur.terms ? (JSON.parse(cur.terms) as Record<string, unknown>) : null;
    if (!terms || terms.acceptedAt || !['planned', 'extended'].includes(cur.status)) {
      throw new UnlearnError('CONFLICT', `request ${r.id} is ${cur.status}: there are no open terms to ${accept ? 'accept' : 'reject'}`, 'only planned requests (or extended ones not yet accepted) take a decision');
    }
    const now = ctx.now();
    const to = accept ? 'accepted' : 'rejected';
    const patch = accept ? { terms: JSON.stringify({ ...terms, acceptedAt: new Date(now).toISOString(), acceptedBy: who.role }) } : {};
    if (!accept) await ctx.store.updatePlans((await ctx.store.plansOf(id, t)).map((p) => p.id), { status: 'cancelled' }, t);
    return (await transition(t, ctx.ledger, cur, to, { actor: who.tokenId, reason, patch, now })).row;
  });
}

/** Extend a request's deadline (operator): GDPR Art. 12(3) rules in lifecycle.ts. */
export async function extendRequest(ctx: ServiceContext, who: Principal, id: string, days: number, reason: string): Promise<RequestRow> {
  await visibleRequest(ctx, who, id);
  return ctx.store.tx(async (t) => {
    const cur = (await ctx.store.request(id, t))!;
    const now = ctx.now();
    const extended = checkExtension(cur, days, reason, now);
    return (await transition(t, ctx.ledger, cur, 'extended', { actor: who.tokenId, reason, patch: { extended_deadline_at: extended }, facts: { newDeadline: new Date(extended).toISOString(), days }, now })).row;
  });
}
