import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { UnlearnError } from '../errors.js';

/**
 * Reader for the IDX format of the MNIST family (http://yann.lecun.com/exdb/mnist/):
 *
 * ```
 * offset 0: 0x00 0x00          magic (two zero bytes)
 * offset 2: dtype byte         0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
 * offset 3: ndim byte          number of dimensions (1..255)
 * offset 4: ndim × uint32 BE   size of each dimension
 * then:     prod(dims) values  big-endian, row-major (last dimension fastest)
 * ```
 *
 * Files may be gzip-compressed (detected by the gzip magic 0x1f 0x8b, not by the file name).
 * Trailing bytes after the data are an error (they mean a wrong header or a corrupt file).
 */

/** Element type names of the IDX dtype bytes. */
export type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

const DTYPES: Record<number, { name: IdxDtype; size: number }> = {
  0x08: { name: 'uint8', size: 1 },
  0x09: { name: 'int8', size: 1 },
  0x0b: { name: 'int16', size: 2 },
  0x0c: { name: 'int32', size: 4 },
  0x0d: { name: 'float32', size: 4 },
  0x0e: { name: 'float64', size: 8 },
};

/** A decoded IDX array: host-endian typed array of `prod(dims)` values, row-major. */
export interface IdxArray {
  dtype: IdxDtype;
  dims: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

function invalid(what: string, msg: string): UnlearnError {
  return new UnlearnError('DATASET_INVALID', `${what}: ${msg}`, 'the IDX file is corrupt or truncated; re-install or re-download it');
}

/** True if `buf` starts with the gzip magic bytes 0x1f 0x8b. */
export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/**
 * Decode an IDX buffer (gzipped or plain).
 * @param buf file contents
 * @param what name used in error messages (e.g. the file path)
 * @throws UnlearnError DATASET_INVALID on bad gzip data, bad magic, unknown dtype, truncated
 *   header or data, or trailing bytes.
 */
export function parseIdx(buf: Uint8Array, what = 'IDX data'): IdxArray {
  let b = buf;
  if (isGzip(b)) {
    try {
      b = gunzipSync(b);
    } catch (e) {
      throw invalid(what, `gzip decompression failed (${(e as Error).message})`);
    }
  }
  if (b.length < 4) throw invalid(what, `truncated header (${b.length} bytes, need at least 4)`);
  if (b[0] !== 0 || b[1] !== 0) throw invalid(what, `bad magic: first two bytes are 0x${hex(b[0])} 0x${hex(b[1])}, expected 0x00 0x00`);
  const dt = DTYPES[b[2]];
  if (!dt) throw invalid(what, `unknown dtype byte 0x${hex(b[2])}`);
  const ndim = b[3];
  if (ndim === 0) throw invalid(what, 'zero dimensions');
  const headerLen = 4 + 4 * ndim;
  if (b.length < headerLen) throw invalid(what, `truncated header (${b.length} bytes, need ${headerLen} for ${ndim} dims)`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let k = 0; k < ndim; k++) {
    const d = view.getUint32(4 + 4 * k, false);
    dims.push(d);
    count *= d;
  }
  const need = headerLen + count * dt.size;
  if (b.length < need) throw invalid(what, `truncated data: ${b.length - headerLen} bytes for dims [${dims.join(', ')}] of ${dt.name}, need ${count * dt.size}`);
  if (b.length > need) throw invalid(what, `${b.length - need} trailing bytes after dims [${dims.join(', ')}] of ${dt.name}`);
  return { dtype: dt.name, dims, data: decode(view, headerLen, count, dt.name) };
}

function decode(view: DataView, off: number, n: number, dtype: IdxDtype): IdxArray['data'] {
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(view.buffer.slice(view.byteOffset + off, view.byteOffset + off + n));
    case 'int8':
      return new Int8Array(view.buffer.slice(view.byteOffset + off, view.byteOffset + off + n));
    case 'int16': {
      const a = new Int16Array(n);
      for (let i = 0; i < n; i++) a[i] = view.getInt16(off + 2 * i, false);
      return a;
    }
    case 'int32': {
      const a = new Int32Array(n);
      for (let i = 0; i < n; i++) a[i] = view.getInt32(off + 4 * i, false);
      return a;
    }
    case 'float32': {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = view.getFloat32(off + 4 * i, false);
      return a;
    }
    case 'float64': {
      const a = new Float64Array(n);
      for (let i = 0; i < n; i++) a[i] = view.getFloat64(off + 8 * i, false);
      return a;
    }
  }
}

function hex(x: number | undefined): string {
  return (x ?? 0).toString(16).padStart(2, '0');
}

/**
 * Read and decode an IDX file (gzipped or plain).
 * @throws UnlearnError DATASET_MISSING if the file does not exist; DATASET_INVALID as {@link parseIdx}.
 */
export async function readIdxFile(path: string): Promise<IdxArray> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UnlearnError('DATASET_MISSING', `IDX file not found: ${path}`);
    }
    throw new UnlearnError('IO_ERROR', `cannot read ${path}: ${(e as Error).message}`);
  }
  return parseIdx(buf, path);
}

/**
 * Encode an array as IDX (plain, not gzipped). Used by tests and by users exporting data.
 * @param dims dimensions; `data.length` must equal their product
 */
export function encodeIdx(dtype: IdxDtype, dims: number[], data: ArrayLike<number>): Uint8Array {
  const code = Number(Object.entries(DTYPES).find(([, v]) => v.name === dtype)![0]);
  const size = DTYPES[code].size;
  const count = dims.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw new UnlearnError('INVALID_PARAMS', `encodeIdx: ${data.length} values for dims [${dims.join(', ')}]`);
  const headerLen = 4 + 4 * dims.length;
  const out = new Uint8Array(headerLen + count * size);
  const v = new DataView(out.buffer);
  out[2] = code;
  out[3] = dims.length;
  dims.forEach((d, k) => v.setUint32(4 + 4 * k, d, false));
  for (let i = 0; i < count; i++) {
    const o = headerLen + i * size;
    const x = data[i];
    if (dtype === 'uint8') v.setUint8(o, x);
    else if (dtype === 'int8') v.setInt8(o, x);
    else if (dtype === 'int16') v.setInt16(o, x, false);
    else if (dtype === 'int32') v.setInt32(o, x, false);
    else if (dtype === 'float32') v.setFloat32(o, x, false);
    else v.setFloat64(o, x, false);
  }
  return out;
}
