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

test('defect 11: the README stands on its own — no file outside the repo, every model it uses is created first, every dataset listed', async () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  assert.doesNotMatch(readme, /\.\.\/shared|DESIGN\.md/, 'no pointer outside the repository');
  for (const [, link] of readme.matchAll(/\]\((docs\/[^)#]+)/g)) assert.ok(existsSync(join(root, link)), `${link} exists`);
  // Every model directory a shell example reads was written by an earlier example (--out), in order.
  const made = new Set<string>();
  for (const block of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block[1].split('\n')) {
      const cmd = line.replace(/#.*/, '');
      for (const [, flag, dir] of cmd.matchAll(/--(model|reference|original|features-from) (\S+)/g)) {
        if (flag === 'model' && !dir.includes('/')) continue; // --model mlp / logreg: a model kind
        assert.ok(made.has(dir), `README uses ${dir} (--${flag}) before any example creates it: ${line.trim()}`);
      }
      for (const [, dir] of cmd.matchAll(/--out (\S+)/g)) made.add(dir);
    }
  }
  const { listDatasets } = await import('./data/registry.js');
  const comment = readme.match(/unlearn datasets +# (.*)/)?.[1] ?? '';
  for (const d of listDatasets()) assert.ok(comment.includes(d.name), `unlearn datasets comment lists ${d.name}`);
  const { listMethods } = await import('./unlearn/index.js');
  const methods = readme.match(/unlearn methods +# (.*)/)?.[1] ?? '';
  for (const m of listMethods()) assert.match(methods, new RegExp(`(^|[ ,])${m.id}([ ,]|$)`), `unlearn methods comment lists ${m.id}`);
  const docs = readFileSync(join(root, 'docs', 'methods.md'), 'utf8');
  for (const m of listMethods()) assert.ok(docs.includes(`**${m.id}**`), `docs/methods.md describes ${m.id}`);
});
