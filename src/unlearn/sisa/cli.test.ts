import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { EXIT_CODES } from '../../errors.js';
import { runCli } from '../../testing/cli.js';

const run = runCli;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'unlearn-sisa-cli-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('unlearn train --sisa, forget, eval and prune on a SISA model', async () => {
  const model = join(dir, 'sisa');
  const t = run('--json', 'train', '--dataset', 'digits', '--model', 'logreg', '--epochs', '2', '--lr', '0.01', '--sisa', '--shards', '4', '--slices', '2', '--workers', '2', '--out', model);
  assert.equal(t.code, 0, t.stderr);
  const tr = JSON.parse(t.stdout);
  assert.ok(tr.testAccuracy > 0.8, `ensemble TA ${tr.testAccuracy}`);
  assert.equal(tr.storage.checkpoints, 4);
  const m = JSON.parse(await readFile(join(model, 'manifest.json'), 'utf8'));
  const ids = [m.assignment.shards[1].slices[1][0], m.assignment.shards[1].slices[1][1]];
  const out = join(dir, 'v2');
  const f = run('--json', 'forget', '--model', model, ...ids.flatMap((id: string) => ['--id', id]), '--out', out);
  assert.equal(f.code, 0, f.stderr);
  const fr = JSON.parse(f.stdout);
  assert.equal(fr.guarantee, 'exact');
  assert.equal(fr.parent, m.modelHash);
  assert.equal(fr.forgotten, 2);
  assert.match(fr.notes.join('\n'), /retrained shard 1 \(earliest affected slice 2\) from the checkpoint after slice 1/);
  const e = run('--json', 'eval', '--model', out, '--reference', model);
  assert.equal(e.code, 0, e.stderr);
  const er = JSON.parse(e.stdout);
  assert.ok(er.model.TA > 0.8 && er.reference.TA > 0.8);
  // One example: no MIA possible, the deletion still succeeds.
  const one = run('--json', 'forget', '--model', out, '--id', m.assignment.shards[0].slices[0][0], '--out', join(dir, 'v3'));
  assert.equal(one.code, 0, one.stderr);
  assert.equal(JSON.parse(one.stdout).forgotten, 1);
  const p = run('--json', 'prune', '--model', out, '--keep-from-slice', '2');
  assert.equal(p.code, 0, p.stderr);
  assert.equal(JSON.parse(p.stdout).storage.checkpoints, 0);
  // Another method on a SISA model, bad S, an unknown id: clear errors, nothing written.
  assert.equal(run('forget', '--model', model, '--method', 'finetune', '--id', ids[0], '--out', join(dir, 'never')).code, EXIT_CODES.INVALID_ARGS);
  assert.equal(run('forget', '--model', out, '--id', ids[0], '--out', join(dir, 'never')).code, EXIT_CODES.SUBJECT_NOT_FOUND);
  assert.equal(run('train', '--dataset', 'digits', '--model', 'logreg', '--sisa', '--shards', '0', '--out', join(dir, 'never')).code, EXIT_CODES.INVALID_PARAMS);
  assert.ok(!existsSync(join(dir, 'never')));
});
