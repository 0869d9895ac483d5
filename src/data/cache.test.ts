import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { cacheDir, readCache, writeCache } from './cache.js';

test('cache: env dir, atomic write, round trip, corrupt or missing entry is a miss', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ucache-'));
  const saved = process.env.UNLEARN_CACHE_DIR;
  process.env.UNLEARN_CACHE_DIR = path.join(dir, 'sub');
  try {
    assert.equal(cacheDir(), path.join(dir, 'sub'));
    assert.equal(await readCache('x.json.gz'), undefined);
    assert.equal(await writeCache('x.json.gz', { a: [1, 'b'] }), true);
    assert.deepEqual(await readCache('x.json.gz'), { a: [1, 'b'] });
    assert.deepEqual(readdirSync(path.join(dir, 'sub')), ['x.json.gz']); // no temp file left behind
    writeFileSync(path.join(dir, 'sub', 'x.json.gz'), 'not gzip');
    assert.equal(await readCache('x.json.gz'), undefined);
    delete process.env.UNLEARN_CACHE_DIR;
    assert.match(cacheDir(), /node_modules[\\/]\.cache[\\/]unlearn$|unlearn-cache$/);
  } finally {
    if (saved === undefined) delete process.env.UNLEARN_CACHE_DIR;
    else process.env.UNLEARN_CACHE_DIR = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});
