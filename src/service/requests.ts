/**
 * Deletion-request operations behind the HTTP API: intake (durable before the 202, with
 * Idempotency-Key semantics), reading with the requester's visibility rule, the requester's
 * decision on the proposed terms, and deadline extensions.
 */
import { createHash } from 'node:crypto';
import { UnlearnError } from '../errors.js';
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

/**
 * File a deletion request. The request row, its `request.received` log entry, its planning job
 * and the idempotency key commit in one transaction before this returns. A replayed key with the
 * same body returns the first receipt; with another body → 422.
 * @throws FieldError FORBIDDEN (a requester naming a subject it is not bound to; the attempt is
 *   logged), INVALID_PARAMS (bad idempotency key, key reused with another body).
 */
export async function submitRequest(ctx: ServiceContext, who: Principal, body: SubmitBody, idempotencyKey: string | undefined): Promise<{ status: number; receipt: Receipt; replayed: boolean }> {
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
  const bodySha = createHash('sha256').update(canonicalJson(body)).digest('hex');
  const now = ctx.now();
  const rule = ruleFor(ctx.policy, body.purpose);
  const run = async () =>
    ctx.store.tx(async (t) => {
      if (idempotencyKey !== undefined) {
        const prior = await ctx.store.idempotency(who.tokenId, idempotencyKey, t);
        if (prior) {
          if (prior.body_sha256 !== bodySha) throw new FieldError('INVALID_PARAMS', '/header/idempotency-key', 'this Idempotency-Key was used with another body', 'use a new key for a new request');
          return { status: prior.status, receipt: JSON.parse(prior.response) as Receipt, replayed: true };
        }
      }
      const id = newId('dr');
      const deadline = deadlineOf(now, rule.deadlineDays);
      const row: RequestRow = {
        id, token_id: who.tokenId, subject, example_ids: body.exampleIds ? JSON.stringify([...new Set(body.exampleIds)].sort()) : null, purpose: body.purpose, requested_guarantee: body.requestedGuarantee ?? null, models: body.models ? JSON.stringify(body.models) : null, note: body.note ?? null,
        status: 'received', policy_sha256: ctx.policySha256, received_at: now, deadline_at: deadline, extended_deadline_at: null, terms: null, reason: null, certificate: null, completed_at: null, updated_at: now, revision: 0,
      };
      await ctx.store.insertRequest(row, t);
      await ctx.ledger.append(t, { type: 'request.received', requestId: id, data: { to: 'received', purpose: body.purpose, subject, exampleIds: body.exampleIds?.length ?? null, requestedGuarantee: body.requestedGuarantee ?? null, policySha256: ctx.policySha256, deadline: new Date(deadline).toISOString() } }, now);
      await ctx.store.enqueueJob({ kind: 'plan', dedupeKey: `plan:${id}`, payload: { requestId: id }, maxAttempts: 5 }, now, t);
      const receipt: Receipt = { id, status: 'received', statusUrl: `/v1/deletion-requests/${id}`, deadline: new Date(deadline).toISOString(), receivedAt: new Date(now).toISOString() };
      if (idempotencyKey !== undefined) await ctx.store.insertIdempotency({ token_id: who.tokenId, key: idempotencyKey, body_sha256: bodySha, request_id: id, response: JSON.stringify(receipt), status: 202, created_at: now }, t);
      return { status: 202, receipt, replayed: false };
    });
  try {
    return await run();
  } catch (e) {
    // Two concurrent first uses of one key: the loser's insert hits the primary key; replay the winner's.
    if (idempotencyKey !== undefined && !(e instanceof UnlearnError) && (await ctx.store.idempotency(who.tokenId, idempotencyKey))) return run();
    throw e;
  }
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
