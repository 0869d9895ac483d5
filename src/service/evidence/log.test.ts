import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyRing } from './keys.js';
import { buildRecord, checkConsistency, checkInclusion, TransparencyLog, verifyLog, verifyTreeHead, type LogProblem, type StoredLogEntry } from './log.js';
import { MemoryLogStorage } from './memoryStorage.js';
import { leafHash, toB64u } from './merkle.js';
import { isUnlearnError } from '../../errors.js';

async function withLog(n: number, body: (ctx: { log: TransparencyLog; storage: MemoryLogStorage; keys: KeyRing }) => Promise<void>) {
  const root = await mkdtemp(join(tmpdir(), 'unlearn-log-'));
  try {
    const keys = await KeyRing.open(root);
    const storage = new MemoryLogStorage();
    const log = new TransparencyLog(storage, keys);
    for (let i = 0; i < n; i++) {
      await log.append({ type: 'request.received', at: `2026-01-01T00:00:${String(i).padStart(2, '0')}.000Z`, requestId: `r${i}`, data: { purpose: 'privacy', i } });
    }
    await body({ log, storage, keys });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

const kinds = (ps: LogProblem[]) => ps.map((p) => `${p.kind}:${p.index}`);
/** Rewrite a row's JSON and (optionally) its stored hash, as someone with database access could. */
function edit(row: StoredLogEntry, change: (r: Record<string, unknown>) => void, rehash: boolean) {
  const r = JSON.parse(row.json);
  change(r);
  row.json = JSON.stringify(r);
  if (rehash) row.leafHash = leafHash(new TextEncoder().encode(row.json));
}

test('appends chain each record to the previous leaf hash; an untouched log verifies with its tree heads', async () => {
  await withLog(10, async ({ log, storage, keys }) => {
    const rows = await storage.entries(0, 10);
    assert.equal(JSON.parse(rows[0]!.json).prevLeafHash, toB64u(new Uint8Array(32)));
    for (let i = 1; i < 10; i++) assert.equal(JSON.parse(rows[i]!.json).prevLeafHash, toB64u(rows[i - 1]!.leafHash));
    const head = await log.treeHead();
    assert.equal(head.treeSize, 10);
    assert.deepEqual(await verifyTreeHead(head, keys.jwks()), { ok: true, kid: keys.current().kid, problems: [] });
    const r = await verifyLog(rows, [await log.treeHead(4), head], keys.jwks());
    assert.deepEqual(r, { ok: true, size: 10, problems: [] });
  });
});

test('concurrent appends from one process get distinct consecutive indices', async () => {
  await withLog(0, async ({ log, storage }) => {
    const got = await Promise.all(Array.from({ length: 20 }, (_, i) => log.append({ type: 'request.received', data: { i } })));
    assert.deepEqual(got.map((g) => g.index).sort((a, b) => a - b), [...Array(20).keys()]);
    assert.ok((await verifyLog(await storage.entries(0, 20))).ok);
  });
});

test('inclusion and consistency proofs from the log verify offline; bad sizes are INVALID_PARAMS', async () => {
  await withLog(13, async ({ log }) => {
    for (let i = 0; i < 13; i++) assert.ok(checkInclusion(await log.inclusion(i)), `entry ${i}`);
    const p = await log.inclusion(3, 7);
    assert.equal(p.treeSize, 7);
    assert.ok(checkInclusion(p));
    assert.equal(checkInclusion({ ...p, index: 4 }), false);
    for (let m = 0; m <= 13; m++) assert.ok(checkConsistency(await log.consistency(m)), `consistency ${m} → 13`);
    const c = await log.consistency(5, 9);
    assert.ok(checkConsistency(c));
    assert.equal(checkConsistency({ ...c, fromRoot: c.toRoot }), false);
    assert.equal(checkConsistency({ ...c, proof: ['not base64url!'] }), false);
    await assert.rejects(log.inclusion(13), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
    await assert.rejects(log.inclusion(0, 14), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
    await assert.rejects(log.consistency(8, 7), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
    await assert.rejects(log.append({ type: 'Not A Type' }), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
  });
});

test('an edited entry is named, whether or not its stored hash was rewritten', async () => {
  await withLog(8, async ({ storage, log, keys }) => {
    const head = await log.treeHead();
    const a = await storage.entries(0, 8);
    edit(a[3]!, (r) => ((r.data as Record<string, unknown>).purpose = 'bias'), false);
    assert.deepEqual(kinds((await verifyLog(a)).problems), ['edited:3']);
    const b = await storage.entries(0, 8);
    edit(b[5]!, (r) => (r.requestId = 'someone-else'), true);
    assert.deepEqual(kinds((await verifyLog(b)).problems), ['edited:5']);
    // The newest entry rewritten with its hash: only the signed tree head can tell.
    const c = await storage.entries(0, 8);
    edit(c[7]!, (r) => (r.type = 'request.rejected'), true);
    assert.deepEqual(kinds((await verifyLog(c)).problems), []);
    const withHead = await verifyLog(c, [head], keys.jwks());
    assert.deepEqual(kinds(withHead.problems), ['edited:0']);
    assert.match(withHead.problems[0]!.detail, /tree head of size 8/);
    // Garbage in a row.
    const d = await storage.entries(0, 8);
    d[2]!.json = '{oops';
    assert.deepEqual(kinds((await verifyLog(d)).problems), ['edited:2']);
  });
});

test('deleted entries are named: in the middle from the chain, at the end from a signed tree head', async () => {
  await withLog(8, async ({ storage, log, keys }) => {
    const head = await log.treeHead();
    const rows = await storage.entries(0, 8);
    assert.deepEqual(kinds((await verifyLog(rows.filter((r) => r.index !== 4))).problems), ['deleted:4']);
    // Rows renumbered after the deletion: the records still carry their own indices.
    const compacted = rows.filter((r) => r.index !== 2).map((r, i) => ({ ...r, index: i }));
    assert.deepEqual(kinds((await verifyLog(compacted)).problems), ['deleted:2']);
    assert.deepEqual(kinds((await verifyLog(rows.slice(0, 6))).problems), [], 'nothing commits to the newest entries without a tree head');
    const tail = await verifyLog(rows.slice(0, 6), [head], keys.jwks());
    assert.deepEqual(kinds(tail.problems), ['deleted:6', 'deleted:7']);
    assert.match(tail.problems[0]!.detail, /tree head of size 8/);
    assert.deepEqual(kinds((await verifyLog(rows.slice(1))).problems), ['deleted:0']);
  });
});

test('reordered entries are named (rows swapped, or one moved), and an inserted entry is named', async () => {
  await withLog(8, async ({ storage, log, keys }) => {
    const head = await log.treeHead();
    const rows = await storage.entries(0, 8);
    const swapped = rows.map((r) => ({ ...r }));
    [swapped[3], swapped[4]] = [{ ...rows[4]!, index: 3 }, { ...rows[3]!, index: 4 }];
    const r1 = await verifyLog(swapped, [head], keys.jwks());
    assert.deepEqual(r1.problems.map((p) => p.kind), ['reordered']);
    assert.ok([3, 4].includes(r1.problems[0]!.index));
    const moved = [rows[6]!, ...rows.filter((r) => r.index !== 6)].map((r, i) => ({ ...r, index: i }));
    assert.deepEqual(kinds((await verifyLog(moved)).problems), ['reordered:6']);
    // A forged entry 3 put between 2 and 3, with a correct hash and linking to 2, the later rows shifted by one.
    const forged = buildRecord({ type: 'request.completed', requestId: 'r2', data: {} }, 3, rows[2]!.leafHash);
    const inserted = [...rows.slice(0, 3), { index: 3, json: forged.json, leafHash: forged.leafHash }, ...rows.slice(3).map((r) => ({ ...r, index: r.index + 1 }))];
    const r2 = await verifyLog(inserted, [head], keys.jwks());
    assert.deepEqual(kinds(r2.problems), ['inserted:3']);
    assert.match(r2.problems[0]!.detail, /row 3 is a second entry 3/);
  });
});

test('a tree head signed by another key, or with edited fields, is a problem', async () => {
  await withLog(4, async ({ storage, log, keys }) => {
    const head = await log.treeHead();
    const other = await mkdtemp(join(tmpdir(), 'unlearn-log-other-'));
    try {
      const stranger = await KeyRing.open(other);
      const bad = await verifyTreeHead(head, stranger.jwks());
      assert.equal(bad.ok, false);
      assert.match(bad.problems[0]!, /no key with kid/);
      const forged = await verifyTreeHead({ ...head, treeSize: 3 }, keys.jwks());
      assert.match(forged.problems[0]!, /differ from the signed/);
      const r = await verifyLog(await storage.entries(0, 4), [{ ...head, rootHash: toB64u(new Uint8Array(32)) }], keys.jwks());
      assert.equal(r.ok, false);
      // Old tree heads still verify after rotation (the old public key stays in the set).
      await keys.rotate();
      assert.ok((await verifyTreeHead(head, keys.jwks())).ok);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});

test('tree heads kept incrementally: growing, concurrent and older-size heads match the root over all leaves', async () => {
  await withLog(5, async ({ log, storage, keys }) => {
    const heads = [await log.treeHead()];
    for (let i = 0; i < 12; i++) {
      await log.append({ type: 'test.grow', data: { i } });
      if (i % 3 === 0) heads.push(...(await Promise.all([log.treeHead(), log.treeHead()])));
    }
    heads.push(await log.treeHead(), await log.treeHead(3));
    const rows = await storage.entries(0, await storage.size());
    assert.deepEqual(await verifyLog(rows, heads, keys.jwks()), { ok: true, size: 17, problems: [] });
  });
});
