import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Dataset } from './dataset.js';
import { isUnlearnError } from '../errors.js';
import { selectForgetSet } from './forgetSet.js';

// 12 examples, 3 subjects (alice: 0,3,6,9; bob: 1,4,7,10; carol: 2,5,8,11), labels i % 2.
const ds: Dataset = {
  features: new Float32Array(12),
  shape: [1],
  labels: Int32Array.from({ length: 12 }, (_, i) => i % 2),
  numClasses: 2,
  ids: Array.from({ length: 12 }, (_, i) => `e${i}`),
  subjects: Array.from({ length: 12 }, (_, i) => ['alice', 'bob', 'carol'][i % 3]),
};
const all = ds.ids;

test('forgetting a subject removes exactly its examples from the retain set', () => {
  const f = selectForgetSet(ds, all, { subjects: ['bob'] });
  assert.deepEqual(f.forgetIds, ['e1', 'e4', 'e7', 'e10']);
  assert.deepEqual([...f.retainIdx], [0, 2, 3, 5, 6, 8, 9, 11]);
  assert.deepEqual(f.subjects, ['bob']);
  assert.equal(f.forgetIdx.length + f.retainIdx.length, 12);
});

test('subjects can be named through an alias resolver (pseudonyms)', () => {
  const f = selectForgetSet(ds, all, { subjects: ['s-carol'] }, { resolveSubject: (s) => s.replace(/^s-/, '') });
  assert.deepEqual(f.forgetIds, ['e2', 'e5', 'e8', 'e11']);
});

test('only the lineage counts: examples outside it are neither forgotten nor retained', () => {
  const lineage = all.filter((id) => id !== 'e0' && id !== 'e3');
  const f = selectForgetSet(ds, lineage, { subjects: ['alice'] });
  assert.deepEqual(f.forgetIds, ['e6', 'e9']);
  assert.equal(f.retainIdx.length, 8);
  assert.throws(() => selectForgetSet(ds, lineage, { ids: ['e0'] }), (e) => isUnlearnError(e, 'SUBJECT_NOT_FOUND'));
});

test('ids, classes and a seeded random fraction; criteria combine by union', () => {
  assert.deepEqual(selectForgetSet(ds, all, { ids: ['e5', 'e2'] }).forgetIds, ['e2', 'e5']);
  assert.deepEqual(selectForgetSet(ds, all, { classes: [1] }).forgetIds, ['e1', 'e3', 'e5', 'e7', 'e9', 'e11']);
  const r1 = selectForgetSet(ds, all, { randomFraction: 0.25 }, { seed: 3 });
  const r2 = selectForgetSet(ds, all, { randomFraction: 0.25 }, { seed: 3 });
  assert.equal(r1.forgetIdx.length, 3);
  assert.deepEqual(r1.forgetIds, r2.forgetIds);
  assert.deepEqual(selectForgetSet(ds, all, { subjects: ['alice'], ids: ['e1'] }).forgetIds, ['e0', 'e1', 'e3', 'e6', 'e9']);
});

test('unknown subjects and ids are errors, never a silent no-op', () => {
  assert.throws(() => selectForgetSet(ds, all, { subjects: ['dave'] }), (e) => isUnlearnError(e, 'SUBJECT_NOT_FOUND') && /dave/.test((e as Error).message));
  assert.throws(() => selectForgetSet(ds, all, { subjects: ['bob', 'dave'] }), (e) => isUnlearnError(e, 'SUBJECT_NOT_FOUND'));
  assert.throws(() => selectForgetSet(ds, all, { ids: ['nope'] }), (e) => isUnlearnError(e, 'SUBJECT_NOT_FOUND'));
  assert.throws(() => selectForgetSet(ds, all, {}), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
  assert.throws(() => selectForgetSet(ds, all, { classes: [2] }), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
  assert.throws(() => selectForgetSet(ds, all, { randomFraction: 1.5 }), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
  assert.throws(() => selectForgetSet(ds, all, { classes: [0, 1] }), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
});

test('defect 9: the forget set counts the subjects it removes fully and those that keep other examples', () => {
  const byId = selectForgetSet(ds, all, { ids: ['e0', 'e1', 'e4', 'e7', 'e10'] });
  assert.deepEqual(byId.subjects, ['alice', 'bob']);
  assert.equal(byId.fullyRemoved, 1, 'bob is gone; alice keeps e3, e6, e9');
  assert.equal(selectForgetSet(ds, all, { subjects: ['bob', 'carol'] }).fullyRemoved, 2);
});
