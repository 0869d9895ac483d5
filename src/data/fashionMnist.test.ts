import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { isUnlearnError } from '../errors.js';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DEFAULT_DIR, loadFashionMnist } from './fashionMnist.js';
import { encodeIdx } from './idx.js';

test('fashion-mnist: missing directory → DATASET_MISSING with the apt hint', async () => {
  const dir = path.join(tmpdir(), 'no-such-fashion-mnist-dir');
  await assert.rejects(loadFashionMnist({ dir }), (e: unknown) => {
    assert.ok(isUnlearnError(e, 'DATASET_MISSING'));
    assert.equal(e.message, `fashion-mnist files not found in ${dir}`);
    assert.equal(e.hint, 'apt-get install dataset-fashion-mnist, or pass --data-option dir=PATH');
    return true;
  });
});

test('fashion-mnist: small synthetic IDX directory (plain + gz mix), scaling, ids, limit, image shape', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fmnist-'));
  try {
    const px = (n: number) => Array.from({ length: n * 784 }, (_, i) => (i * 7) % 256);
    writeFileSync(path.join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(encodeIdx('uint8', [3, 28, 28], px(3))));
    writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), encodeIdx('uint8', [3], [9, 0, 3]));
    writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), encodeIdx('uint8', [2, 28, 28], px(2)));
    writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(encodeIdx('uint8', [2], [1, 8])));
    const s = await loadFashionMnist({ dir, limit: 2 });
    assert.equal(s.train.labels.length, 2);
    assert.equal(s.test.labels.length, 2);
    assert.deepEqual([...s.train.labels], [9, 0]);
    assert.deepEqual(s.train.ids, ['fashion-mnist/train/0', 'fashion-mnist/train/1']);
    assert.deepEqual(s.test.subjects, ['fashion-mnist/test/0', 'fashion-mnist/test/1']);
    assert.deepEqual(s.train.shape, [784]);
    assert.equal(s.train.features[1], Math.fround(7 / 255));
    assert.equal(s.train.features[784 + 1], Math.fround(((785 * 7) % 256) / 255));
    assert.deepEqual(s.classNames, FASHION_MNIST_CLASSES);
    assert.equal(s.options.limit, 2);
    const img = await loadFashionMnist({ dir, image: true });
    assert.deepEqual(img.train.shape, [28, 28, 1]);
    assert.equal(img.train.labels.length, 3);
    // a truncated file is DATASET_INVALID, not a crash
    writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), encodeIdx('uint8', [2, 28, 28], px(2)).subarray(0, 100));
    await assert.rejects(loadFashionMnist({ dir }), (e: unknown) => isUnlearnError(e, 'DATASET_INVALID'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const haveReal = existsSync(path.join(FASHION_MNIST_DEFAULT_DIR, 'train-images-idx3-ubyte.gz'));

test('fashion-mnist: the installed Debian files load 60,000 / 10,000', { skip: !haveReal && `${FASHION_MNIST_DEFAULT_DIR} absent` }, async () => {
  const s = await loadFashionMnist({ dir: FASHION_MNIST_DEFAULT_DIR });
  assert.equal(s.train.labels.length, 60000);
  assert.equal(s.test.labels.length, 10000);
  assert.equal(s.train.features.length, 60000 * 784);
  assert.deepEqual([...s.train.labels.subarray(0, 10)], [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]); // the published first labels
  const counts = new Array(10).fill(0);
  for (const y of s.train.labels) counts[y]++;
  assert.deepEqual(counts, new Array(10).fill(6000));
  let max = 0;
  for (let i = 0; i < 784 * 100; i++) max = Math.max(max, s.train.features[i]);
  assert.equal(max, 1);
  assert.equal(s.fingerprint.length, 64);
});
