import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isUnlearnError } from '../errors.js';
import { benchDataOptions, parseForget } from './bench.js';

test('parseForget: top-subject:R is a subject rank, unions with the other kinds, and is accepted once', () => {
  assert.deepEqual(parseForget('top-subject:1'), { subjectRank: 1 });
  assert.deepEqual(parseForget('top-subject:3,class:2'), { subjectRank: 3, classes: [2] });
  assert.deepEqual(parseForget('random:0.02'), { randomFraction: 0.02 });
  assert.throws(() => parseForget('top-subject:1,top-subject:2'), (e) => isUnlearnError(e, 'INVALID_ARGS') && /top-subject/.test(e.hint ?? ''));
  assert.throws(() => parseForget('sender:1'), (e) => isUnlearnError(e, 'INVALID_ARGS'));
});

test('benchDataOptions: a CNN on an image dataset implies image=true unless given', () => {
  assert.deepEqual(benchDataOptions('fashion-mnist', 'cnn', { limit: 2000 }), { image: true, limit: 2000 });
  assert.deepEqual(benchDataOptions('digits', 'cnn', { image: false }), { image: false });
  assert.deepEqual(benchDataOptions('fashion-mnist', 'mlp', undefined), {});
  assert.deepEqual(benchDataOptions('emails', 'cnn', { dim: 1024 }), { dim: 1024 });
});
