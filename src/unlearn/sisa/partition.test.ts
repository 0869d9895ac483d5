import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Dataset } from '../../data/dataset.js';
import { range } from '../../train/batches.js';
import { aggregateProbabilities } from './ensemble.js';
import { locate, partitionSisa, sliceEpochs, withoutIds } from './partition.js';

/** A labels-only dataset: n examples, subject of example i given by `subjectOf(i)`. */
const toy = (n: number, subjectOf: (i: number) => string): Dataset => ({
  features: new Float32Array(n),
  shape: [1],
  labels: new Int32Array(n),
  numClasses: 2,
  ids: Array.from({ length: n }, (_, i) => `e${i}`),
  subjects: Array.from({ length: n }, (_, i) => subjectOf(i)),
});

test('partition keeps each subject in one shard and one slice, balances sizes, and is seeded', () => {
  // 30 subjects of sizes 1..30 (465 examples); one large subject of 30.
  const sizes = Array.from({ length: 30 }, (_, s) => s + 1);
  const subj = sizes.flatMap((n, s) => new Array(n).fill(`p${s}`));
  const ds = toy(subj.length, (i) => subj[i]);
  const a = partitionSisa(ds, range(ds.labels.length), 4, 3, 1);
  const where = locate(a);
  assert.equal(where.size, 465);
  for (let s = 0; s < 30; s++) {
    const locs = new Set(ds.ids.filter((_, i) => subj[i] === `p${s}`).map((id) => `${where.get(id)!.shard}/${where.get(id)!.slice}`));
    assert.equal(locs.size, 1, `subject p${s} sits in one shard/slice`);
  }
  const shardSizes = a.shards.map((sh) => sh.slices.flat().length);
  assert.ok(Math.max(...shardSizes) - Math.min(...shardSizes) <= 30, `LPT balance within one subject: ${shardSizes}`);
  assert.deepEqual(partitionSisa(ds, range(465), 4, 3, 1), a, 'same seed, same assignment');
  // By example: round-robin-like, sizes differ by at most one.
  const e = partitionSisa(ds, range(465), 4, 3, 1, 'example');
  assert.deepEqual(e.shards.map((sh) => sh.slices.map((x) => x.length)).flat().sort(), [38, 38, 38, 39, 39, 39, 39, 39, 39, 39, 39, 39]);
  assert.notDeepEqual(partitionSisa(ds, range(465), 4, 3, 2, 'example'), e, 'another seed, another assignment');
  const w = withoutIds(e, ['e0', 'e1']);
  assert.equal(locate(w).size, 463);
});

test('slice stage epochs follow 2e/(R+1) (Bourtoule et al. 2021)', () => {
  assert.equal(sliceEpochs(5, 1), 5);
  assert.equal(sliceEpochs(5, 4), 2);
  assert.equal(sliceEpochs(6, 4), 2); // 2.4 rounds to 2
  assert.equal(sliceEpochs(1, 16), 1); // at least one epoch
});

test('aggregation: majority vote with documented tie-breaks, and mean softmax (hand-computed)', () => {
  // 3 shards, 2 examples, 3 classes.
  const p = [
    new Float32Array([0.6, 0.3, 0.1, /**/ 0.5, 0.4, 0.1]),
    new Float32Array([0.2, 0.7, 0.1, /**/ 0.1, 0.45, 0.45]), // example 2: tie inside a shard → class 1 (lowest)
    new Float32Array([0.4, 0.5, 0.1, /**/ 0.1, 0.2, 0.7]),
  ];
  const v = aggregateProbabilities(p, 2, 3, 'vote');
  // Example 1: votes 0,1,1 → class 1. Example 2: votes 0,1,2 → three-way tie → highest mean
  // probability: means (0.233, 0.35, 0.417) → class 2.
  assert.deepEqual(Array.from(v.predicted), [1, 2]);
  assert.ok(Math.abs(v.mean[0] - 0.4) < 1e-7 && Math.abs(v.mean[4] - 0.35) < 1e-7);
  const m = aggregateProbabilities(p, 2, 3, 'mean');
  assert.deepEqual(Array.from(m.predicted), [1, 2]); // means (0.4, 0.5, 0.1) and (0.233, 0.35, 0.417)
  // A vote that disagrees with the mean: two shards weakly for 0, one strongly for 1.
  const q = [new Float32Array([0.51, 0.49]), new Float32Array([0.51, 0.49]), new Float32Array([0.01, 0.99])];
  assert.deepEqual(Array.from(aggregateProbabilities(q, 1, 2, 'vote').predicted), [0]);
  assert.deepEqual(Array.from(aggregateProbabilities(q, 1, 2, 'mean').predicted), [1]);
  // Two-shard tie with equal means falls to the lowest class index.
  const t = [new Float32Array([0.7, 0.3]), new Float32Array([0.3, 0.7])];
  assert.deepEqual(Array.from(aggregateProbabilities(t, 1, 2, 'vote').predicted), [0]);
});
