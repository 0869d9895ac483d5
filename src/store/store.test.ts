/**
 * Store conformance: the same tests on SQLite and, when UNLEARN_TEST_POSTGRES is set, on
 * PostgreSQL (each run in a fresh schema, dropped afterwards).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Store } from './store.js';

const PG = process.env.UNLEARN_TEST_POSTGRES;

/** The backends to run on: SQLite always, PostgreSQL when configured. */
export const STORE_LEGS: { name: string; skip: string | false; open: () => Promise<{ store: Store; cleanup: () => Promise<void> }> }[] = [
  {
    name: 'sqlite',
    skip: false,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'unlearn-store-'));
      const store = await Store.open({ url: join(dir, 'service.db') });
      return { store, cleanup: async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); } };
    },
  },
  {
    name: 'postgres',
    skip: PG ? false : 'UNLEARN_TEST_POSTGRES is not set (e.g. postgres://postgres@127.0.0.1:5432/test): PostgreSQL leg skipped',
    async open() {
      const store = await Store.open({ url: PG!, schema: `t_${randomBytes(6).toString('hex')}`, dropSchemaOnClose: true });
      return { store, cleanup: () => store.close() };
    },
  },
];

const version = (id: string, model: string, parent: string | null, now: number) => ({
  id, model_id: model, parent, dir: `/m/${id}`, format: 'unlearn-model/1', guarantee: 'exact', method: 'train', dataset_fingerprint: 'fp', num_examples: 10, wall_seconds: 1.5, manifest: '{}', superseded_by: null, superseded_at: null, weights_deleted_at: null, created_at: now,
});

for (const leg of STORE_LEGS) {
  describe(`store on ${leg.name}`, { skip: leg.skip }, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    before(async () => ({ store, cleanup } = await leg.open()));
    after(async () => cleanup?.());

    test('models, versions, lineage and the version graph', async () => {
      await store.ensureModel({ id: 'spam', name: 'spam', format: 'unlearn-model/1', current_version: null, created_at: 1 });
      await store.ensureModel({ id: 'spam', name: 'other', format: 'x', current_version: null, created_at: 2 });
      assert.equal((await store.model('spam'))!.name, 'spam');
      assert.equal(await store.tx((t) => store.insertVersion(version('v1', 'spam', null, 1), [{ subject: 's-a', examples: 3 }, { subject: 's-b', examples: 1 }], t)), true);
      assert.equal(await store.tx((t) => store.insertVersion(version('v1', 'spam', null, 1), [{ subject: 's-a', examples: 3 }], t)), false, 'content-addressed: a second insert is a no-op');
      await store.tx((t) => store.insertVersion(version('v2', 'spam', 'v1', 2), [{ subject: 's-a', examples: 3 }], t));
      await store.setCurrentVersion('spam', 'v2');
      assert.equal((await store.model('spam'))!.current_version, 'v2');
      assert.deepEqual((await store.childrenOf('v1')).map((v) => v.id), ['v2']);
      assert.deepEqual((await store.versionsWithSubject('s-a')).map((v) => [v.id, v.examples]), [['v1', 3], ['v2', 3]]);
      await store.supersede('v1', 'v3', 5);
      await store.supersede('v1', 'v4', 6);
      assert.equal((await store.version('v1'))!.superseded_by, 'v3', 'first writer wins');
      assert.deepEqual((await store.versionsWithSubject('s-a')).map((v) => v.id), ['v2']);
      assert.equal((await store.allVersionsWithSubject('s-a')).length, 2);
      assert.deepEqual((await store.supersededBefore(10)).map((v) => v.id), ['v1']);
      assert.equal((await store.version('v2'))!.wall_seconds, 1.5);
    });

    test('a failed transaction leaves nothing behind', async () => {
      await assert.rejects(store.tx(async (t) => {
        await store.insertVersion(version('v9', 'spam', null, 9), [{ subject: 's-z', examples: 1 }], t);
        throw new Error('boom');
      }));
      assert.equal(await store.version('v9'), undefined);
      assert.deepEqual(await store.versionsWithSubject('s-z'), []);
    });

    test('pipelined inserts: a failed insert fails the transaction and nothing of it commits', async () => {
      const tok = (id: string, hash: string) => ({ id, hash, role: 'auditor', subjects: '[]', label: null, created_at: 1, expires_at: null, revoked_at: null });
      await store.insertToken(tok('tok_p0', 'hp0'));
      // tok_p1 is new, tok_p0 repeats a primary key: the commit must not make tok_p1 durable.
      await assert.rejects(store.tx(async (t) => {
        await store.insertToken(tok('tok_p1', 'hp1'), t);
        await store.insertToken(tok('tok_p0', 'hp0-again'), t);
      }, { pipelineInserts: true }), /UNIQUE|duplicate|unique/i);
      assert.equal(await store.tokenById('tok_p1'), undefined);
      // The connection is usable again, with and without pipelining.
      await store.tx(async (t) => {
        await store.insertToken(tok('tok_p2', 'hp2'), t);
        await store.insertToken(tok('tok_p3', 'hp3'), t);
      }, { pipelineInserts: true });
      assert.deepEqual([(await store.tokenById('tok_p2'))?.id, (await store.tokenById('tok_p3'))?.id], ['tok_p2', 'tok_p3']);
      await store.insertToken(tok('tok_p4', 'hp4'));
      assert.equal((await store.tokenById('tok_p4'))?.id, 'tok_p4');
    });

    test('tokens: lookup by hash, revoke once', async () => {
      await store.insertToken({ id: 'tok_1', hash: 'h1', role: 'requester', subjects: '["s-a"]', label: null, created_at: 1, expires_at: null, revoked_at: null });
      assert.equal((await store.tokenByHash('h1'))!.id, 'tok_1');
      assert.equal(await store.revokeToken('tok_1', 5), true);
      assert.equal(await store.revokeToken('tok_1', 6), false);
      assert.equal((await store.tokenById('tok_1'))!.revoked_at, 5);
    });

    test('requests: optimistic transitions, cursor pagination, idempotency keys', async () => {
      await store.insertToken({ id: 'tok_2', hash: 'h2', role: 'requester', subjects: '[]', label: null, created_at: 1, expires_at: null, revoked_at: null });
      for (let i = 0; i < 5; i++) {
        await store.insertRequest({ id: `dr_${i}`, token_id: 'tok_2', subject: 's-a', example_ids: null, purpose: i % 2 ? 'privacy' : 'copyright', requested_guarantee: null, models: null, note: null, status: 'received', policy_sha256: 'p', received_at: 100 + (i >> 1), deadline_at: 1e12, extended_deadline_at: null, terms: null, reason: null, certificate: null, completed_at: null, updated_at: 100, revision: 0 });
      }
      assert.equal(await store.updateRequest('dr_0', 0, { status: 'planned', updated_at: 101 }), true);
      assert.equal(await store.updateRequest('dr_0', 0, { status: 'rejected', updated_at: 102 }), false, 'stale revision loses');
      assert.equal((await store.request('dr_0'))!.status, 'planned');
      const page1 = await store.listRequests({ tokenId: 'tok_2', limit: 2 });
      const last = page1[page1.length - 1];
      const page2 = await store.listRequests({ tokenId: 'tok_2', limit: 2, cursor: { receivedAt: last.received_at, id: last.id } });
      const page3 = await store.listRequests({ tokenId: 'tok_2', limit: 2, cursor: { receivedAt: page2[1].received_at, id: page2[1].id } });
      assert.deepEqual([...page1, ...page2, ...page3].map((r) => r.id), ['dr_0', 'dr_1', 'dr_2', 'dr_3', 'dr_4']);
      assert.deepEqual((await store.listRequests({ purpose: 'privacy', limit: 10 })).map((r) => r.id), ['dr_1', 'dr_3']);
      await store.insertIdempotency({ token_id: 'tok_2', key: 'k', body_sha256: 'b', request_id: 'dr_0', response: '{}', status: 202, created_at: 1 });
      await assert.rejects(store.insertIdempotency({ token_id: 'tok_2', key: 'k', body_sha256: 'c', request_id: 'dr_1', response: '{}', status: 202, created_at: 2 }));
      assert.equal((await store.idempotency('tok_2', 'k'))!.request_id, 'dr_0');
    });

    test('jobs: dedupe, lease, heartbeat, expiry re-claim, retry then fail', async () => {
      const a = await store.enqueueJob({ kind: 'unlearn', dedupeKey: 'd1', payload: { x: 1 }, maxAttempts: 2 }, 1000);
      const b = await store.enqueueJob({ kind: 'unlearn', dedupeKey: 'd1', payload: { x: 2 }, maxAttempts: 2 }, 1000);
      assert.equal(a, b);
      const c1 = await store.claimJob('w1', 100, 1000);
      assert.equal(c1!.id, a);
      assert.equal(await store.claimJob('w2', 100, 1050), undefined, 'leased');
      assert.equal(await store.heartbeatJob(a, 'w1', 100, 1080), true);
      assert.equal(await store.claimJob('w2', 100, 1150), undefined, 'heartbeat extended the lease');
      const c2 = await store.claimJob('w2', 100, 1200);
      assert.equal(c2!.lease_owner, 'w2');
      assert.equal(c2!.attempts, 2);
      assert.equal(await store.heartbeatJob(a, 'w1', 100, 1201), false, 'w1 lost its lease');
      assert.equal(await store.completeJob(a, 'w1', {}, 1202), false);
      assert.equal(await store.failJob(a, 'w2', 'oops', 0, 1203), 'failed', 'attempts exhausted');
      const d = await store.enqueueJob({ kind: 'unlearn', dedupeKey: 'd2', payload: {}, maxAttempts: 3 }, 2000);
      await store.claimJob('w3', 100, 2000);
      assert.equal(await store.failJob(d, 'w3', 'transient', 50, 2001), 'queued');
      assert.equal(await store.claimJob('w3', 100, 2010), undefined, 'not before run_after');
      assert.equal((await store.claimJob('w3', 100, 2060))!.id, d);
      assert.equal(await store.completeJob(d, 'w3', { ok: true }, 2061), true);
      assert.equal((await store.job(d))!.status, 'done');
    });

    test('two claimers racing for one job: exactly one wins', async () => {
      const id = await store.enqueueJob({ kind: 'race', dedupeKey: 'race', payload: {}, maxAttempts: 1 }, 5000);
      const got = await Promise.all(Array.from({ length: 6 }, (_, i) => store.claimJob(`r${i}`, 1000, 5000, ['race'])));
      assert.equal(got.filter((g) => g?.id === id).length, 1);
    });

    test('log storage: dense indices under concurrent appends, ranges', async () => {
      const base = await store.logSize();
      const idx = await Promise.all(Array.from({ length: 20 }, (_, i) => store.tx((t) => store.appendLogEntry(`{"n":${i}}`, `h${i}`, 1, t))));
      assert.deepEqual([...idx].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => base + i));
      assert.equal(await store.logSize(), base + 20);
      assert.equal((await store.logLeafHashes(base, base + 20)).length, 20);
      const e = await store.logEntries(base + 3, base + 5);
      assert.deepEqual(e.map((r) => r.idx), [base + 3, base + 4]);
      await assert.rejects(store.tx(async (t) => {
        await store.appendLogEntry('{"lost":1}', 'hx', 1, t);
        throw new Error('rolled back');
      }));
      assert.equal(await store.logSize(), base + 20, 'a rolled-back append leaves no gap');
      await store.insertTreeHead({ size: 3, root_hash: 'r3', signature: 'sig', created_at: 1 });
      await store.insertTreeHead({ size: 7, root_hash: 'r7', signature: 'sig', created_at: 2 });
      assert.equal((await store.latestTreeHead())!.size, 7);
      assert.equal((await store.treeHead(3))!.root_hash, 'r3');
    });
  });
}
