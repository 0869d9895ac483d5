import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isUnlearnError } from '../errors.js';
import { stratifiedSplit } from './split.js';

test('stratifiedSplit: exact total, per-class quotas by largest remainder, disjoint, sorted, seeded', () => {
  const labels = Int32Array.from([0, 0, 0, 1, 1, 1, 1, 2, 2, 2]);
  const a = stratifiedSplit(labels, 3, 0.5, 7, 't');
  assert.equal(a.test.length, 5);
  assert.equal(a.train.length + a.test.length, 10);
  assert.equal(new Set([...a.train, ...a.test]).size, 10);
  assert.deepEqual([...a.test], [...a.test].sort((x, y) => x - y));
  const c = [0, 0, 0];
  for (const i of a.test) c[labels[i]]++;
  // floors 1,2,1 (=4); one extra slot to the largest remainder (classes 0 and 2 tie at .5 → class 0)
  assert.deepEqual(c, [2, 2, 1]);
  assert.deepEqual(stratifiedSplit(labels, 3, 0.5, 7, 't'), a);
  const seeds = new Set(Array.from({ length: 8 }, (_, s) => [...stratifiedSplit(labels, 3, 0.5, s, 't').test].join()));
  assert.ok(seeds.size > 1);
  assert.equal(stratifiedSplit(labels, 3, 0, 0, 't').test.length, 0);
  assert.throws(() => stratifiedSplit(labels, 3, 1, 0, 't'), (e: unknown) => isUnlearnError(e, 'INVALID_PARAMS'));
});
