import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { EXIT_CODES } from '../errors.js';
import { runCli } from '../testing/cli.js';

const run = runCli;

let dir: string;
let model: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'unlearn-lm-cli-'));
  model = join(dir, 'v1');
  const r = run('--json', 'lm', 'train', '--config', 'tiny', '--source', 'moby-dick', '--source', 'sotu/abraham-lincoln', '--passages', '12', '--steps', '8', '--batch-size', '8', '--out', model);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).sources, ['moby-dick', 'sotu/abraham-lincoln']);
});

test('lm forget → lm audit writes a version naming its parent and a report', async () => {
  const m = JSON.parse(await readFile(join(model, 'manifest.json'), 'utf8'));
  const out = join(dir, 'v2');
  const f = run('--json', 'lm', 'forget', '--model', model, '--source', 'moby-dick', '--method', 'gradient-ascent', '--params', '{"steps":2,"batchSize":4}', '--out', out);
  assert.equal(f.code, 0, f.stderr);
  const res = JSON.parse(f.stdout);
  assert.equal(res.parent, m.modelHash);
  assert.deepEqual(res.removed.sources, ['moby-dick']);
  const a = run('--json', 'lm', 'audit', '--model', out, '--verb-passages', '4', '--relearn-steps', '1', '--out', join(dir, 'rep'));
  assert.equal(a.code, 0, a.stderr);
  const rep = JSON.parse(a.stdout);
  assert.equal(rep.source, 'moby-dick');
  assert.equal(rep.rows[0].audit.forget.knowledge.probes, 16);
  for (const f of ['report.json', 'report.md', 'report.html']) assert.ok(existsSync(join(dir, 'rep', f)));
  const g = run('--json', 'lm', 'generate', '--model', out, '--prompt', 'Call me', '--max-tokens', '5');
  assert.equal(g.code, 0, g.stderr);
  assert.equal(typeof JSON.parse(g.stdout)[0].continuation, 'string');
  const g0 = run('--json', 'lm', 'generate', '--model', out, '--prompt', 'Call me', '--max-tokens', '5', '--temperature', '0');
  assert.equal(g0.code, 0, g0.stderr);
  assert.equal(JSON.parse(g0.stdout)[0].continuation, JSON.parse(g.stdout)[0].continuation, 'temperature 0 = greedy (the default)');
});

test('lm errors map to exit codes', () => {
  assert.equal(run('lm', 'forget', '--model', model, '--source', 'sotu/barack-obama', '--method', 'npo', '--out', join(dir, 'x')).code, EXIT_CODES.SUBJECT_NOT_FOUND);
  assert.equal(run('lm', 'forget', '--model', model, '--source', 'moby-dick', '--method', 'nope', '--out', join(dir, 'x')).code, EXIT_CODES.UNKNOWN_METHOD);
  assert.equal(run('lm', 'forget', '--model', model, '--source', 'moby-dick', '--method', 'npo', '--params', '{"beta":0}', '--out', join(dir, 'x')).code, EXIT_CODES.INVALID_PARAMS);
  assert.equal(run('lm', 'audit', '--model', join(dir, 'missing')).code, EXIT_CODES.MODEL_MISSING);
  assert.equal(run('lm', 'train', '--source', 'moby-dick', '--source', 'nobody', '--out', join(dir, 'y')).code, EXIT_CODES.SUBJECT_NOT_FOUND);
  assert.equal(run('lm', 'train').code, EXIT_CODES.INVALID_ARGS);
});

test('a model directory of the other kind is named as such (exit 2), both ways', () => {
  const cls = join(dir, 'classifier');
  assert.equal(run('train', '--dataset', 'digits', '--model', 'logreg', '--epochs', '1', '--out', cls).code, 0);
  const a = run('lm', 'audit', '--model', cls);
  assert.equal(a.code, EXIT_CODES.INVALID_ARGS, a.stderr);
  assert.match(a.stderr, /is a classifier network \(unlearn-model\/1\), not a language model.*unlearn forget/);
  const f = run('forget', '--model', model, '--random', '0.1', '--method', 'finetune', '--out', join(dir, 'z'));
  assert.equal(f.code, EXIT_CODES.INVALID_ARGS, f.stderr);
  assert.match(f.stderr, /is a language model \(unlearn-lm\/1\), not a classifier network.*unlearn lm forget/);
});

test('lm audit: --out is a new directory (IO_ERROR, also under /proc, without hanging); --reference must be a retrain of the same removal', () => {
  const v2 = join(dir, 'v2');
  assert.ok(existsSync(v2), 'the forget test ran first');
  const p = run('lm', 'audit', '--model', v2, '--verb-passages', '2', '--relearn-steps', '0', '--out', '/proc/unlearn-nope');
  assert.equal(p.code, EXIT_CODES.IO_ERROR, p.stderr);
  assert.equal(run('lm', 'audit', '--model', v2, '--out', model).code, EXIT_CODES.INVALID_ARGS, 'an existing --out is a usage error');
  const r = run('lm', 'audit', '--model', v2, '--reference', model);
  assert.equal(r.code, EXIT_CODES.INVALID_ARGS, r.stderr);
  assert.match(r.stderr, /is not a retrained model \(method train\)/);
  assert.equal(run('lm', 'train', '--source', 'moby-dick', '--source', 'moby-dick', '--out', join(dir, 'dup')).code, EXIT_CODES.INVALID_PARAMS);
});
