import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CPS_FEATURES, CPS_MEDIAN_WAGE } from './cpsWages.js';
import { loadDataset } from './registry.js';

test('cps-wages: 534 people, 15 fixed features, ln(wage) targets, median-wage labels, stratified split', async () => {
  const s = await loadDataset('cps-wages');
  assert.equal(s.train.labels.length + s.test.labels.length, 534);
  assert.deepEqual(s.train.shape, [CPS_FEATURES.length]);
  assert.equal(s.test.labels.length, 107);
  // First row of the package: education 8, female, experience 21, union, wage 5.1, age 35, hispanic, other occupation, manufacturing, unmarried.
  const all = [s.train, s.test];
  const ds = all.find((d) => d.ids.includes('cps/0'))!;
  const i = ds.ids.indexOf('cps/0');
  assert.deepEqual(Array.from(ds.features.subarray(i * 15, i * 15 + 15)).map((v) => +v.toFixed(4)), [0.8, 2.1, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0]);
  assert.ok(Math.abs(ds.targets![i] - Math.log(5.1)) < 1e-12);
  assert.equal(ds.labels[i], 5.1 >= CPS_MEDIAN_WAGE ? 1 : 0);
  const again = await loadDataset('cps-wages');
  assert.equal(again.fingerprint, s.fingerprint);
  assert.notEqual((await loadDataset('cps-wages', { seed: 1 })).fingerprint, s.fingerprint);
});
