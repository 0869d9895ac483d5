import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isUnlearnError } from '../../errors.js';
import { loadLmCorpus } from '../../lm/data.js';
import { importText, readCorpus } from './importText.js';

test('a JSONL corpus {id, source, text} imports and feeds the language-model corpus; sources are its subjects', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'unlearn-text-'));
  const root = join(dir, 'home');
  process.env.UNLEARN_HOME = root;
  const lines = Array.from({ length: 30 }, (_, i) => JSON.stringify({ id: `d${i}`, source: ['ann', 'ben', 'cat'][i % 3], text: `document ${i} of ${['ann', 'ben', 'cat'][i % 3]}: ${'lorem ipsum dolor sit amet '.repeat(3)}` }));
  writeFileSync(join(dir, 'c.jsonl'), lines.join('\n'));
  const s = await importText({ name: 'notes', file: join(dir, 'c.jsonl') });
  assert.deepEqual(Object.keys(s.sources), ['ann', 'ben', 'cat']);
  assert.equal(readCorpus('notes').documents.length, 30);
  const c = loadLmCorpus({ corpus: 'notes', passageBytes: 63 });
  assert.deepEqual(c.sources, ['ann', 'ben', 'cat']);
  assert.ok(c.train.every((d) => d.id.startsWith(d.source + '#')));
  assert.ok(c.train.length + c.heldOut.length > 30);
  // A changed document changes the corpus fingerprint.
  writeFileSync(join(dir, 'c2.jsonl'), [...lines.slice(0, 29), JSON.stringify({ id: 'd29', source: 'cat', text: 'changed' })].join('\n'));
  await importText({ name: 'notes', file: join(dir, 'c2.jsonl'), force: true });
  assert.notEqual(loadLmCorpus({ corpus: 'notes', passageBytes: 63 }).fingerprint, c.fingerprint);
  writeFileSync(join(dir, 'dup.jsonl'), [lines[0], lines[1], lines[0]].join('\n'));
  await assert.rejects(importText({ name: 'dup', file: join(dir, 'dup.jsonl') }), (e) => isUnlearnError(e, 'DUPLICATE_ID') && /row 3 repeats id 'd0' of row 1/.test(e.message));
  await assert.rejects(importText({ name: 'x', file: join(dir, 'c.jsonl'), textCol: 'body' }), (e) => isUnlearnError(e, 'INVALID_ARGS') && /columns present: id, source, text/.test(e.message));
});
