import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';

const staging = new URL('./staging.ts', import.meta.url).href;
const io = new URL('./io.ts', import.meta.url).href;

/** Run a script that opens a staging directory and waits; interrupt it with `signal`. */
async function interrupted(signal: NodeJS.Signals): Promise<{ code: number | null; dir: string; path: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'unlearn-staging-'));
  const script = `import { mkdirSync } from 'node:fs';
import { stagingPath } from ${JSON.stringify(staging)};
const p = stagingPath(${JSON.stringify(join(dir, 'model'))});
mkdirSync(p);
process.stdout.write(p + '\\n');
setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  while (!out.includes('\n')) await once(child.stdout, 'data');
  const path = out.trim();
  assert.ok(existsSync(path), 'the staging directory exists while the run is alive');
  child.kill(signal);
  const [code] = await once(child, 'exit');
  return { code, dir, path };
}

test('an interrupted run removes its staging directory and exits 130 (SIGINT) / 143 (SIGTERM)', async () => {
  for (const [sig, want] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    const r = await interrupted(sig);
    assert.equal(r.code, want);
    assert.ok(!existsSync(r.path), `${sig}: ${r.path} left behind`);
    assert.deepEqual(readdirSync(r.dir), []);
    rmSync(r.dir, { recursive: true, force: true });
  }
});

test('a committed directory is untracked: process exit leaves it in place', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'unlearn-staging-'));
  const target = join(dir, 'model');
  const script = `import { writeDirAtomic } from ${JSON.stringify(io)};
await writeDirAtomic(${JSON.stringify(target)}, { 'a.txt': 'x' });`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'inherit' });
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
  assert.deepEqual(readdirSync(dir), ['model']);
  assert.deepEqual(readdirSync(target), ['a.txt']);
  rmSync(dir, { recursive: true, force: true });
});
