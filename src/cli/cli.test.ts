import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { EXIT_CODES } from '../errors.js';
import { runCli } from '../testing/cli.js';

const run = runCli;

let dir: string;
let model: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'unlearn-cli-'));
  model = join(dir, 'orig');
  const r = run('--json', 'train', '--dataset', 'digits', '--model', 'logreg', '--epochs', '1', '--out', model);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(JSON.parse(r.stdout).testAccuracy > 0.7);
});

test('forget by example id writes a new version whose manifest names its parent and the removed ids', async () => {
  const m = JSON.parse(await readFile(join(model, 'manifest.json'), 'utf8'));
  const ids = m.lineage.trainIds.slice(0, 3);
  const out = join(dir, 'v2');
  const r = run('--json', 'forget', '--model', model, '--method', 'finetune', '--params', '{"epochs":1}', ...ids.flatMap((id: string) => ['--id', id]), '--out', out);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  assert.equal(res.parent, m.modelHash);
  assert.equal(res.forgotten, 3);
  const m2 = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
  assert.deepEqual(m2.removed.ids, ids);
  assert.equal(m2.lineage.numExamples, m.lineage.numExamples - 3);
  assert.ok(!m2.lineage.trainIds.includes(ids[0]));
  const ev = run('--json', 'eval', '--model', out);
  assert.equal(ev.code, 0, ev.stderr);
  assert.ok(JSON.parse(ev.stdout).model.TA > 0.7);
});

test('forgetting a single example works; the MIA is reported as not computable', async () => {
  const m = JSON.parse(await readFile(join(model, 'manifest.json'), 'utf8'));
  const r = run('--json', 'forget', '--model', model, '--method', 'finetune', '--params', '{"epochs":1}', '--id', m.lineage.trainIds[5], '--out', join(dir, 'one'));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).forgotten, 1);
});

test('--out may not overwrite the input model or an existing path without --force', async () => {
  const args = ['forget', '--model', model, '--method', 'finetune', '--params', '{"epochs":1}', '--random', '0.01'];
  const same = run(...args, '--out', model);
  assert.equal(same.code, EXIT_CODES.IO_ERROR);
  assert.match(same.stderr, /input model/);
  const taken = join(dir, 'taken');
  assert.equal(run(...args, '--out', taken).code, 0);
  const again = run(...args, '--out', taken);
  assert.equal(again.code, EXIT_CODES.INVALID_ARGS, 'an existing --out is a usage error (exit 2)');
  assert.match(again.stderr, /--force/);
  assert.equal(run(...args, '--out', taken, '--force').code, 0);
  const cls = run(...args.slice(0, -2), '--class', '1.5', '--out', join(dir, 'cls'));
  assert.equal(cls.code, EXIT_CODES.INVALID_ARGS);
  assert.match(cls.stderr, /--class 1\.5/);
});

test('an unknown subject exits with SUBJECT_NOT_FOUND and writes nothing', () => {
  const out = join(dir, 'never');
  const r = run('forget', '--model', model, '--method', 'finetune', '--subject', 'nobody@example.org', '--out', out);
  assert.equal(r.code, EXIT_CODES.SUBJECT_NOT_FOUND);
  assert.match(r.stderr, /SUBJECT_NOT_FOUND: .*nobody@example\.org/);
  assert.ok(!existsSync(out));
});

test('an unknown method and bad params exit with their codes and write nothing', () => {
  const out = join(dir, 'never2');
  assert.equal(run('forget', '--model', model, '--method', 'magic', '--random', '0.01', '--out', out).code, EXIT_CODES.UNKNOWN_METHOD);
  assert.equal(run('forget', '--model', model, '--method', 'scrub', '--params', '{"gamma":-1}', '--random', '0.01', '--out', out).code, EXIT_CODES.INVALID_PARAMS);
  assert.equal(run('forget', '--model', model, '--method', 'scrub', '--out', out).code, EXIT_CODES.INVALID_ARGS);
  assert.ok(!existsSync(out));
});

test('a missing dataset exits with DATASET_MISSING naming the fix, and writes nothing', () => {
  const out = join(dir, 'fm');
  const r = run('train', '--dataset', 'fashion-mnist', '--data-option', 'dir=/nonexistent/fm', '--out', out);
  assert.equal(r.code, EXIT_CODES.DATASET_MISSING);
  assert.match(r.stderr, /apt-get install dataset-fashion-mnist/);
  assert.ok(!existsSync(out));
  assert.equal(run('train', '--dataset', 'nosuchdata', '--out', out).code, EXIT_CODES.DATASET_MISSING);
});

test('a corrupt or missing model directory exits with MODEL_CORRUPT / MODEL_MISSING', async () => {
  const copy = join(dir, 'corrupt');
  const r = run('train', '--dataset', 'digits', '--model', 'logreg', '--epochs', '1', '--out', copy);
  assert.equal(r.code, 0, r.stderr);
  await truncate(join(copy, 'weights.bin'), 100);
  const e = run('eval', '--model', copy, '--random', '0.01');
  assert.equal(e.code, EXIT_CODES.MODEL_CORRUPT);
  assert.match(e.stderr, /weights\.bin/);
  assert.equal(run('eval', '--model', join(dir, 'absent'), '--random', '0.01').code, EXIT_CODES.MODEL_MISSING);
  assert.ok(!readdirSync(dir).some((f) => f.includes('.tmp-')), 'no temp directories left behind');
});

test('a corrupt manifest is MODEL_CORRUPT; schema-rejected values are INVALID_PARAMS, not internal errors', async () => {
  const { cp, writeFile } = await import('node:fs/promises');
  const bad = join(dir, 'bad-manifest');
  await cp(model, bad, { recursive: true });
  await writeFile(join(bad, 'manifest.json'), '{');
  assert.equal(run('eval', '--model', bad, '--random', '0.01').code, EXIT_CODES.MODEL_CORRUPT);
  assert.equal(run('forget', '--model', bad, '--random', '0.01', '--out', join(dir, 'bm')).code, EXIT_CODES.MODEL_CORRUPT);
  const r = run('train', '--dataset', 'digits', '--hidden', '0', '--epochs', '1', '--out', join(dir, 'h0'));
  assert.equal(r.code, EXIT_CODES.INVALID_PARAMS, r.stderr);
  assert.doesNotMatch(r.stderr, /internal error/);
});

test('--help works for every command', () => {
  for (const c of ['train', 'forget', 'eval', 'demo', 'methods', 'datasets', 'subjects']) {
    const r = run(c, '--help');
    assert.equal(r.code, 0, c);
    assert.match(r.stdout, /Usage: unlearn/);
  }
});

test('conflicting or misplaced train flags are refused with one line, not ignored; usage errors are one line', () => {
  const o = join(dir, 'never');
  const cases: [string[], RegExp][] = [
    [['--sisa', '--certified', '--model', 'logreg'], /--sisa cannot be combined with --certified/],
    [['--model', 'ridge', '--sisa'], /--sisa cannot be combined with --model ridge/],
    [['--epsilon', '0.5'], /--epsilon applies to --certified, not to plain training/],
    [['--shards', '4'], /--shards applies to --sisa/],
    [['--certified', '--model', 'logreg', '--epochs', '3'], /--epochs applies to network training/],
    [['--sisa', '--checkpoint-dir', join(dir, 'ck')], /--checkpoint-dir applies to plain training/],
  ];
  for (const [flags, re] of cases) {
    const r = run('train', '--dataset', 'digits', ...flags, '--out', o);
    assert.equal(r.code, EXIT_CODES.INVALID_ARGS, `${flags.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  assert.ok(!existsSync(o));
  const u = run('train', '--dataset', 'digits', '--no-such-flag', '--out', o);
  assert.equal(u.code, EXIT_CODES.INVALID_ARGS);
  assert.match(u.stderr, /^unlearn: INVALID_ARGS: unknown option '--no-such-flag' \(see --help\)\n$/);
});
