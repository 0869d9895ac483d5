import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isUnlearnError } from '../errors.js';
import { listSources, loadLmCorpus, passages, presidentSource } from './data.js';

test('sources: the novel and the 43 presidents', () => {
  const s = listSources();
  assert.ok(s.some((x) => x.source === 'moby-dick' && x.bytes > 1_000_000));
  assert.ok(s.some((x) => x.source === 'sotu/abraham-lincoln'));
  assert.equal(presidentSource('William J Clinton'), 'sotu/william-j-clinton');
  assert.equal(s.length, 44);
});

test('passages: cut at spaces within the byte limit, nothing lost', () => {
  const p = passages('aa bbb cc dddd e', 6);
  assert.deepEqual(p, ['aa bbb', 'cc', 'dddd e']);
  assert.deepEqual(passages('abcdefghij k', 4), ['abcd', 'efgh', 'ij k']);
  for (const x of passages('naïve café déjà vu', 7)) assert.ok(Buffer.byteLength(x) <= 7);
});

test('corpus: seeded per-source split, stable fingerprint, errors for bad input', () => {
  const o = { sources: ['moby-dick', 'sotu/abraham-lincoln'], maxPassagesPerSource: 50, passageBytes: 63 };
  const a = loadLmCorpus(o);
  const b = loadLmCorpus(o);
  assert.equal(a.fingerprint, b.fingerprint);
  assert.equal(a.train.length + a.heldOut.length, 100);
  assert.equal(a.heldOut.filter((d) => d.source === 'moby-dick').length, 10);
  assert.equal(a.train[0].id, 'moby-dick#' + a.train[0].index);
  assert.ok(a.train.some((d) => d.text.startsWith('Call me Ishmael')) || a.heldOut.some((d) => d.text.startsWith('Call me Ishmael')));
  assert.notEqual(loadLmCorpus({ ...o, seed: 1 }).fingerprint, a.fingerprint);
  assert.throws(() => loadLmCorpus({ sources: ['moby-dick', 'nobody'] }), (e) => isUnlearnError(e, 'SUBJECT_NOT_FOUND'));
  assert.throws(() => loadLmCorpus({ passageBytes: 3 }), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
});
