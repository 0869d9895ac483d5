import { UnlearnError } from '../errors.js';
import type { UnlearningMethod } from './method.js';

const methods = new Map<string, UnlearningMethod<any>>();

/** Add a method under its id. @throws UnlearnError DUPLICATE_ID when the id is taken. */
export function registerMethod(m: UnlearningMethod<any>): void {
  if (methods.has(m.id)) throw new UnlearnError('DUPLICATE_ID', `unlearning method "${m.id}" is already registered`);
  methods.set(m.id, m);
}

/** The method registered under `id`. @throws UnlearnError UNKNOWN_METHOD listing the known ids. */
export function getMethod(id: string): UnlearningMethod<any> {
  const m = methods.get(id);
  if (!m) throw new UnlearnError('UNKNOWN_METHOD', `unknown unlearning method "${id}"`, `known: ${[...methods.keys()].join(', ')}`);
  return m;
}

/** All registered methods, in registration order. */
export function listMethods(): UnlearningMethod<any>[] {
  return [...methods.values()];
}
