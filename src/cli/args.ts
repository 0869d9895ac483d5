/** Argument parsers shared by the CLI commands (commander `argParser` functions). */
import { InvalidArgumentError } from 'commander';

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

/** A JSON value. */
export const json = (v: string): unknown => {
  try {
    return JSON.parse(v);
  } catch {
    throw new InvalidArgumentError('not valid JSON');
  }
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
