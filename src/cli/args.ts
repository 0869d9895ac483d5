/** Argument parsers shared by the CLI commands (commander `argParser` functions). */
import { InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { UnlearnError } from '../errors.js';

/** An integer, else commander's invalid-argument error. */
export const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('not an integer');
  return n;
};

/** A finite number. */
export const num = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('not a number');
  return n;
};

/** A positive integer (e.g. a worker count). */
export const posInt = (v: string): number => {
  const n = int(v);
  if (n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
};

/**
 * Method params: a JSON object. Malformed JSON and JSON that is not an object (`[1,2]`, `3`) are
 * the same problem — invalid params — and both give INVALID_PARAMS (exit 3).
 * @throws UnlearnError INVALID_PARAMS.
 */
export const json = (v: string): Record<string, unknown> => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch (e) {
    throw new UnlearnError('INVALID_PARAMS', `--params is not valid JSON (${(e as Error).message})`, 'pass a JSON object, e.g. \'{"epochs":2}\'');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UnlearnError('INVALID_PARAMS', `--params must be a JSON object, not ${Array.isArray(parsed) ? 'an array' : JSON.stringify(parsed)}`, 'pass a JSON object, e.g. \'{"epochs":2}\'');
  }
  return parsed as Record<string, unknown>;
};

/** Repeatable option: collects values into a list. */
export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** Repeatable `key=value` option; values parsed as JSON when they parse, else kept as strings. */
export const keyValue = (v: string, prev: Record<string, unknown> = {}): Record<string, unknown> => {
  const eq = v.indexOf('=');
  if (eq < 1) throw new InvalidArgumentError('expected key=value');
  const raw = v.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    /* keep the string */
  }
  return { ...prev, [v.slice(0, eq)]: value };
};

/** A method's params as JSON Schema properties (name → type, default, description); absent defaults come from the model's recipe. */
export function methodParams(schema: z.ZodType): Record<string, { type?: string; default?: unknown; description?: string }> {
  const js = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, { type?: string; default?: unknown; description?: string }> };
  return js.properties ?? {};
}

/** `name=default, …` of {@link methodParams} for the method listings. */
export const fmtParams = (p: Record<string, { type?: string; default?: unknown }>): string =>
  Object.entries(p).map(([k, v]) => `${k}${v.default !== undefined ? `=${JSON.stringify(v.default)}` : ''}`).join(', ') || '(none)';
