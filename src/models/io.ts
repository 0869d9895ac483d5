import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UnlearnError } from '../errors.js';
import { commitStaging, ensureDirSync, releaseStaging, stagingPath } from './staging.js';
import type { ModelManifest } from './manifest.js';
import { hashIds } from '../data/dataset.js';
import { checkSeal, sealManifest } from './seal.js';

/** A loaded model and its manifest. */
export interface StoredModel {
  model: tfl.LayersModel;
  manifest: ModelManifest;
}

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** modelHash = sha256 over the two file hashes: identifies a model version by its bytes. */
export function modelHash(modelJsonSha: string, weightsSha: string): string {
  return sha256(`${modelJsonSha}\n${weightsSha}`);
}

export async function writeFileSynced(path: string, data: Uint8Array | string): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Create `dir` and its missing parents (like `mkdir -p`). Node's own `mkdir(…, { recursive: true })`
 * never returns for some paths (e.g. under /proc), so each missing component is created in turn.
 * @throws UnlearnError IO_ERROR naming the path when a component cannot be created or is a file.
 */
export async function ensureDir(dir: string): Promise<void> {
  ensureDirSync(dir, 'choose a directory path');
}

/**
 * Write files into `dir` atomically: everything goes to a sibling staging directory, each file is
 * fsynced, then the staging directory is moved into place by {@link commitStaging} — no-replace
 * unless `dir` was claimed with `--force` (see src/models/staging.ts) or `replace` is set. A crash
 * leaves either the old directory or the new one, never a half-written one.
 * @throws UnlearnError IO_ERROR when the parent cannot be written or `dir` appeared meanwhile.
 */
export async function writeDirAtomic(dir: string, files: Record<string, Uint8Array | string>, opts: { replace?: boolean } = {}): Promise<void> {
  const tmp = stagingPath(dir);
  try {
    await ensureDir(dirname(tmp));
    await mkdir(tmp);
    for (const [name, data] of Object.entries(files)) await writeFileSynced(join(tmp, name), data);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    releaseStaging(tmp);
    if (e instanceof UnlearnError) throw e;
    throw new UnlearnError('IO_ERROR', `cannot write ${dir}: ${(e as Error).message}`, 'check the output path and free disk space');
  }
  await commitStaging(tmp, dir, opts);
}

/**
 * Serialise a model to the TensorFlow.js LayersModel file format: model.json text + weights.bin bytes.
 * Layer and model names are canonical ({@link canonicalNames}), so the same architecture and weights
 * give the same bytes — and the same `modelHash` — in every process (tfjs's automatic names such as
 * `sequential_2` or `dense_Dense3` count the models built before in the process).
 */
export async function serializeModel(model: tfl.LayersModel): Promise<{ modelJson: string; weights: Uint8Array }> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!artifacts?.weightData || !artifacts.weightSpecs) throw new Error('model.save produced no weights');
  const wd = artifacts.weightData;
  const weights = new Uint8Array(Array.isArray(wd) ? tf.io.concatenateArrayBuffers(wd) : wd);
  const { topology, weightSpecs } = canonicalNames(artifacts.modelTopology as Topology, artifacts.weightSpecs);
  const modelJson = JSON.stringify({
    modelTopology: topology,
    format: 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: null,
    weightsManifest: [{ paths: ['weights.bin'], weights: weightSpecs }],
  });
  return { modelJson, weights };
}

type Topology = { class_name?: string; config?: { name?: string; layers?: { class_name: string; name?: string; config: { name?: string }; inbound_nodes?: unknown }[]; input_layers?: unknown; output_layers?: unknown } };

/**
 * Rename the model `model` and its i-th layer `<class>_<i>` (e.g. `dense_3`), in the layer configs,
 * the node references of a functional model and the weight names (`<layer>/kernel`).
 */
export function canonicalNames(topology: Topology, specs: tf.io.WeightsManifestEntry[]): { topology: Topology; weightSpecs: tf.io.WeightsManifestEntry[] } {
  const t = structuredClone(topology);
  const layers = t.config?.layers;
  if (!t.config || !Array.isArray(layers)) return { topology: t, weightSpecs: specs };
  const map = new Map<string, string>();
  layers.forEach((l, i) => {
    const old = l.config?.name ?? l.name;
    const name = `${l.class_name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()}_${i}`;
    if (old) map.set(old, name);
    if (l.config) l.config.name = name;
    if (l.name !== undefined) l.name = name;
  });
  const rename = (v: unknown): unknown => (typeof v === 'string' ? (map.get(v) ?? v) : Array.isArray(v) ? v.map(rename) : v);
  for (const l of layers) if (l.inbound_nodes !== undefined) l.inbound_nodes = rename(l.inbound_nodes);
  if (t.config.input_layers !== undefined) t.config.input_layers = rename(t.config.input_layers);
  if (t.config.output_layers !== undefined) t.config.output_layers = rename(t.config.output_layers);
  t.config.name = 'model';
  const weightSpecs = specs.map((w) => {
    const cut = w.name.indexOf('/');
    const layer = cut < 0 ? w.name : w.name.slice(0, cut);
    return map.has(layer) ? { ...w, name: map.get(layer)! + w.name.slice(layer.length) } : w;
  });
  return { topology: t, weightSpecs };
}

/**
 * Save `model` with its manifest into directory `dir` atomically. Fills in `files` and
 * `modelHash` of the manifest and returns the completed manifest. An existing `dir` is replaced
 * only under a `--force` claim (src/models/staging.ts) or with `replace` (a cache entry).
 * @throws UnlearnError IO_ERROR (see {@link writeDirAtomic}).
 */
export async function saveModel(
  dir: string,
  model: tfl.LayersModel,
  manifest: Omit<ModelManifest, 'files' | 'modelHash'>,
  opts: { replace?: boolean } = {},
): Promise<ModelManifest> {
  const { modelJson, weights } = await serializeModel(model);
  const files = {
    'model.json': { sha256: sha256(modelJson), bytes: Buffer.byteLength(modelJson) },
    'weights.bin': { sha256: sha256(weights), bytes: weights.byteLength },
  };
  const full: ModelManifest = sealManifest({ ...manifest, files, modelHash: modelHash(files['model.json'].sha256, files['weights.bin'].sha256) });
  await writeDirAtomic(dir, {
    'model.json': modelJson,
    'weights.bin': weights,
    'manifest.json': JSON.stringify(full, null, 1) + '\n',
  }, opts);
  return full;
}

/** Hash of a model held in memory, computed exactly as {@link saveModel} would record it. */
export async function hashInMemory(model: tfl.LayersModel): Promise<string> {
  const { modelJson, weights } = await serializeModel(model);
  return modelHash(sha256(modelJson), sha256(weights));
}

/**
 * Read a model directory's `manifest.json`, `model.json` and `weights.bin`, checking that all three
 * exist, that the manifest is JSON of the given `format` with an intact seal (src/models/seal.ts),
 * and that both files match the sizes and sha256 the manifest records. Shared by every model format with this layout.
 * @throws UnlearnError MODEL_MISSING (`hint` names the command that writes such directories),
 *   INVALID_ARGS when the directory holds another kind of model of this project (naming it and
 *   the commands it goes with), or MODEL_CORRUPT.
 */
export async function readVerifiedModelDir<M extends { format?: string; files: ModelManifest['files'] }>(
  dir: string,
  format: string,
  hint: string,
): Promise<{ manifest: M; modelJson: Buffer; weights: Buffer; corrupt: (m: string) => UnlearnError }> {
  const corrupt = (m: string) => new UnlearnError('MODEL_CORRUPT', `model ${dir}: ${m}`, 'restore the directory from a backup or retrain it');
  const missing = (f: string) => new UnlearnError('MODEL_MISSING', `model ${dir}: ${f} not found`, hint);
  if (!existsSync(join(dir, 'manifest.json'))) throw missing('manifest.json');
  let manifest: M;
  try {
    manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  } catch (e) {
    throw corrupt(`manifest.json is not valid JSON (${(e as Error).message})`);
  }
  checkModelKind(dir, manifest, format, hint);
  if (manifest?.format !== format || !manifest.files) throw corrupt(`manifest.json is not a ${format} manifest`);
  checkSeal(manifest, dir);
  for (const f of ['model.json', 'weights.bin']) if (!existsSync(join(dir, f))) throw missing(f);
  const modelJson = await readFile(join(dir, 'model.json'));
  const weights = await readFile(join(dir, 'weights.bin'));
  for (const [name, buf] of [['model.json', modelJson], ['weights.bin', weights]] as const) {
    const want = manifest.files[name];
    if (buf.byteLength !== want.bytes) throw corrupt(`${name} has ${buf.byteLength} bytes, manifest says ${want.bytes} (truncated?)`);
    if (sha256(buf) !== want.sha256) throw corrupt(`${name} does not match its sha256 in manifest.json`);
  }
  return { manifest, modelJson, weights, corrupt };
}

/**
 * Refuses a manifest of another model format of this project, naming the kind it is and the
 * commands it goes with. Unknown or absent formats pass (the caller reports them as corrupt).
 * @throws UnlearnError INVALID_ARGS.
 */
export function checkModelKind(dir: string, manifest: { format?: unknown } | null | undefined, format: string, hint = ''): void {
  const f = manifest?.format;
  const other = typeof f === 'string' && f !== format ? MODEL_KINDS[f] : undefined;
  if (other) throw new UnlearnError('INVALID_ARGS', `${dir} is a ${other.kind} (${f}), not a ${MODEL_KINDS[format]?.kind ?? format}`, [other.use, hint].filter(Boolean).join('; '));
}

/** The model directory formats of this project: what each holds and the commands that take it. */
const MODEL_KINDS: Record<string, { kind: string; use: string }> = {
  'unlearn-model/1': { kind: 'classifier network', use: 'it goes with `unlearn forget` / `unlearn eval`' },
  'unlearn-sisa/1': { kind: 'SISA ensemble', use: 'it goes with `unlearn forget` / `unlearn eval`' },
  'unlearn-certified/1': { kind: 'certified convex model', use: 'it goes with `unlearn forget` / `unlearn eval`' },
  'unlearn-lm/1': { kind: 'language model', use: 'it goes with `unlearn lm forget` / `unlearn lm audit` / `unlearn lm generate`' },
};

/**
 * Load a model directory written by {@link saveModel} (or any LayersModel `model.json` +
 * `weights.bin` with a manifest). Verifies sizes and sha256 of both files against the manifest.
 * @throws UnlearnError MODEL_MISSING when the directory or a file is absent; MODEL_CORRUPT when a
 *   file is truncated, unparsable, or does not match the manifest hash.
 */
export async function loadModel(dir: string): Promise<StoredModel> {
  const { manifest, modelJson, weights, corrupt } = await readVerifiedModelDir<ModelManifest>(dir, 'unlearn-model/1', 'pass a directory written by `unlearn train` or `unlearn forget`');
  if (manifest.modelHash !== modelHash(manifest.files['model.json'].sha256, manifest.files['weights.bin'].sha256)) {
    throw corrupt('manifest.json modelHash does not match its file hashes');
  }
  if (!Array.isArray(manifest.lineage?.trainIds) || hashIds(manifest.lineage.trainIds) !== manifest.lineage.trainIdsSha256) {
    throw corrupt('manifest.json lineage ids do not match lineage.trainIdsSha256');
  }
  if (manifest.removed && hashIds(manifest.removed.ids) !== manifest.removed.idsSha256) {
    throw corrupt('manifest.json removed ids do not match removed.idsSha256');
  }
  let json: { modelTopology: object; weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] };
  try {
    json = JSON.parse(modelJson.toString('utf8'));
  } catch {
    throw corrupt('model.json is not valid JSON');
  }
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength);
  let model: tfl.LayersModel;
  try {
    model = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData }));
  } catch (e) {
    throw corrupt(`model.json and weights.bin do not form a model (${(e as Error).message.split('\n')[0]})`);
  }
  if (JSON.stringify(model.inputs[0].shape.slice(1)) !== JSON.stringify(manifest.spec?.inputShape)) {
    throw corrupt(`the network's input shape [${model.inputs[0].shape.slice(1)}] differs from the manifest spec`);
  }
  return { model, manifest };
}

/** Total size in bytes of the files of a model directory. */
export async function modelDirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const f of ['manifest.json', 'model.json', 'weights.bin']) total += (await stat(join(dir, f))).size;
  return total;
}
