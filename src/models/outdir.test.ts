/**
 * Regression tests of the output mechanism (src/models/staging.ts): an `--out` can never destroy its
 * input (equal, ancestor, inside; through symlinks and `..`), `--force` replaces only an empty
 * directory or an output of this project, and concurrent writers never replace each other.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isUnlearnError } from '../errors.js';
import { EXIT_CODES } from '../errors.js';
import { runCli } from '../testing/cli.js';
import { writeDirAtomic } from './io.js';
import { claimOutDir, commitStaging, stagingPath } from './staging.js';

/** A directory that looks like a model directory of this project (only its manifest is read before any work). */
function fakeModel(dir: string, format = 'unlearn-model/1'): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ format }));
  return dir;
}

const throwsCode = (fn: () => unknown, code: string, re?: RegExp) =>
  assert.throws(fn, (e: unknown) => isUnlearnError(e) && e.code === code && (!re || re.test(e.message)), `expected ${code}${re ? ` matching ${re}` : ''}`);

test('defect 1/2: --out equal to, containing or inside the input is refused, through symlinks and ..', () => {
  const o = mkdtempSync(join(tmpdir(), 'unlearn-out-'));
  const v1 = fakeModel(join(o, 'par', 'v1'));
  writeFileSync(join(o, 'par', 'beside.txt'), 'keep me');
  throwsCode(() => claimOutDir(join(o, 'par'), { force: true, inputs: [v1] }), 'IO_ERROR', /contains the input/);
  throwsCode(() => claimOutDir(o, { force: true, inputs: [v1] }), 'IO_ERROR', /contains the input/);
  throwsCode(() => claimOutDir(join(o, 'par', 'v1', 'sub'), { inputs: [v1] }), 'IO_ERROR', /inside the input/);
  throwsCode(() => claimOutDir(join(o, 'par', 'x', '..', 'v1'), { force: true, inputs: [v1] }), 'IO_ERROR', /is the input/);
  symlinkSync(v1, join(o, 'vlink'));
  throwsCode(() => claimOutDir(v1, { force: true, inputs: [join(o, 'vlink')] }), 'IO_ERROR', /is the input/);
  throwsCode(() => claimOutDir(join(o, 'vlink'), { force: true, inputs: [v1] }), 'IO_ERROR', /is the input/);
  assert.equal(readFileSync(join(o, 'par', 'beside.txt'), 'utf8'), 'keep me');
  rmSync(o, { recursive: true, force: true });
});

test('defect 1: --force replaces only an empty directory or an output of this project', () => {
  const o = mkdtempSync(join(tmpdir(), 'unlearn-out-'));
  mkdirSync(join(o, 'photos'));
  writeFileSync(join(o, 'photos', 'cat.jpg'), 'x');
  throwsCode(() => claimOutDir(join(o, 'photos'), { force: true }), 'IO_ERROR', /other content/);
  throwsCode(() => claimOutDir(join(o, 'photos')), 'INVALID_ARGS', /already exists/);
  writeFileSync(join(o, 'file'), 'x');
  throwsCode(() => claimOutDir(join(o, 'file'), { force: true }), 'IO_ERROR', /not a directory/);
  mkdirSync(join(o, 'empty'));
  claimOutDir(join(o, 'empty'), { force: true });
  claimOutDir(fakeModel(join(o, 'old-model'), 'unlearn-sisa/1'), { force: true });
  throwsCode(() => claimOutDir(''), 'INVALID_ARGS', /--out is empty/);
  rmSync(o, { recursive: true, force: true });
});

test('defect 1/2 (CLI): forget and lm forget refuse an ancestor or an alias of the input and delete nothing', () => {
  const o = mkdtempSync(join(tmpdir(), 'unlearn-out-'));
  const v1 = fakeModel(join(o, 'par', 'v1'));
  writeFileSync(join(o, 'par', 'beside.txt'), 'keep me');
  const f = runCli('forget', '--model', v1, '--random', '0.1', '--method', 'finetune', '--out', join(o, 'par'), '--force');
  assert.equal(f.code, EXIT_CODES.IO_ERROR, f.stderr);
  assert.match(f.stderr, /contains the input model directory/);
  const lm = fakeModel(join(o, 'victim'), 'unlearn-lm/1');
  symlinkSync(lm, join(o, 'vlink'));
  const l = runCli('lm', 'forget', '--model', join(o, 'vlink'), '--source', 'moby-dick', '--method', 'npo', '--out', lm, '--force');
  assert.equal(l.code, EXIT_CODES.IO_ERROR, l.stderr);
  assert.ok(existsSync(join(v1, 'manifest.json')) && existsSync(join(lm, 'manifest.json')));
  assert.equal(readFileSync(join(o, 'par', 'beside.txt'), 'utf8'), 'keep me');
  rmSync(o, { recursive: true, force: true });
});

test('defect 3: a target that appeared while the run was writing is never replaced; the run fails with IO_ERROR', async () => {
  const o = mkdtempSync(join(tmpdir(), 'unlearn-out-'));
  const out = join(o, 'conc');
  claimOutDir(out);
  const stage = stagingPath(out);
  mkdirSync(stage);
  writeFileSync(join(stage, 'mine'), 'late run');
  mkdirSync(out); // the other writer finished first (even an empty directory is not replaced)
  writeFileSync(join(out, 'theirs'), 'first run');
  await assert.rejects(commitStaging(stage, out), (e: unknown) => isUnlearnError(e, 'IO_ERROR') && /appeared while this run was writing it/.test(e.message));
  assert.deepEqual(readdirSync(out), ['theirs']);
  assert.ok(!existsSync(stage), 'the losing run removes its staging directory');
  await assert.rejects(writeDirAtomic(join(o, 'conc'), { a: 'x' }), (e: unknown) => isUnlearnError(e, 'IO_ERROR'));
  assert.deepEqual(readdirSync(out), ['theirs']);
  rmSync(o, { recursive: true, force: true });
});

test('defect 3/9: a second run on the same --out fails at once (lock); after a SIGKILL the next run takes over and removes the leftovers', async () => {
  const o = mkdtempSync(join(tmpdir(), 'unlearn-out-'));
  const out = join(o, 'x'.repeat(240)); // a legal 240-character name: its staging name must stay legal
  const script = `import { mkdirSync, writeFileSync } from 'node:fs';
import { claimOutDir, stagingPath } from ${JSON.stringify(new URL('./staging.ts', import.meta.url).href)};
claimOutDir(${JSON.stringify(out)});
const p = stagingPath(${JSON.stringify(out)});
mkdirSync(p);
writeFileSync(p + '/big', 'x'.repeat(1000));
process.stdout.write(p + '\\n');
setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  child.stdout.on('data', (d) => (text += d));
  while (!text.includes('\n')) await once(child.stdout, 'data');
  const leftover = text.trim();
  throwsCode(() => claimOutDir(out), 'IO_ERROR', new RegExp(`another run \\(pid ${child.pid}\\) is writing`));
  child.kill('SIGKILL');
  await once(child, 'exit');
  assert.ok(existsSync(leftover), 'SIGKILL leaves the staging directory');
  claimOutDir(out);
  assert.ok(!existsSync(leftover), 'the next run on the same --out removes the stale staging directory');
  await writeDirAtomic(out, { 'manifest.json': '{}' });
  assert.deepEqual(readdirSync(o), ['x'.repeat(240)], 'no staging directory or lock file is left');
  throwsCode(() => claimOutDir(join(o, 'y'.repeat(300))), 'INVALID_ARGS', /at most 255/);
  rmSync(o, { recursive: true, force: true });
});
