import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { EXIT_CODES } from '../errors.js';
import { runCli as run } from '../testing/cli.js';

let dir: string;
let model: string;
const SOURCES = ['moby-dick', 'sotu/abraham-lincoln', 'sotu/george-washington'];
before(() => {
  dir = join(tmpdir(), `unlearn-lm-series-${process.pid}`);
  model = join(dir, 'orig');
  const r = run('lm', 'train', '--config', 'tiny', ...SOURCES.flatMap((s) => ['--source', s]), '--passages', '10', '--steps', '4', '--batch-size', '8', '--out', model);
  assert.equal(r.code, 0, r.stderr);
});

test('lm sustain: one row per step (plus the reference of the step), reports written; --reference must match a step', async () => {
  const ref = join(dir, 'ref1');
  assert.equal(run('lm', 'forget', '--model', model, '--source', 'moby-dick', '--method', 'retrain', '--params', '{"steps":2}', '--out', ref).code, 0);
  const out = join(await mkdtemp(join(tmpdir(), 'unlearn-sustain-')), 'rep');
  const r = run('--json', 'lm', 'sustain', '--model', model, '--source', 'moby-dick', '--source', 'sotu/abraham-lincoln', '--method', 'gradient-difference', '--params', '{"steps":1,"batchSize":4}', '--verb-passages', '2', '--quant-bits', 'none', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout);
  assert.equal(rep.kind, 'sustainability');
  assert.deepEqual(rep.rows.map((x: { step: number }) => x.step), [1, 2]);
  assert.deepEqual(rep.rows[1].audit.sources, ['moby-dick', 'sotu/abraham-lincoln']);
  for (const f of ['report.json', 'report.md', 'report.html']) assert.ok(existsSync(join(out, f)));
  // a reference for step 1 only: step 2 has none → INVALID_ARGS naming the set
  const bad = run('lm', 'sustain', '--model', model, '--source', 'moby-dick', '--source', 'sotu/abraham-lincoln', '--method', 'gradient-difference', '--params', '{"steps":1,"batchSize":4}', '--verb-passages', '2', '--quant-bits', 'none', '--reference', ref);
  assert.equal(bad.code, EXIT_CODES.INVALID_ARGS, bad.stderr);
  assert.match(bad.stderr, /without exactly \[moby-dick, sotu\/abraham-lincoln\]/);
});

test('lm scale: a forget set of 1 source with its reference row, the 4-bit audit by default; bad --quant-bits is INVALID_ARGS', () => {
  const ref = join(dir, 'ref1');
  const r = run('--json', 'lm', 'scale', '--model', model, ...SOURCES.flatMap((s) => ['--source', s]), '--sizes', '1', '--method', 'gradient-ascent', '--params', '{"steps":1,"batchSize":4}', '--verb-passages', '2', '--reference', ref);
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout);
  assert.deepEqual(rep.rows.map((x: { model: string }) => x.model), ['retrain', 'gradient-ascent']);
  assert.equal(rep.rows[0].audit.forget.privLeak, 0);
  assert.equal(rep.rows[1].audit.quantized[0].bits, 4);
  assert.equal(run('lm', 'scale', '--model', model, '--source', 'moby-dick', '--method', 'npo', '--quant-bits', '1').code, EXIT_CODES.INVALID_ARGS);
});
