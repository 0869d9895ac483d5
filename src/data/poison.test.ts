import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fingerprintSplit, type DataSplit, type Dataset } from './dataset.js';
import { poisonSplit, triggeredCopy } from './poison.js';

// 40 blank 4×4 "images" (16 features), labels i % 4.
const ds: Dataset = { features: new Float32Array(40 * 16), shape: [16], labels: Int32Array.from({ length: 40 }, (_, i) => i % 4), numClasses: 4, ids: Array.from({ length: 40 }, (_, i) => `e${i}`), subjects: Array.from({ length: 40 }, (_, i) => `e${i}`) };
const split: DataSplit = { name: 'toy', options: {}, classNames: ['a', 'b', 'c', 'd'], train: ds, test: ds, fingerprint: fingerprintSplit('toy', ds, ds), meta: {} };

test('backdoor: a seeded share of non-target examples gets the corner trigger and the target label', () => {
  const { split: p, poisonedIdx } = poisonSplit(split, { kind: 'backdoor', fraction: 0.25, target: 1, patch: 2, seed: 3 });
  assert.equal(poisonedIdx.length, 10);
  const corner = [10, 11, 14, 15]; // bottom-right 2×2 of a 4×4 image
  for (let i = 0; i < 40; i++) {
    const hit = poisonedIdx.includes(i);
    assert.equal(p.train.labels[i], hit ? 1 : ds.labels[i]);
    if (hit) assert.notEqual(ds.labels[i], 1, 'only non-target examples are poisoned');
    for (let k = 0; k < 16; k++) assert.equal(p.train.features[i * 16 + k], hit && corner.includes(k) ? 1 : 0);
  }
  assert.equal(ds.features.some((v) => v !== 0), false, 'the clean data is untouched');
  assert.notEqual(p.fingerprint, split.fingerprint);
  assert.deepEqual(poisonSplit(split, { kind: 'backdoor', fraction: 0.25, target: 1, patch: 2, seed: 3 }).poisonedIdx, poisonedIdx, 'seeded');
});

test('label flips swap the labels of a share of the two classes; triggeredCopy stamps test images', () => {
  const { split: p, poisonedIdx } = poisonSplit(split, { kind: 'label-flip', fraction: 0.5, classes: [0, 2], seed: 1 });
  assert.equal(poisonedIdx.length, 10, 'half of the 20 examples of classes 0 and 2');
  for (const i of poisonedIdx) assert.equal(p.train.labels[i], 2 - ds.labels[i]);
  assert.equal([...p.train.labels].filter((y, i) => y !== ds.labels[i]).length, 10);
  const t = triggeredCopy(ds, Int32Array.from([3, 5]), 2);
  assert.deepEqual([...t.labels], [3, 1]);
  assert.deepEqual([...t.features.subarray(0, 16)].map((v, k) => (v ? k : -1)).filter((k) => k >= 0), [10, 11, 14, 15]);
});
