import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isUnlearnError } from '../errors.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';

/** A file built by hand from the format description: 8-byte LE header length, JSON header, raw LE data. */
function handMade(header: object, data: number[]): Uint8Array {
  const h = Buffer.from(JSON.stringify(header));
  const out = Buffer.alloc(8 + h.length + data.length);
  out.writeBigUInt64LE(BigInt(h.length), 0);
  h.copy(out, 8);
  Buffer.from(data).copy(out, 8 + h.length);
  return out;
}

test('reads a hand-made file: F32, F16 and BF16 tensors and metadata', () => {
  // 1.0f = 00 00 80 3f; -2.5f = 00 00 20 c0; F16 1.5 = 0x3e00; BF16 -2.0 = 0xc000.
  const buf = handMade(
    { __metadata__: { format: 'pt' }, a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, h: { dtype: 'F16', shape: [1], data_offsets: [8, 10] }, b: { dtype: 'BF16', shape: [1, 1], data_offsets: [10, 12] } },
    [0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0, 0x00, 0x3e, 0x00, 0xc0],
  );
  const st = readSafetensors(buf);
  assert.deepEqual(st.metadata, { format: 'pt' });
  assert.deepEqual([...st.tensors.get('a')!.data], [1, -2.5]);
  assert.deepEqual([...st.tensors.get('h')!.data], [1.5]);
  assert.deepEqual(st.tensors.get('b')!.shape, [1, 1]);
  assert.deepEqual([...st.tensors.get('b')!.data], [-2]);
});

test('writes what it reads, deterministically, with an 8-byte aligned header', () => {
  const t = { 'w.weight': { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) }, 'w.bias': { shape: [2], data: Float32Array.from([-1, 0.25]) } };
  const a = writeSafetensors(t, { k: 'v' });
  const b = writeSafetensors(new Map(Object.entries(t).reverse()), { k: 'v' });
  assert.deepEqual(a, b);
  const n = Number(Buffer.from(a).readBigUInt64LE(0));
  assert.equal((8 + n) % 8, 0);
  const back = readSafetensors(a);
  assert.deepEqual([...back.tensors.get('w.weight')!.data], [1, 2, 3, 4, 5, 6.5]);
  assert.deepEqual(back.tensors.get('w.weight')!.shape, [2, 3]);
  // Tensors are laid out in name order: bias first.
  const header = JSON.parse(Buffer.from(a.subarray(8, 8 + n)).toString());
  assert.deepEqual(header['w.bias'].data_offsets, [0, 8]);
  assert.deepEqual(header['w.weight'].data_offsets, [8, 32]);
});

test('corrupt files: truncated header, short data, unsupported dtype, bad JSON', () => {
  const good = writeSafetensors({ x: { shape: [4], data: new Float32Array(4) } });
  const code = (buf: Uint8Array, re: RegExp) => assert.throws(() => readSafetensors(buf, 'f.safetensors'), (e) => isUnlearnError(e, 'MODEL_CORRUPT') && re.test(e.message));
  code(good.subarray(0, 5), /truncated: 5 bytes/);
  code(good.subarray(0, 20), /truncated header: it declares \d+ bytes/);
  code(good.subarray(0, good.length - 4), /outside the 12 data bytes/);
  code(handMade({ x: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, [0, 0, 0, 0, 0, 0, 0, 0]), /tensor 'x' has dtype I64/);
  code(handMade({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, [0, 0, 0, 0, 0, 0, 0, 0]), /holds 8 bytes, F32 \[3\] needs 12/);
  const bad = Buffer.from(good);
  bad[9] = 0x7b; // break the JSON
  code(bad, /header is not JSON/);
});
