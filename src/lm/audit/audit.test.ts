import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readdirSync } from 'node:fs';
import { lcsLength, rougeL, rougeTokens } from './rouge.js';
import { aggregateProbes, answerRank, loadProbes } from './knowledge.js';
import { privLeak } from './privleak.js';
import { sourceTexts } from '../data.js';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);

test('ROUGE-L on hand-computed pairs', () => {
  assert.deepEqual(rougeTokens("Call me Ishmael. Some years ago—never"), ['call', 'me', 'ishmael', 'some', 'years', 'ago', 'never']);
  assert.equal(lcsLength(['a', 'b', 'c', 'd'], ['a', 'c', 'd', 'b']), 3);
  // identical → 1
  close(rougeL('the white whale', 'The white whale!').f1, 1);
  // candidate "the whale swims" vs reference "the white whale": LCS = [the, whale] = 2; P = 2/3, R = 2/3, F1 = 2/3
  const r = rougeL('the whale swims', 'the white whale');
  close(r.precision, 2 / 3);
  close(r.recall, 2 / 3);
  close(r.f1, 2 / 3);
  // candidate "whale" vs reference "call me ishmael the whale": LCS 1, P = 1, R = 1/5, F1 = 2·(1·0.2)/1.2 = 1/3
  close(rougeL('whale', 'call me ishmael the whale').f1, 1 / 3);
  // nothing in common / empty
  assert.equal(rougeL('sea', 'land').f1, 0);
  assert.equal(rougeL('', 'land').f1, 0);
});

test('answer rank counts ties against the answer', () => {
  assert.equal(answerRank([-1, -2, -3]), 1);
  assert.equal(answerRank([-2, -1, -3]), 2);
  assert.equal(answerRank([-1, -1, -3]), 2);
});

test('paraphrase audit takes the max over paraphrases, not the mean', () => {
  // probe a: original wording known, paraphrases not; probe b: only the 3rd paraphrase known;
  // probe c: nothing known.
  const r = aggregateProbes(['a', 'b', 'c'], [[1, 2, 3, 2], [2, 4, 4, 1], [3, 2, 2, 4]], [4, 4, 4]);
  close(r.original, 1 / 3);
  close(r.maxWording, 2 / 3); // a leaks in its own wording, b under a paraphrase: the max includes the original
  assert.ok(r.maxWording >= r.original, 'the attacker\'s best case is never below the original wording');
  close(r.paraphraseMean, (0 + 1 / 3 + 0) / 3); // the mean would understate b's leak
  assert.equal(r.perProbe[1].anyWording, true);
  assert.equal(r.perProbe[2].anyWording, false);
  close(r.chance, 0.25);
});

test('PrivLeak = (AUC_u − AUC_r)/AUC_r', () => {
  close(privLeak(0.75, 0.5), 0.5);
  close(privLeak(0.5, 0.5), 0);
  close(privLeak(0.4, 0.5), -0.2);
});

test('shipped probe files parse, have ≥ 3 wordings, and their original wordings occur in the source text', () => {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'probes');
  const texts = sourceTexts();
  const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
  assert.ok(files.length >= 3);
  for (const f of files) {
    for (const p of loadProbes(join(dir, f))) {
      assert.ok(p.prompts.length >= 3, p.id);
      const t = texts.get(p.source);
      assert.ok(t, `${p.id}: unknown source ${p.source}`);
      const at = t!.indexOf(p.prompts[0] + p.answer);
      assert.ok(at >= 0 && at < 25_000, `${p.id}: original wording + answer not in the first 25 KB of ${p.source}`);
    }
  }
});
