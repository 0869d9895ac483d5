/**
 * Group commit of intake, on SQLite (and PostgreSQL when UNLEARN_TEST_POSTGRES is set):
 * concurrent POSTs are all acknowledged and all durable (read back through a second
 * connection); intakes of one turn of the event loop share one transaction; a bad request among them does not sink the
 * others; idempotent replays inside one batch answer the first receipt; the log verifies.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Store } from '../store/store.js';
import { authenticate } from './auth.js';
import { verifyLog } from './evidence/log.js';
import { storeLogStorage } from './ledger.js';
import { intakeQueue, submitRequest, type Submitted } from './requests.js';
import { testService } from './testing.js';

const PG = process.env.UNLEARN_TEST_POSTGRES;
const LEGS = [
  { name: 'sqlite', skip: false as const, postgres: undefined },
  { name: 'postgres', skip: PG ? (false as const) : 'UNLEARN_TEST_POSTGRES is not set: PostgreSQL leg skipped', postgres: PG },
];

for (const leg of LEGS) {
  describe(`intake group commit on ${leg.name}`, { skip: leg.skip }, () => {
    let svc: Awaited<ReturnType<typeof testService>>;
    let tok: string;
    before(async () => {
      svc = await testService({ postgres: leg.postgres, noJobs: true });
      tok = await svc.token('requester', ['alice@example.org', 'bob@example.org']);
    });
    after(async () => svc?.close());

    /** Every request.received entry of the log, by request id. */
    const receivedEntries = async () => {
      const storage = storeLogStorage(svc.ctx.store);
      const rows = await storage.entries(0, await storage.size());
      return new Map(rows.map((r) => JSON.parse(r.json) as { type: string; requestId?: string }).filter((r) => r.type === 'request.received').map((r) => [r.requestId!, r]));
    };
    const verifies = async () => {
      const storage = storeLogStorage(svc.ctx.store);
      await svc.ctx.ledger.treeHead();
      const v = await verifyLog(await storage.entries(0, await storage.size()), await svc.ctx.ledger.treeHeads(), svc.ctx.ledger.jwks());
      assert.ok(v.ok, JSON.stringify(v.problems));
    };

    test('N concurrent POSTs: all 202, all committed (seen by a second connection), one log entry and one planning job each', async () => {
      const n = 60;
      const before = { ...intakeQueue(svc.ctx).stats };
      const rs = await Promise.all(Array.from({ length: n }, (_, i) => svc.api('/v1/deletion-requests', { method: 'POST', token: tok, body: { subject: i % 2 ? 'alice@example.org' : 'bob@example.org', purpose: 'privacy', note: `n${i}` }, headers: { 'idempotency-key': `burst-${i}` } })));
      assert.deepEqual(rs.map((r) => r.status), Array(n).fill(202));
      const ids = await Promise.all(rs.map(async (r) => ((await r.json()) as { id: string }).id));
      assert.equal(new Set(ids).size, n);
      const st = intakeQueue(svc.ctx).stats;
      assert.equal(st.items - before.items, n, 'every request went through the group commit');
      // Durable: a second connection to the same database sees every acknowledged request.
      const other = await Store.open(leg.postgres ? { url: leg.postgres, schema: svc.schema } : { url: join(svc.dataRoot, 'service.db') });
      try {
        for (const id of ids) assert.equal((await other.request(id))?.status, 'received', id);
        const jobs = new Set((await other.listJobs()).map((j) => j.dedupe_key));
        for (const id of ids) assert.ok(jobs.has(`plan:${id}`), `planning job of ${id}`);
      } finally {
        await other.close();
      }
      const logged = await receivedEntries();
      for (const id of ids) assert.ok(logged.has(id), `request.received of ${id}`);
      await verifies();
    });

    test('one batch: a key reused with another body fails alone; replays answer the first receipt; the rest commit', async () => {
      const who = await authenticate(svc.ctx.store, `Bearer ${tok}`);
      const body = { subject: 'alice@example.org', purpose: 'privacy' as const };
      const before = { ...intakeQueue(svc.ctx).stats };
      // Called in one turn of the event loop: one batch.
      const calls: Promise<Submitted>[] = [
        submitRequest(svc.ctx, who, body, 'same-key'),
        submitRequest(svc.ctx, who, body, 'same-key'),
        submitRequest(svc.ctx, who, { ...body, note: 'another body' }, 'same-key'),
        submitRequest(svc.ctx, who, body, 'other-key'),
        submitRequest(svc.ctx, who, body, undefined),
        submitRequest(svc.ctx, who, body, 'same-key'),
      ];
      const rs = await Promise.allSettled(calls);
      assert.equal(intakeQueue(svc.ctx).stats.batches - before.batches, 1, 'all six in one transaction');
      const [first, replay, conflict, other, plain, replay2] = rs;
      assert.equal(conflict!.status, 'rejected');
      assert.match(String((conflict as PromiseRejectedResult).reason?.message), /used with another body/);
      for (const r of [first, replay, other, plain, replay2]) assert.equal(r!.status, 'fulfilled');
      const v = (r: PromiseSettledResult<Submitted>) => (r as PromiseFulfilledResult<Submitted>).value;
      assert.equal(v(first!).replayed, false);
      assert.deepEqual(v(replay!).receipt, v(first!).receipt);
      assert.deepEqual(v(replay2!).receipt, v(first!).receipt);
      assert.equal(v(replay!).replayed, true);
      assert.equal(new Set([v(first!), v(other!), v(plain!)].map((s) => s.receipt.id)).size, 3);
      // A replay in a later batch answers the stored first response; a conflicting body is 422 over HTTP.
      const again = await submitRequest(svc.ctx, who, body, 'same-key');
      assert.deepEqual(again.receipt, v(first!).receipt);
      const r422 = await svc.api('/v1/deletion-requests', { method: 'POST', token: tok, body: { ...body, note: 'another body' }, headers: { 'idempotency-key': 'same-key' } });
      assert.equal(r422.status, 422);
      const logged = await receivedEntries();
      for (const s of [first, other, plain]) assert.ok(logged.has(v(s!).receipt.id));
      await verifies();
    });

    test('bad requests inside a burst (invalid body, forbidden subject, reused key) do not sink the good ones', async () => {
      const good = Array.from({ length: 20 }, (_, i) => svc.api('/v1/deletion-requests', { method: 'POST', token: tok, body: { subject: 'bob@example.org', purpose: 'privacy', note: `g${i}` }, headers: { 'idempotency-key': `good-${i}` } }));
      const bad = [
        svc.api('/v1/deletion-requests', { method: 'POST', token: tok, body: { subject: 'bob@example.org', purpose: 'no-such-purpose' } }),
        svc.api('/v1/deletion-requests', { method: 'POST', token: tok, body: { subject: 'mallory@example.org', purpose: 'privacy' } }),
        svc.api('/v1/deletion-requests', { method: 'POST', token: tok, body: { subject: 'bob@example.org', purpose: 'privacy', note: 'not the first body' }, headers: { 'idempotency-key': 'burst-0' } }),
      ];
      const [g, b] = [await Promise.all(good), await Promise.all(bad)];
      assert.deepEqual(g.map((r) => r.status), Array(20).fill(202));
      assert.deepEqual(b.map((r) => r.status), [422, 403, 422]);
      for (const r of g) assert.equal((await svc.ctx.store.request(((await r.json()) as { id: string }).id))?.status, 'received');
      await verifies();
    });

    test('a batch that fails as a whole is retried item by item: only the faulty item fails', async () => {
      const { GroupCommit } = await import('../store/groupCommit.js');
      const store = svc.ctx.store;
      const q = new GroupCommit<string, number>(store, async (t, items) => {
        // One statement per item, in the batch's transaction; the poison item breaks the transaction.
        const out = [];
        for (const it of items) {
          if (it === 'poison') throw new Error('poison');
          out.push({ ok: true as const, value: await svc.ctx.ledger.append(t, { type: 'test.group-commit', data: { it } }) });
        }
        return out;
      });
      const rs = await Promise.allSettled(['a', 'b', 'poison', 'c'].map((it) => q.submit(it)));
      assert.deepEqual(rs.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      assert.equal(q.stats.batches, 3, 'the failed batch of four was rolled back, then a, b, c committed one by one');
      const storage = storeLogStorage(store);
      const idx = rs.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<number>).value);
      const texts = await Promise.all(idx.map(async (i) => JSON.parse((await storage.entries(i, i + 1))[0]!.json).data.it));
      assert.deepEqual(texts, ['a', 'b', 'c']);
      await verifies();
    });

    test('token cache: a revocation through the store is seen by the next request', async () => {
      const { createToken } = await import('./auth.js');
      const t = await createToken(svc.ctx.store, { role: 'operator' });
      const ok = await svc.api('/v1/deletion-requests', { token: t.secret });
      assert.equal(ok.status, 200);
      assert.ok(await svc.ctx.store.revokeToken(t.id, Date.now()));
      const r = await svc.api('/v1/deletion-requests', { token: t.secret });
      assert.equal(r.status, 401);
    });
  });
}
