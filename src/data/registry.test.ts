import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isUnlearnError } from '../errors.js';
import { fingerprintSplit } from './dataset.js';
import { listDatasets, loadDataset } from './registry.js';

test('registry: lists the loaders', () => {
  assert.deepEqual(listDatasets().map((d) => d.name), ['emails', 'digits', 'fashion-mnist', 'cps-wages']);
});

test('registry: unknown name → DATASET_MISSING listing known names', async () => {
  await assert.rejects(loadDataset('cifar'), (e: unknown) => isUnlearnError(e, 'DATASET_MISSING') && /emails, digits, fashion-mnist/.test((e as Error).message));
});

test('registry: bad or unknown options → INVALID_PARAMS', async () => {
  for (const [name, opts] of [
    ['digits', { testFraction: 1.5 }],
    ['digits', { seed: -1 }],
    ['digits', { seeed: 1 }],
    ['emails', { dim: 0 }],
    ['fashion-mnist', { limit: 'ten' }],
  ] as const) {
    await assert.rejects(loadDataset(name, opts as Record<string, unknown>), (e: unknown) => isUnlearnError(e, 'INVALID_PARAMS'), `${name} ${JSON.stringify(opts)}`);
  }
});

test('registry: defaults filled into options, fingerprint recomputable', async () => {
  const s = await loadDataset('digits', { seed: 3 });
  assert.deepEqual(s.options, { seed: 3, testFraction: 0.2, image: false });
  assert.equal(s.fingerprint, fingerprintSplit('digits', s.train, s.test));
  assert.equal((s.meta.split as { seed: number }).seed, 3);
});
