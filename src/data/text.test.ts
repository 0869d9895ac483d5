import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emailTokens } from './emailCorpus.js';
import { countTokens, fnv1a32, hashedVector, hashIndex, tokenize } from './text.js';

test('tokenize: NFKC, lower-case, letter/digit runs of 2-30 code points', () => {
  assert.deepEqual(tokenize('Hello, WORLD! a 42x_y ﬁne Straße naïve'), ['hello', 'world', '42x', 'fine', 'straße', 'naïve']);
  assert.deepEqual(tokenize('x'.repeat(30) + ' ' + 'y'.repeat(31) + ' ok'), ['x'.repeat(30), 'ok']);
  assert.deepEqual(tokenize('日本語の件名（サブジェクト）'), ['日本語の件名', 'サブジェクト']);
  assert.deepEqual(tokenize('𝟘𝟙 é'), ['01']); // NFKC maps math digits; 'é' is one code point
  assert.deepEqual(tokenize(''), []);
});

test('emailTokens prefixes subject tokens with s:', () => {
  assert.deepEqual(emailTokens('Re: Cheap pills', 'Buy cheap now'), ['s:re', 's:cheap', 's:pills', 'buy', 'cheap', 'now']);
});

test('fnv1a32 matches the published FNV-1a test vectors and TextEncoder UTF-8', () => {
  assert.equal(fnv1a32(''), 0x811c9dc5);
  assert.equal(fnv1a32('a'), 0xe40c292c);
  assert.equal(fnv1a32('foobar'), 0xbf9cf968);
  const ref = (s: string) => {
    let h = 0x811c9dc5;
    for (const b of new TextEncoder().encode(s)) h = Math.imul(h ^ b, 0x01000193);
    return h >>> 0;
  };
  for (const s of ['straße', 'サブジェクト', '𝟘x', 's:naïve', '\ud800']) assert.equal(fnv1a32(s), ref(s), s);
});

test('hashIndex and hashedVector: log(1+count), L2-normalised', () => {
  assert.equal(hashIndex('a', 16384), 0xe40c292c % 16384);
  assert.equal(hashIndex('a', 16384), 10540);
  assert.equal(hashIndex('foobar', 16384), 0xbf9cf968 % 16384);
  assert.equal(hashIndex('foobar', 16384), 14696);
  const v = hashedVector(countTokens(['a', 'foobar', 'a']), 16384);
  const norm = Math.hypot(Math.log(3), Math.log(2));
  assert.ok(Math.abs(v[10540] - Math.log(3) / norm) < 1e-6);
  assert.ok(Math.abs(v[14696] - Math.log(2) / norm) < 1e-6);
  assert.equal(v.reduce((a, x) => a + (x !== 0 ? 1 : 0), 0), 2);
  // collisions add counts before weighting: in dim 1 everything lands on index 0 with weight 1
  assert.deepEqual([...hashedVector(countTokens(['a', 'b', 'cc']), 1)], [1]);
  assert.deepEqual([...hashedVector(countTokens([]), 4)], [0, 0, 0, 0]);
});
