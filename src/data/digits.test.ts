import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { DataSplit } from './dataset.js';
import { loadDigits } from './digits.js';

let s0: DataSplit;
before(async () => {
  s0 = await loadDigits();
});

test('digits: 10,000 examples, 8,000 / 2,000 at the defaults, stratified', () => {
  assert.equal(s0.train.labels.length, 8000);
  assert.equal(s0.test.labels.length, 2000);
  assert.deepEqual(s0.train.shape, [784]);
  assert.deepEqual(s0.options, { seed: 0, testFraction: 0.2, image: false });
  const perClass = (y: Int32Array) => {
    const c = new Array(10).fill(0);
    for (const v of y) c[v]++;
    return c;
  };
  // package counts per digit: 1001 1127 991 1032 980 863 1014 1070 944 978; test = 20% each
  assert.deepEqual(perClass(s0.test.labels), [200, 225, 198, 206, 196, 173, 203, 214, 189, 196]);
  assert.deepEqual(perClass(s0.train.labels).map((c, d) => c + perClass(s0.test.labels)[d]), [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
  assert.equal(new Set([...s0.train.ids, ...s0.test.ids]).size, 10000);
  assert.match(s0.train.ids[0], /^digits\/\d\/\d+$/);
  assert.deepEqual(s0.train.subjects, s0.train.ids);
  const i = s0.train.ids.indexOf('digits/3/0');
  const j = i >= 0 ? i : s0.test.ids.indexOf('digits/3/0');
  const side = i >= 0 ? s0.train : s0.test;
  assert.equal(side.labels[j], 3);
  let lo = Infinity, hi = -Infinity;
  for (const v of s0.train.features) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  assert.equal(lo, 0);
  assert.equal(hi, 1);
});

test('digits: fingerprint is deterministic per seed and changes with the seed', async () => {
  const again = await loadDigits({ seed: 0 });
  assert.equal(again.fingerprint, s0.fingerprint);
  assert.deepEqual(again.test.ids, s0.test.ids);
  const other = await loadDigits({ seed: 1 });
  assert.notEqual(other.fingerprint, s0.fingerprint);
  assert.notDeepEqual(other.test.ids, s0.test.ids);
  const img = await loadDigits({ image: true, testFraction: 0.5 });
  assert.deepEqual(img.train.shape, [28, 28, 1]);
  assert.equal(img.test.labels.length, 5000);
});
