import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isUnlearnError } from '../errors.js';
import { lossMia } from './lossMia.js';
import type { Metric } from './metric.js';
import { getMetric, listMetrics, registerMetric } from './registry.js';

test('built-in loss-mia is registered', () => {
  assert.ok(listMetrics().includes('loss-mia'));
  assert.equal(getMetric('loss-mia'), lossMia);
});

test('unknown id throws INVALID_PARAMS naming the known ids', () => {
  assert.throws(
    () => getMetric('no-such-metric'),
    (e: unknown) => isUnlearnError(e, 'INVALID_PARAMS') && /loss-mia/.test(e.message) && /no-such-metric/.test(e.message),
  );
});

test('registering an id twice throws; a new id can be registered and found', () => {
  assert.throws(() => registerMetric(lossMia), (e: unknown) => isUnlearnError(e, 'INVALID_PARAMS'));
  const mean: Metric<number[], { mean: number }> = {
    id: 'test-mean',
    description: 'mean of the input',
    compute: (xs) => ({ aggregate: { mean: xs.reduce((a, b) => a + b, 0) / xs.length }, perExample: { value: xs } }),
  };
  registerMetric(mean);
  assert.deepEqual(getMetric<number[], { mean: number }>('test-mean').compute([1, 2, 3]).aggregate, { mean: 2 });
  assert.throws(() => registerMetric({ ...mean }), (e: unknown) => isUnlearnError(e, 'INVALID_PARAMS'));
  assert.throws(() => registerMetric({ ...mean, id: '' }), (e: unknown) => isUnlearnError(e, 'INVALID_PARAMS'));
});
