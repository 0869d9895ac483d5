/**
 * Defect 9 / issue 10 part 7 regressions at the command line: each bad input gives one line with
 * the documented exit code, before any work, and leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { EXIT_CODES } from '../errors.js';
import { runCli } from '../testing/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'unlearn-leftovers-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const expect = (args: string[], code: number, re: RegExp) => {
  const r = runCli(...args);
  assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
  assert.match(r.stderr, re, args.join(' '));
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
};

test('defect 9: unchecked numbers and malformed params are refused with consistent codes', () => {
  expect(['train', '--dataset', 'digits', '--sisa', '--workers', '0', '--out', join(dir, 'w')], EXIT_CODES.INVALID_ARGS, /--workers.*positive integer/);
  expect(['bench', '--workers', '-1', '--out', join(dir, 'b')], EXIT_CODES.INVALID_ARGS, /positive integer/);
  expect(['forget', '--model', join(dir, 'm'), '--random', '0.1', '--method', 'scrub', '--params', '[1,2]', '--out', join(dir, 'o')], EXIT_CODES.INVALID_PARAMS, /must be a JSON object/);
  expect(['forget', '--model', join(dir, 'm'), '--random', '0.1', '--method', 'scrub', '--params', '{alpha:', '--out', join(dir, 'o')], EXIT_CODES.INVALID_PARAMS, /not valid JSON/);
  expect(['lm', 'generate', '--model', join(dir, 'none'), '--prompt', 'x', '--top-k', '1000'], EXIT_CODES.INVALID_PARAMS, /top-k is at most 256/);
  expect(['forget', '--model', join(dir, 'm'), '--random', '0.1', '--method', 'scrub', '--out', ''], EXIT_CODES.INVALID_ARGS, /--out is empty/);
});

test('defect 9 / issue 10.7: a single unknown --source is named', () => {
  expect(['lm', 'train', '--source', 'hamlet', '--out', join(dir, 'lm')], EXIT_CODES.SUBJECT_NOT_FOUND, /unknown text source "hamlet"/);
});

test('defect 9: a --checkpoint-dir that is a file is IO_ERROR before training', () => {
  writeFileSync(join(dir, 'afile'), 'x');
  expect(['train', '--dataset', 'digits', '--model', 'logreg', '--epochs', '1', '--checkpoint-dir', join(dir, 'afile'), '--out', join(dir, 'ck')], EXIT_CODES.IO_ERROR, /afile exists and is not a directory/);
  assert.ok(!existsSync(join(dir, 'ck')));
});

test('defect 9: demo and bench refuse an existing non-empty --out without --force; bench refuses N that resolves no ε; a failed demo leaves nothing', () => {
  mkdirSync(join(dir, 'full'));
  writeFileSync(join(dir, 'full', 'notes.txt'), 'mine');
  expect(['demo', '--out', join(dir, 'full')], EXIT_CODES.INVALID_ARGS, /already exists/);
  expect(['bench', '--out', join(dir, 'full')], EXIT_CODES.INVALID_ARGS, /already exists/);
  expect(['bench', '--out', join(dir, 'full'), '--force'], EXIT_CODES.IO_ERROR, /other content/);
  expect(['bench', '--models', '2', '--out', join(dir, 'b2')], EXIT_CODES.INVALID_PARAMS, /--models 2 cannot resolve any ε.*from N = 3/);
  expect(['demo', '--out', join(dir, 'd'), '--subject', 'nobody@example.org'], EXIT_CODES.SUBJECT_NOT_FOUND, /nobody@example\.org/);
  assert.ok(!existsSync(join(dir, 'd')), 'a failed demo leaves no --out');
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.')), [], 'no staging directory or lock left');
});

test('issue 10.7: `unlearn lm methods` lists each method\'s params as `unlearn methods` does', () => {
  const r = runCli('--json', 'lm', 'methods');
  assert.equal(r.code, 0, r.stderr);
  const ms = JSON.parse(r.stdout) as { id: string; params: Record<string, { default?: unknown }> }[];
  const npo = ms.find((m) => m.id === 'npo');
  assert.ok(npo && 'beta' in npo.params && 'steps' in npo.params, JSON.stringify(npo));
  assert.match(runCli('lm', 'methods').stdout, /params: .*beta=/);
});
