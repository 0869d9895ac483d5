/**
 * The safetensors file format (Hugging Face; the format PyTorch's `safetensors.torch.save_file`
 * writes):
 *
 * ```
 * [8 bytes: N, unsigned 64-bit little-endian]
 * [N bytes: UTF-8 JSON header { "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, ...,
 *            "__metadata__": { "<key>": "<string value>" } }, padded with spaces]
 * [the tensors' bytes, little-endian, row-major (C order); offsets are relative to this buffer's start]
 * ```
 *
 * Read: F32, F64, F16 and BF16 tensors (converted to float32). Write: F32. Tensors are written in
 * name order, contiguous, with the header padded to a multiple of 8 bytes.
 */
import { UnlearnError } from '../errors.js';

/** One tensor: float32 values in row-major order and its shape. */
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
  /** The dtype in the file (`F32`, `F64`, `F16`, `BF16`); written tensors are `F32`. */
  dtype?: string;
}

/** A parsed safetensors file. */
export interface Safetensors {
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
}

const BYTES: Record<string, number> = { F32: 4, F64: 8, F16: 2, BF16: 2 };

/** IEEE 754 half (binary16) bits → number. */
function f16(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * Parse a safetensors file.
 * @param what the file name, for messages
 * @throws UnlearnError MODEL_CORRUPT (file shorter than its header, header not JSON, offsets out
 *   of range or not matching dtype × shape, overlapping tensors), SHAPE_MISMATCH is not thrown
 *   here; an unsupported dtype (integers, bool, F8) throws MODEL_CORRUPT naming the tensor.
 */
export function readSafetensors(buf: Uint8Array, what = 'safetensors file'): Safetensors {
  const corrupt = (m: string, hint = 'write the file again with safetensors save_file') => new UnlearnError('MODEL_CORRUPT', `${what}: ${m}`, hint);
  if (buf.byteLength < 8) throw corrupt(`truncated: ${buf.byteLength} bytes, the header length alone needs 8`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (8 + n > buf.byteLength) throw corrupt(`truncated header: it declares ${n} bytes, the file has ${buf.byteLength - 8} after the length`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + n)));
  } catch (e) {
    throw corrupt(`header is not JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw corrupt('header is not a JSON object');
  const data = buf.subarray(8 + n);
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const tensors = new Map<string, NamedTensor>();
  const spans: [number, number, string][] = [];
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const t = v as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
    if (!t || !Array.isArray(t.shape) || !Array.isArray(t.data_offsets) || typeof t.dtype !== 'string') throw corrupt(`tensor '${name}' has no dtype, shape or data_offsets`);
    const size = BYTES[t.dtype];
    if (!size) throw corrupt(`tensor '${name}' has dtype ${t.dtype}; supported: F32, F64, F16, BF16`, 'save floating-point weights (model.float())');
    const [b, e] = t.data_offsets;
    const count = t.shape.reduce((a, x) => a * x, 1);
    if (!(Number.isInteger(b) && Number.isInteger(e) && 0 <= b && b <= e && e <= data.byteLength)) throw corrupt(`tensor '${name}' data_offsets [${b}, ${e}] outside the ${data.byteLength} data bytes (truncated?)`);
    if (e - b !== count * size) throw corrupt(`tensor '${name}' holds ${e - b} bytes, ${t.dtype} [${t.shape}] needs ${count * size}`);
    spans.push([b, e, name]);
    const bytes = data.subarray(b, e);
    const src = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      if (t.dtype === 'F32') out[i] = src.getFloat32(i * 4, true);
      else if (t.dtype === 'F64') out[i] = src.getFloat64(i * 8, true);
      else if (t.dtype === 'F16') out[i] = f16(src.getUint16(i * 2, true));
      else out[i] = new Float32Array(new Uint32Array([src.getUint16(i * 2, true) << 16]).buffer)[0];
    }
    tensors.set(name, { shape: [...t.shape], data: out, dtype: t.dtype });
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let k = 1; k < spans.length; k++) if (spans[k][0] < spans[k - 1][1]) throw corrupt(`tensors '${spans[k - 1][2]}' and '${spans[k][2]}' overlap`);
  return { tensors, metadata };
}

/**
 * Serialise float32 tensors (and string metadata) to safetensors bytes: tensors in name order,
 * contiguous from offset 0, header padded with spaces to a multiple of 8 bytes. Deterministic:
 * the same tensors and metadata give the same bytes.
 * @throws UnlearnError INVALID_PARAMS when a tensor's data length differs from its shape.
 */
export function writeSafetensors(tensors: Map<string, NamedTensor> | Record<string, NamedTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const entries = (tensors instanceof Map ? [...tensors] : Object.entries(tensors)).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let off = 0;
  for (const [name, t] of entries) {
    const count = t.shape.reduce((a, x) => a * x, 1);
    if (count !== t.data.length) throw new UnlearnError('INVALID_PARAMS', `tensor '${name}' has ${t.data.length} values, shape [${t.shape}] needs ${count}`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [off, off + count * 4] };
    off += count * 4;
  }
  let json = JSON.stringify(header);
  const raw = new TextEncoder().encode(json).byteLength;
  json += ' '.repeat((8 - ((8 + raw) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.byteLength + off);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(head.byteLength), true);
  out.set(head, 8);
  let p = 8 + head.byteLength;
  for (const [, t] of entries) {
    const d = new DataView(out.buffer, p, t.data.length * 4);
    for (let i = 0; i < t.data.length; i++) d.setFloat32(i * 4, t.data[i], true);
    p += t.data.length * 4;
  }
  return out;
}
