import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { isUnlearnError } from '../errors.js';
import { encodeIdx, parseIdx, readIdxFile } from './idx.js';

// 2 images of 2x3 uint8 pixels, written by hand in the IDX layout.
const images = Uint8Array.from([
  0x00, 0x00, 0x08, 0x03, // magic, uint8, 3 dims
  0x00, 0x00, 0x00, 0x02, // 2 images
  0x00, 0x00, 0x00, 0x02, // 2 rows
  0x00, 0x00, 0x00, 0x03, // 3 cols
  0, 1, 2, 3, 4, 255, //
  10, 20, 30, 40, 50, 60,
]);
const labels = Uint8Array.from([0x00, 0x00, 0x08, 0x01, 0x00, 0x00, 0x00, 0x02, 7, 9]);

test('IDX uint8 images and labels, plain and gzipped', () => {
  for (const buf of [images, gzipSync(images)]) {
    const a = parseIdx(buf);
    assert.equal(a.dtype, 'uint8');
    assert.deepEqual(a.dims, [2, 2, 3]);
    assert.deepEqual([...a.data], [0, 1, 2, 3, 4, 255, 10, 20, 30, 40, 50, 60]);
  }
  for (const buf of [labels, gzipSync(labels)]) {
    const l = parseIdx(buf);
    assert.deepEqual(l.dims, [2]);
    assert.deepEqual([...l.data], [7, 9]);
  }
});

test('IDX big-endian multi-byte dtypes round-trip through encodeIdx', () => {
  const i32 = parseIdx(encodeIdx('int32', [3], [1, -2, 0x01020304]));
  assert.deepEqual([...i32.data], [1, -2, 0x01020304]);
  const raw = encodeIdx('int32', [1], [0x01020304]);
  assert.deepEqual([...raw.subarray(8)], [1, 2, 3, 4]); // big-endian on disk
  const f = parseIdx(encodeIdx('float32', [2, 1], [0.5, -1.25]));
  assert.equal(f.dtype, 'float32');
  assert.deepEqual([...f.data], [0.5, -1.25]);
  const s = parseIdx(encodeIdx('int16', [2], [-300, 300]));
  assert.deepEqual([...s.data], [-300, 300]);
  assert.deepEqual(encodeIdx('uint8', [2, 2, 3], [...images.subarray(16)]), images);
});

function assertInvalid(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => isUnlearnError(e, 'DATASET_INVALID') && re.test((e as Error).message));
}

test('IDX errors: truncation, bad magic, dtype, trailing bytes, bad gzip → DATASET_INVALID', () => {
  assertInvalid(() => parseIdx(images.subarray(0, images.length - 1)), /truncated data/);
  assertInvalid(() => parseIdx(images.subarray(0, 10)), /truncated header/);
  assertInvalid(() => parseIdx(images.subarray(0, 2)), /truncated header/);
  assertInvalid(() => parseIdx(gzipSync(images.subarray(0, 20))), /truncated data/);
  const gz = gzipSync(images);
  assertInvalid(() => parseIdx(gz.subarray(0, gz.length - 9)), /gzip/);
  const badMagic = images.slice();
  badMagic[0] = 0x12;
  assertInvalid(() => parseIdx(badMagic), /bad magic/);
  const badType = images.slice();
  badType[2] = 0x07;
  assertInvalid(() => parseIdx(badType), /dtype/);
  assertInvalid(() => parseIdx(Uint8Array.from([...labels, 1])), /trailing/);
});

test('readIdxFile reads files and reports a missing one as DATASET_MISSING', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'idx-'));
  try {
    writeFileSync(path.join(dir, 'l.gz'), gzipSync(labels));
    const l = await readIdxFile(path.join(dir, 'l.gz'));
    assert.deepEqual([...l.data], [7, 9]);
    await assert.rejects(readIdxFile(path.join(dir, 'nope')), (e: unknown) => isUnlearnError(e, 'DATASET_MISSING'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
