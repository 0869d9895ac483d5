import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EXIT_CODES } from '../errors.js';
import { runCli } from '../testing/cli.js';

test('unlearn data import/show/datasets with --data-root; a bad input exits with its code, one line, nothing written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unlearn-cli-data-'));
  const root = join(dir, 'root');
  writeFileSync(join(dir, 't.csv'), 'id,who,x,label\n1,a,0.5,yes\n2,a,1.5,no\n3,b,2.5,yes\n4,b,3.5,no\n5,c,1.0,yes\n');
  const ok = runCli('--data-root', root, '--json', 'data', 'import', '--name', 'tiny', '--file', join(dir, 't.csv'), '--id-col', 'id', '--subject-col', 'who');
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).counts.rows, 5);
  const ls = runCli('--data-root', root, 'datasets');
  assert.match(ls.stdout, /^tiny\s+imported from t.csv: 5 rows/m);
  const show = runCli('--data-root', root, 'data', 'show', 'tiny');
  assert.match(show.stdout, /x\s+numeric, train mean/);
  writeFileSync(join(dir, 'dup.csv'), 'id,who,x,label\n1,a,0.5,yes\n2,a,1.5,no\n1,b,2.5,yes\n');
  const dup = runCli('--data-root', root, 'data', 'import', '--name', 'dup', '--file', join(dir, 'dup.csv'), '--id-col', 'id');
  assert.equal(dup.code, EXIT_CODES.DUPLICATE_ID);
  assert.match(dup.stderr, /^unlearn: DUPLICATE_ID: .*row 3 repeats id '1' of row 1 \(.*\)\n$/);
  const again = runCli('--data-root', root, 'data', 'import', '--name', 'tiny', '--file', join(dir, 't.csv'));
  assert.equal(again.code, EXIT_CODES.INVALID_ARGS);
  assert.deepEqual(readdirSync(join(root, 'datasets')), ['tiny']);
  assert.ok(!existsSync(join(root, 'datasets', 'dup')));
});
