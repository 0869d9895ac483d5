import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { isUnlearnError } from '../errors.js';
import { isPseudonym, pseudonymise, pseudonymKey, PSEUDONYM_KEY_ENV, SubjectIndex } from './pseudonym.js';

test('pseudonymise: s- + first 10 hex of HMAC-SHA256, stable, key-dependent', () => {
  const p = pseudonymise('kre@munnari.oz.au', 'k1');
  assert.equal(p, 's-' + createHmac('sha256', 'k1').update('kre@munnari.oz.au').digest('hex').slice(0, 10));
  assert.match(p, /^s-[0-9a-f]{10}$/);
  assert.ok(isPseudonym(p));
  assert.equal(pseudonymise('kre@munnari.oz.au', 'k1'), p);
  assert.notEqual(pseudonymise('kre@munnari.oz.au', 'k2'), p);
  assert.notEqual(pseudonymise('other@x.org', 'k1'), p);
});

test('pseudonymKey: env wins; the default depends only on the dataset name and its subjects', () => {
  const saved = process.env[PSEUDONYM_KEY_ENV];
  try {
    delete process.env[PSEUDONYM_KEY_ENV];
    const a = { name: 'x', train: { subjects: ['b', 'a'] }, test: { subjects: ['a'] } };
    assert.equal(pseudonymKey(a), pseudonymKey({ name: 'x', train: { subjects: ['a'] }, test: { subjects: ['b', 'b'] } }));
    assert.notEqual(pseudonymKey(a), pseudonymKey({ ...a, name: 'y' }));
    process.env[PSEUDONYM_KEY_ENV] = 'secret';
    assert.equal(pseudonymKey(a), 'secret');
  } finally {
    if (saved === undefined) delete process.env[PSEUDONYM_KEY_ENV];
    else process.env[PSEUDONYM_KEY_ENV] = saved;
  }
});

test('SubjectIndex maps both ways and resolves a subject named either way', () => {
  const ix = new SubjectIndex(['a@x.org', 'b@y.org', 'a@x.org'], 'key');
  assert.equal(ix.size, 2);
  const pa = ix.pseudonym('a@x.org')!;
  assert.equal(pa, pseudonymise('a@x.org', 'key'));
  assert.equal(ix.real(pa), 'a@x.org');
  assert.equal(ix.resolve('a@x.org'), 'a@x.org');
  assert.equal(ix.resolve(' A@X.org '), 'a@x.org');
  assert.equal(ix.resolve(pa), 'a@x.org');
  assert.equal(ix.display('a@x.org'), pa);
  assert.equal(ix.display('a@x.org', true), 'a@x.org');
  assert.throws(() => ix.resolve('c@z.org'), (e: unknown) => isUnlearnError(e, 'SUBJECT_NOT_FOUND'));
  assert.throws(() => ix.resolve(pseudonymise('c@z.org', 'key')), (e: unknown) => isUnlearnError(e, 'SUBJECT_NOT_FOUND'));
  assert.deepEqual([...ix.entries()].map(([r]) => r), ['a@x.org', 'b@y.org']);
});
