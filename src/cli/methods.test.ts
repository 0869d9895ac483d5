import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listLmMethods } from '../lm/methods/index.js';
import { runCli } from '../testing/cli.js';
import { listMethods } from '../unlearn/index.js';

test('unlearn methods lists every registered method, classifier and language model, with guarantee, paper and params', () => {
  const r = runCli('--json', 'methods');
  assert.equal(r.code, 0, r.stderr);
  const ms = JSON.parse(r.stdout) as { track: string; id: string; guarantee: string; reference: string; params: Record<string, { default?: unknown }> }[];
  assert.deepEqual(ms.filter((m) => m.track === 'classifier').map((m) => m.id), listMethods().map((m) => m.id));
  assert.deepEqual(ms.filter((m) => m.track === 'language-model').map((m) => m.id), listLmMethods().map((m) => m.id));
  for (const m of ms) assert.ok(m.guarantee && m.reference.length > 10 && m.params, m.id);
  assert.equal(ms.find((m) => m.id === 'salun')!.params.maskFraction.default, 0.5);
  assert.equal(ms.find((m) => m.id === 'ssd')!.params.alpha.default, 10);
  const text = runCli('methods');
  for (const id of ['random-label', 'salun', 'ssd', 'l1-sparse', 'bad-teacher', 'reset-distil', 'scrub-r', 'npo']) assert.match(text.stdout, new RegExp(`^${id} `, 'm'));
  assert.match(text.stdout, /Foster, Schoepf, Brintrup/);
});
