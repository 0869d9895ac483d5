import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputCache, inputCacheBytes } from './inputCache.js';

test('input cache: hits by key, one load for concurrent misses, LRU eviction by bytes with dispose, pinned entries kept', async () => {
  const loads: string[] = [];
  const disposed: string[] = [];
  const c = new InputCache<{ k: string; n: number }>({ maxBytes: 10, sizeOf: (v) => v.n, dispose: (v) => disposed.push(v.k) });
  const load = (k: string, n: number) => async () => (loads.push(k), { k, n });
  const [a1, a2] = await Promise.all([c.get('a', load('a', 4)), c.get('a', load('a', 4))]);
  assert.equal(a1.value, a2.value, 'one load shared');
  assert.deepEqual(loads, ['a']);
  assert.equal((await c.get('a', load('a', 4))).cached, true);
  await c.get('b', load('b', 4));
  await c.get('a', load('a', 4)); // a is now the most recent
  await c.get('c', load('c', 4)); // 12 > 10: b (least recent) goes
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(disposed, ['b']);
  assert.equal((await c.get('a', load('a', 4))).cached, true);
  assert.equal((await c.get('b', load('b', 4))).cached, false, 'evicted entries load again');
  // An entry in use is not evicted even when it is the least recent.
  const big = new InputCache<number>({ maxBytes: 5, sizeOf: (v) => v });
  await big.use('x', async () => 4, async () => {
    await big.get('y', async () => 4);
    assert.equal(big.stats.entries, 1, 'y evicted at once (over the bound), x pinned');
    assert.equal((await big.get('x', async () => 99)).value, 4, 'x pinned: still there');
  });
  assert.ok(big.stats.bytes <= 5, 'bound restored once unpinned');
  // A failed load is not cached.
  await assert.rejects(c.get('z', async () => Promise.reject(new Error('boom'))), /boom/);
  assert.equal((await c.get('z', load('z', 1))).cached, false);
  assert.deepEqual({ hits: c.stats.hits > 0, misses: c.stats.misses }, { hits: true, misses: 6 });
});

test('input cache bound: UNLEARN_INPUT_CACHE_MB, 0 disables, nonsense is a one-line error', async () => {
  assert.equal(inputCacheBytes({}), 512 * 2 ** 20);
  assert.equal(inputCacheBytes({ UNLEARN_INPUT_CACHE_MB: '2' }), 2 * 2 ** 20);
  assert.throws(() => inputCacheBytes({ UNLEARN_INPUT_CACHE_MB: 'lots' }), /UNLEARN_INPUT_CACHE_MB=lots is not a number/);
  const off = new InputCache<number>({ maxBytes: inputCacheBytes({ UNLEARN_INPUT_CACHE_MB: '0' }), sizeOf: (v) => v });
  await off.get('a', async () => 1);
  assert.equal(off.stats.entries, 0, 'nothing kept');
  assert.equal((await off.get('a', async () => 1)).cached, false);
});
