/**
 * The seal of a manifest: `manifestSha256` is the sha256 of the manifest's canonical JSON (keys
 * sorted, `manifestSha256` itself left out), so an edit anywhere in it — recipe, spec, method, params,
 * removed ids, lineage — is detected on load (MODEL_CORRUPT) instead of silently driving `retrain`
 * or the record. Every sealed manifest also carries `software`: the versions that wrote it, so a run
 * can be reproduced from its manifest.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { UnlearnError } from '../errors.js';

/** Versions of the software that wrote a manifest. */
export interface SoftwareVersions {
  /** Version of this package (package.json). */
  unlearn: string;
  /** @tensorflow/tfjs-core version. */
  tfjs: string;
  /** Node.js version (`process.version`). */
  node: string;
  /** The tfjs backend active when the manifest was written (wasm, cpu, tensorflow). */
  backend: string;
}

const PACKAGE_VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

/** The versions of this process, for a manifest about to be written. */
export function softwareVersions(): SoftwareVersions {
  let backend = 'none';
  try {
    backend = tf.getBackend() ?? 'none';
  } catch {
    /* no backend initialised (e.g. a manifest written without tensors) */
  }
  return { unlearn: PACKAGE_VERSION, tfjs: tf.version_core, node: process.version, backend };
}

/** JSON with object keys sorted at every level (arrays keep their order); values as JSON.stringify gives them. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(JSON.parse(JSON.stringify(v)), (_k, x) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]])) : x,
  );
}

function digest(m: object): string {
  const { manifestSha256: _drop, ...rest } = m as { manifestSha256?: string };
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

/** `m` with `software` (this process's versions) and `manifestSha256` filled in; call last, on the manifest as written. */
export function sealManifest<M extends object>(m: M): M & { software: SoftwareVersions; manifestSha256: string } {
  const withSoftware = { ...m, software: softwareVersions() };
  return { ...withSoftware, manifestSha256: digest(withSoftware) };
}

/**
 * Check the seal of a manifest read from `dir`.
 * @throws UnlearnError MODEL_CORRUPT when `manifestSha256` is absent or does not match the contents.
 */
export function checkSeal(m: object, dir: string): void {
  const want = (m as { manifestSha256?: unknown }).manifestSha256;
  if (typeof want !== 'string') throw new UnlearnError('MODEL_CORRUPT', `model ${dir}: manifest.json carries no manifestSha256 (written by an older version, or edited)`, 'restore the directory from a backup or retrain it');
  if (digest(m) !== want) throw new UnlearnError('MODEL_CORRUPT', `model ${dir}: manifest.json was modified after it was written (its contents do not match manifestSha256)`, 'restore the directory from a backup or retrain it');
}
