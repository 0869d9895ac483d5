/**
 * Bad input, table-driven: every case is a distinct bad request answered with its documented
 * 4xx status as RFC 9457 problem+json (and the field at fault where there is one). Then the two
 * offline checks: a certificate with one byte flipped and a log with one entry edited.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createToken } from './auth.js';
import { verifyCertificate } from './evidence/certificate.js';
import { verifyLog } from './evidence/log.js';
import { storeLogStorage } from './ledger.js';
import { testService, waitFor } from './testing.js';

interface Case {
  name: string;
  method?: string;
  path: string;
  /** Which token: a role name, 'none', or a literal Authorization header via `auth`. */
  as?: 'requester' | 'operator' | 'auditor' | 'other' | 'none' | 'expired' | 'revoked' | 'unknown';
  auth?: string;
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  field?: string;
}

describe('bad requests: each a documented 4xx problem+json', () => {
  let svc: Awaited<ReturnType<typeof testService>>;
  const tokens: Record<string, string> = {};
  let done = '';
  let others = '';
  before(async () => {
    svc = await testService();
    tokens.requester = await svc.token('requester', ['alice@example.org']);
    tokens.other = await svc.token('requester', ['bob@example.org']);
    tokens.operator = await svc.token('operator');
    tokens.auditor = await svc.token('auditor');
    tokens.expired = (await createToken(svc.ctx.store, { role: 'operator', expiresAt: Date.now() - 1000 })).secret;
    const rev = await createToken(svc.ctx.store, { role: 'operator' });
    await svc.ctx.store.revokeToken(rev.id, Date.now());
    tokens.revoked = rev.secret;
    tokens.unknown = 'ul_' + 'A'.repeat(43);
    // A request that completes at once (no model holds the subject), and one of another requester.
    done = ((await (await svc.api('/v1/deletion-requests', { method: 'POST', token: tokens.requester, body: { subject: 'alice@example.org', purpose: 'privacy' }, headers: { 'idempotency-key': 'used-key' } })).json()) as { id: string }).id;
    others = ((await (await svc.api('/v1/deletion-requests', { method: 'POST', token: tokens.other, body: { subject: 'bob@example.org', purpose: 'privacy' } })).json()) as { id: string }).id;
    await waitFor(async () => (await svc.ctx.store.request(done))?.status === 'completed', 'no-data completion');
  });
  after(async () => svc?.close());

  const R = '/v1/deletion-requests';
  const ok = { subject: 'alice@example.org', purpose: 'privacy' };
  const cases: Case[] = [
    { name: 'malformed JSON', method: 'POST', path: R, body: '{"purpose":', status: 400, field: '/body' },
    { name: 'unknown field', method: 'POST', path: R, body: { ...ok, extra: 1 }, status: 422, field: '/body/extra' },
    { name: 'oversized body', method: 'POST', path: R, body: { ...ok, note: 'x'.repeat(70_000) }, status: 413, field: '/body' },
    { name: 'missing token', method: 'POST', path: R, as: 'none', body: ok, status: 401 },
    { name: 'not a bearer token', method: 'POST', path: R, auth: 'Basic YWxpY2U6cHc=', body: ok, status: 401 },
    { name: 'unknown token', method: 'POST', path: R, as: 'unknown', body: ok, status: 401 },
    { name: 'expired token', method: 'GET', path: R, as: 'expired', status: 401 },
    { name: 'revoked token', method: 'GET', path: R, as: 'revoked', status: 401 },
    { name: 'auditor files a request (wrong role)', method: 'POST', path: R, as: 'auditor', body: ok, status: 403 },
    { name: 'requester registers a model (wrong role)', method: 'POST', path: '/v1/models', body: { id: 'm', dir: '/tmp' }, status: 403 },
    { name: 'requester lists models (wrong role)', path: '/v1/models', status: 403 },
    { name: 'requester asks which models hold a subject', path: '/v1/subjects/alice%40example.org/models', status: 403 },
    { name: "another requester's subject", method: 'POST', path: R, body: { subject: 'bob@example.org', purpose: 'privacy' }, status: 403, field: '/body/subject' },
    { name: 'requester names example ids', method: 'POST', path: R, body: { exampleIds: ['cps/1'], purpose: 'privacy' }, status: 403, field: '/body/exampleIds' },
    { name: "another requester's request id", path: `${R}/{others}`, status: 404, field: '/path/id' },
    { name: 'unknown request id', path: `${R}/dr_${'0'.repeat(32)}`, status: 404, field: '/path/id' },
    { name: 'SQL-ish request id', path: `${R}/${encodeURIComponent("dr_' OR 1=1 --")}`, status: 422, field: '/path/id' },
    { name: 'unicode request id', path: `${R}/${encodeURIComponent('dr_ü𝔘\u202e')}`, status: 422, field: '/path/id' },
    { name: 'replayed idempotency key, another body', method: 'POST', path: R, body: { ...ok, note: 'different' }, headers: { 'idempotency-key': 'used-key' }, status: 422, field: '/header/idempotency-key' },
    { name: 'idempotency key too long', method: 'POST', path: R, body: ok, headers: { 'idempotency-key': 'k'.repeat(201) }, status: 422, field: '/header/idempotency-key' },
    { name: 'negative page size', path: `${R}?limit=-1`, status: 422, field: '/query/limit' },
    { name: 'huge page size', path: `${R}?limit=1000000`, status: 422, field: '/query/limit' },
    { name: 'page size not a number', path: `${R}?limit=ten`, status: 422, field: '/query/limit' },
    { name: 'forged cursor', path: `${R}?cursor=bm90LWEtY3Vyc29y`, status: 400, field: '/query/cursor' },
    { name: 'unknown query parameter', path: `${R}?sort=desc`, status: 422, field: '/query/sort' },
    { name: 'unknown purpose', method: 'POST', path: R, body: { ...ok, purpose: 'revenge' }, status: 422, field: '/body/purpose' },
    { name: 'missing purpose', method: 'POST', path: R, body: { subject: 'alice@example.org' }, status: 422, field: '/body/purpose' },
    { name: 'subject and example ids both', method: 'POST', path: R, as: 'operator', body: { ...ok, exampleIds: ['cps/1'] }, status: 422, field: '/body/subject' },
    { name: 'neither subject nor example ids', method: 'POST', path: R, body: { purpose: 'privacy' }, status: 422, field: '/body/subject' },
    { name: 'empty subject', method: 'POST', path: R, body: { ...ok, subject: '' }, status: 422, field: '/body/subject' },
    { name: 'subject too long', method: 'POST', path: R, body: { ...ok, subject: 'a'.repeat(400) }, status: 422, field: '/body/subject' },
    { name: 'empty example id list', method: 'POST', path: R, as: 'operator', body: { exampleIds: [], purpose: 'privacy' }, status: 422, field: '/body/exampleIds' },
    { name: 'SQL-ish example id', method: 'POST', path: R, as: 'operator', body: { exampleIds: ["1'; DROP TABLE deletion_requests; --"], purpose: 'privacy' }, status: 422, field: '/body/exampleIds/0' },
    { name: 'unknown guarantee', method: 'POST', path: R, body: { ...ok, requestedGuarantee: 'perfect' }, status: 422, field: '/body/requestedGuarantee' },
    { name: 'malformed model id', method: 'POST', path: R, body: { ...ok, models: ['Bad Model!'] }, status: 422, field: '/body/models/0' },
    { name: 'note too long', method: 'POST', path: R, body: { ...ok, note: 'n'.repeat(2001) }, status: 422, field: '/body/note' },
    { name: 'wrong content type', method: 'POST', path: R, body: 'subject=alice', headers: { 'content-type': 'text/plain' }, status: 400, field: '/header/content-type' },
    { name: 'body is a JSON array', method: 'POST', path: R, body: '[1,2]', status: 422, field: '/body' },
    { name: 'purpose of the wrong type', method: 'POST', path: R, body: { ...ok, purpose: 7 }, status: 422, field: '/body/purpose' },
    { name: 'accept a completed request', method: 'POST', path: `${R}/{done}/accept`, body: {}, status: 409 },
    { name: 'reject a completed request', method: 'POST', path: `${R}/{done}/reject`, body: {}, status: 409 },
    { name: 'unknown field in a decision', method: 'POST', path: `${R}/{done}/accept`, body: { reason: 'ok', also: 1 }, status: 422, field: '/body/also' },
    { name: 'requester extends a deadline (wrong role)', method: 'POST', path: `${R}/{done}/extend`, body: { days: 10, reason: 'busy' }, status: 403 },
    { name: 'extension beyond two months', method: 'POST', path: `${R}/{done}/extend`, as: 'operator', body: { days: 90, reason: 'busy' }, status: 422, field: '/body/days' },
    { name: 'extension without reasons', method: 'POST', path: `${R}/{done}/extend`, as: 'operator', body: { days: 10 }, status: 422, field: '/body/reason' },
    { name: 'extension of a completed request', method: 'POST', path: `${R}/{done}/extend`, as: 'operator', body: { days: 10, reason: 'complex' }, status: 409 },
    { name: "certificate of another requester's request", path: `${R}/{others}/certificate`, status: 404, field: '/path/id' },
    { name: 'register a directory without a model', method: 'POST', path: '/v1/models', as: 'operator', body: { id: 'ghost', dir: '/nonexistent/model' }, status: 422, field: '/body/dir' },
    { name: 'register with a malformed model id', method: 'POST', path: '/v1/models', as: 'operator', body: { id: '../etc', dir: '/tmp' }, status: 422, field: '/body/id' },
    { name: 'versions of an unknown model', path: '/v1/models/nope/versions', as: 'operator', status: 404, field: '/path/id' },
    { name: 'inclusion proof past the log', path: '/v1/log/inclusion?entry=999999', as: 'auditor', status: 422, field: '/query/entry' },
    { name: 'inclusion proof without an entry', path: '/v1/log/inclusion', as: 'auditor', status: 422, field: '/query/entry' },
    { name: 'consistency from after to', path: '/v1/log/consistency?from=5&to=2', as: 'auditor', status: 422, field: '/query/from' },
    { name: 'unknown route', path: '/v1/nothing-here', status: 404 },
  ];

  test(`${cases.length} distinct bad requests`, async () => {
    assert.ok(cases.length >= 40);
    assert.equal(new Set(cases.map((c) => c.name)).size, cases.length);
    for (const c of cases) {
      const who = c.as ?? 'requester';
      const headers: Record<string, string> = { ...c.headers };
      if (c.auth) headers.authorization = c.auth;
      else if (who !== 'none') headers.authorization = `Bearer ${tokens[who]}`;
      const path = c.path.replace('{done}', done).replace('{others}', others);
      const res = await svc.api(path, { method: c.method ?? 'GET', headers, body: c.body });
      const text = await res.text();
      assert.equal(res.status, c.status, `${c.name}: ${text}`);
      assert.equal(res.headers.get('content-type'), 'application/problem+json', c.name);
      const p = JSON.parse(text) as { type: string; title: string; status: number; detail: string; code: string; field?: string };
      assert.equal(p.status, c.status, c.name);
      assert.ok(p.type.startsWith('/problems/') && p.title && p.detail && p.code, `${c.name}: ${text}`);
      if (c.field) assert.equal(p.field, c.field, `${c.name}: ${text}`);
    }
    const forbidden = (await storeLogStorage(svc.ctx.store).entries(0, await svc.ctx.store.logSize())).filter((e) => JSON.parse(e.json).type === 'auth.forbidden');
    assert.equal(forbidden.length, 1, "the attempt on another requester's subject is logged");
  });

  test('rate limit per token: 429 problem+json with Retry-After', async () => {
    const slow = await testService({ rate: { perSecond: 1, burst: 2 } });
    try {
      const t = await slow.token('auditor');
      const codes = [];
      for (let i = 0; i < 4; i++) codes.push((await slow.api('/v1/log/tree-head', { token: t })).status);
      assert.deepEqual(codes.slice(0, 2), [200, 200]);
      const res = await slow.api('/v1/log/tree-head', { token: t });
      assert.equal(res.status, 429);
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      assert.ok(Number(res.headers.get('retry-after')) >= 1);
    } finally {
      await slow.close();
    }
  });

  test('a certificate with one byte flipped does not verify', async () => {
    const { certificate } = (await (await svc.api(`${R}/${done}/certificate`, { token: tokens.requester })).json()) as { certificate: string };
    assert.ok((await verifyCertificate(certificate, svc.ctx.ledger.jwks())).ok);
    const parts = certificate.split('.');
    const payload = Buffer.from(parts[1], 'base64url');
    payload[payload.length >> 1] ^= 0x01;
    const flipped = [parts[0], payload.toString('base64url'), parts[2]].join('.');
    const v = await verifyCertificate(flipped, svc.ctx.ledger.jwks());
    assert.equal(v.ok, false);
  });

  test('a log with one entry edited is caught, and the entry named', async () => {
    await svc.ctx.ledger.treeHead();
    const storage = storeLogStorage(svc.ctx.store);
    const entries = await storage.entries(0, await storage.size());
    assert.ok((await verifyLog(entries, await svc.ctx.ledger.treeHeads(), svc.ctx.ledger.jwks())).ok);
    // Edit a record that names the purpose (one from intake), changing what the request asked for.
    const k = entries.findIndex((e) => e.index > 0 && e.json.includes('"privacy"'));
    assert.ok(k > 0, 'a log record with the purpose');
    const edited = entries.map((e) => (e.index === k ? { ...e, json: e.json.replace('"privacy"', '"security"') } : e));
    assert.notEqual(edited[k].json, entries[k].json);
    const r = await verifyLog(edited, await svc.ctx.ledger.treeHeads(), svc.ctx.ledger.jwks());
    assert.equal(r.ok, false);
    assert.ok(r.problems.some((p) => JSON.stringify(p).includes(String(k))), JSON.stringify(r.problems));
  });
});
