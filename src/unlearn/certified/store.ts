/**
 * Certified model directories, manifest format `unlearn-certified/1`:
 *
 * - `params.bin`: the weights, float64 little-endian (logreg: heads × d row-major; ridge: d).
 * - `state.bin`: what removal needs — logreg: the Cholesky preconditioners, float32 heads × d × d
 *   (4·heads·d² bytes: 4 MiB at d = 1025); ridge: A⁻¹ (d × d) then Xᵀy (d), float64.
 * - `extractor.json` + `extractor.bin` (heads on frozen features only): the frozen network, in the
 *   TensorFlow.js LayersModel format (its last layer is ignored).
 * - `manifest.json`: {@link CertifiedManifest}, with every file's size and sha256; `modelHash` is
 *   sha256 over the sorted `name:sha256` lines.
 *
 * The noise seed in the manifest determines the loss-perturbation vector b. The guarantee holds
 * against whoever sees the released weights but not b: keep manifests of certified models with the
 * operator (audit record), publish only the weights.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnlearnError } from '../../errors.js';
import type { VersionManifest } from '../../models/formats.js';
import { checkModelKind, writeDirAtomic } from '../../models/io.js';
import { checkSeal, sealManifest } from '../../models/seal.js';
import type { CertifiedLogistic, RemovalBudget } from './logistic.js';
import type { RidgeModel } from './ridge.js';

export const CERTIFIED_FORMAT = 'unlearn-certified/1';

/** The model facts of a certified directory (everything but the arrays). */
export type CertifiedModelInfo =
  | ({ kind: 'logreg' } & Omit<CertifiedLogistic, 'W' | 'precond' | 'kind'>)
  | ({ kind: 'ridge' } & Omit<RidgeModel, 'w' | 'Ainv' | 'Xty' | 'kind'>);

/** The certificate of one version: what guarantee it carries and what budget is left. */
export interface Certificate {
  guarantee: 'certified' | 'exact';
  epsilon?: number;
  delta?: number;
  /** Gradient-residual bound charged by the step that produced this version (0 for a fresh fit). */
  residualBound: number;
  /** Budget σε/c, used and left (logreg only). */
  budget?: { total: number; used: number; left: number; removals: number; retrains: number };
  /** True when this version was retrained from scratch because the budget ran out. */
  retrained: boolean;
}

/**
 * The guarantee a logistic model's removals carry: `certified` (ε, δ) with loss-perturbation noise
 * σ > 0; `exact` with σ = 0, where the budget σε/c is 0 and every removal is a retrain.
 */
export function guaranteeOf(m: Pick<CertifiedLogistic, 'params'>): 'certified' | 'exact' {
  return m.params.sigma > 0 ? 'certified' : 'exact';
}

/** `manifest.json` of a certified model directory. */
export interface CertifiedManifest extends VersionManifest {
  format: typeof CERTIFIED_FORMAT;
  files: Record<string, { sha256: string; bytes: number }>;
  model: CertifiedModelInfo;
  /** Present for a head on frozen features: the extractor's source model hash and layer. */
  features?: { from: 'penultimate'; sourceModelHash: string; normalised: boolean };
  certificate: Certificate;
  backend: string;
  createdAt: string;
}

export type CertifiedModel = CertifiedLogistic | RidgeModel;

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const bytesOf = (a: Float64Array | Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Split a model into its info (JSON) and binary files. */
function serialise(m: CertifiedModel): { info: CertifiedModelInfo; files: Record<string, Uint8Array> } {
  if (m.kind === 'logreg') {
    const { W, precond, ...info } = m;
    return { info, files: { 'params.bin': bytesOf(W), 'state.bin': bytesOf(precond) } };
  }
  const { w, Ainv, Xty, ...info } = m;
  const state = new Float64Array(Ainv.length + Xty.length);
  state.set(Ainv);
  state.set(Xty, Ainv.length);
  return { info, files: { 'params.bin': bytesOf(w), 'state.bin': bytesOf(state) } };
}

/**
 * Write a certified model directory atomically; fills `files`, `modelHash` and `model`.
 * `extractor` = the frozen network's model.json text and weights bytes (heads only).
 * @throws UnlearnError IO_ERROR when the directory cannot be written.
 */
export async function saveCertified(
  dir: string,
  model: CertifiedModel,
  manifest: Omit<CertifiedManifest, 'files' | 'modelHash' | 'model' | 'format'>,
  extractor?: { modelJson: string | Uint8Array; weights: Uint8Array },
): Promise<CertifiedManifest> {
  const { info, files } = serialise(model);
  const all: Record<string, Uint8Array> = { ...files };
  if (extractor) {
    all['extractor.json'] = typeof extractor.modelJson === 'string' ? new TextEncoder().encode(extractor.modelJson) : extractor.modelJson;
    all['extractor.bin'] = extractor.weights;
  }
  const meta: CertifiedManifest['files'] = {};
  for (const [name, b] of Object.entries(all)) meta[name] = { sha256: sha256(b), bytes: b.byteLength };
  const modelHash = createHash('sha256')
    .update(Object.keys(meta).sort().map((k) => `${k}:${meta[k].sha256}`).join('\n'))
    .digest('hex');
  const full: CertifiedManifest = sealManifest({ ...manifest, format: CERTIFIED_FORMAT, files: meta, modelHash, model: info });
  await writeDirAtomic(dir, { ...all, 'manifest.json': JSON.stringify(full, null, 1) + '\n' });
  return full;
}

/** A loaded certified directory. */
export interface StoredCertified {
  model: CertifiedModel;
  manifest: CertifiedManifest;
  /** The frozen extractor's files (heads only). */
  extractor?: { modelJson: Uint8Array; weights: Uint8Array };
}

const f64 = (b: Buffer) => new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
const f32 = (b: Buffer) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

/**
 * Load a certified model directory, verifying every file's size and sha256 against the manifest.
 * @throws UnlearnError MODEL_MISSING (directory or file absent), INVALID_ARGS (a model of another
 *   kind of this project, named), MODEL_CORRUPT (bad manifest,
 *   truncated or altered file, array sizes that do not fit the model).
 */
export async function loadCertified(dir: string): Promise<StoredCertified> {
  const corrupt = (m: string) => new UnlearnError('MODEL_CORRUPT', `certified model ${dir}: ${m}`, 'restore the directory from a backup or retrain it');
  const mp = join(dir, 'manifest.json');
  if (!existsSync(mp)) throw new UnlearnError('MODEL_MISSING', `certified model ${dir}: manifest.json not found`, 'pass a directory written by `unlearn train --certified`');
  let manifest: CertifiedManifest;
  try {
    manifest = JSON.parse(await readFile(mp, 'utf8'));
  } catch (e) {
    throw corrupt(`manifest.json is not valid JSON (${(e as Error).message})`);
  }
  checkModelKind(dir, manifest, CERTIFIED_FORMAT, 'pass a directory written by `unlearn train --certified` or `--model ridge`');
  if (manifest?.format !== CERTIFIED_FORMAT || !manifest.files || !manifest.model) throw corrupt('manifest.json is not an unlearn-certified/1 manifest');
  checkSeal(manifest, dir);
  const bufs: Record<string, Buffer> = {};
  for (const [name, want] of Object.entries(manifest.files)) {
    const p = join(dir, name);
    if (!existsSync(p)) throw new UnlearnError('MODEL_MISSING', `certified model ${dir}: ${name} not found`, 'restore the directory from a backup');
    const b = await readFile(p);
    if (b.byteLength !== want.bytes) throw corrupt(`${name} has ${b.byteLength} bytes, manifest says ${want.bytes} (truncated?)`);
    if (sha256(b) !== want.sha256) throw corrupt(`${name} does not match its sha256 in manifest.json`);
    bufs[name] = b;
  }
  if (!bufs['params.bin'] || !bufs['state.bin']) throw corrupt('params.bin or state.bin missing from the manifest');
  const info = manifest.model;
  const params = f64(bufs['params.bin']);
  let model: CertifiedModel;
  if (info.kind === 'logreg') {
    const precond = f32(bufs['state.bin']);
    if (params.length !== info.heads * info.d || precond.length !== info.heads * info.d * info.d) throw corrupt('array sizes do not match heads × d');
    model = { ...info, kind: 'logreg', W: params, precond };
  } else {
    const state = f64(bufs['state.bin']);
    const d = info.d;
    if (params.length !== d || state.length !== d * d + d) throw corrupt('array sizes do not match d');
    model = { ...info, kind: 'ridge', w: params, Ainv: state.slice(0, d * d), Xty: state.slice(d * d) };
  }
  const extractor = bufs['extractor.json'] && bufs['extractor.bin'] ? { modelJson: new Uint8Array(bufs['extractor.json']), weights: new Uint8Array(bufs['extractor.bin']) } : undefined;
  return { model, manifest, extractor };
}

/** The certificate fields of a logreg model after a step that charged `bound`. */
export function logregCertificate(m: CertifiedLogistic, bound: number, retrained: boolean): Certificate {
  const b: RemovalBudget = m.budget;
  // σ = 0: no loss perturbation, so no budget (σε/c = 0): the model is a plain L2 fit and every
  // removal retrains it on the remaining data, which is exact, not (ε, δ)-certified.
  if (guaranteeOf(m) === 'exact') return { guarantee: 'exact', residualBound: bound, budget: { total: 0, used: 0, left: 0, removals: b.removals, retrains: b.retrains }, retrained };
  return {
    guarantee: 'certified',
    epsilon: m.params.epsilon,
    delta: m.params.delta,
    residualBound: bound,
    budget: { total: b.total, used: b.used, left: b.total - b.used, removals: b.removals, retrains: b.retrains },
    retrained,
  };
}
