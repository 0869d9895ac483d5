/**
 * The README's library example runs as written: its ```ts block is copied into a scratch
 * directory (where `unlearn` resolves to this package) and executed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const root = new URL('..', import.meta.url).pathname;

test('defect 7: the README library example runs as written, and a library error prints one UnlearnError, not the wasm source', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const lib = readme.slice(readme.indexOf('## Library'));
  const code = lib.slice(lib.indexOf('```ts\n') + 6, lib.indexOf('\n```', lib.indexOf('```ts\n')));
  assert.match(code, /from 'unlearn'/);
  const dir = mkdtempSync(join(tmpdir(), 'unlearn-readme-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(root, join(dir, 'node_modules', 'unlearn'));
  writeFileSync(join(dir, 'example.mts'), code);
  const env = { ...process.env, UNLEARN_BACKEND: 'wasm' };
  const r = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), 'example.mts'], { cwd: dir, encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr.slice(0, 2000));
  assert.match(r.stdout, /forgot \d+ emails: RA/);
  assert.ok(existsSync(join(dir, 'models', 'v2', 'manifest.json')));
  // An uncaught library error after initEngine() is the UnlearnError itself: no wasm source dump, no exit 7.
  writeFileSync(join(dir, 'fail.mts'), "import { initEngine, loadModel } from 'unlearn';\nawait initEngine();\nawait loadModel('models/none');\n");
  const fail = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), 'fail.mts'], { cwd: dir, encoding: 'utf8', env });
  assert.equal(fail.status, 1, fail.stderr.slice(0, 2000));
  assert.match(fail.stderr, /UnlearnError: model models\/none: manifest.json not found/);
  assert.ok(fail.stderr.length < 3000, `stderr is ${fail.stderr.length} bytes`);
  rmSync(dir, { recursive: true, force: true });
});
