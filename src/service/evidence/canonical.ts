/**
 * Canonical JSON (RFC 8785, JSON Canonicalization Scheme, for the values the service logs):
 * object members sorted by key (UTF-16 code units), no whitespace, strings and numbers as
 * ECMAScript's JSON.stringify writes them. Same value → same bytes, so hashes and signatures
 * over JSON are reproducible.
 */
import { UnlearnError } from '../../errors.js';

/**
 * The canonical JSON text of `value`. Members whose value is `undefined` are left out (as
 * JSON.stringify does).
 * @throws UnlearnError INVALID_PARAMS for NaN, ±Infinity, bigint, functions or symbols.
 */
export function canonicalJson(value: unknown): string {
  return write(value, '$');
}

function write(v: unknown, path: string): string {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new UnlearnError('INVALID_PARAMS', `${path} is ${v}, which JSON cannot hold`, 'record a finite number or null');
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map((x, i) => write(x === undefined ? null : x, `${path}[${i}]`)).join(',')}]`;
  if (typeof v === 'object') {
    const keys = Object.keys(v as object)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${write((v as Record<string, unknown>)[k], `${path}.${k}`)}`).join(',')}}`;
  }
  throw new UnlearnError('INVALID_PARAMS', `${path} is a ${typeof v}, which JSON cannot hold`, 'record strings, numbers, booleans, arrays and objects only');
}
