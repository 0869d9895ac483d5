/**
 * Bring your own model: import a TensorFlow.js LayersModel or PyTorch safetensors weights as a
 * model directory with a declared lineage, and export a model directory back to either format.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { backendDescription } from '../engine/backend.js';
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { userInfo } from 'node:os';
import { z } from 'zod';
import { hashIds, type DataSplit } from '../data/dataset.js';
import { loadDataset } from '../data/registry.js';
import { UnlearnError } from '../errors.js';
import { accuracyOf, predict } from '../eval/predict.js';
import { adoptModel } from '../models/architecture.js';
import { ensureDir, loadModel, saveModel, writeDirAtomic, writeFileSynced } from '../models/io.js';
import type { ModelManifest } from '../models/manifest.js';
import { readSafetensors, writeSafetensors } from '../models/safetensors.js';
import { ModelSpecSchema, type ModelSpec } from '../models/spec.js';
import { loadTfjsFiles } from '../models/tfjsFiles.js';
import { modelFromTorch, toTorch, type FlattenOrder } from '../models/torch.js';
import { range } from '../train/batches.js';
import { TrainRecipeSchema, type TrainRecipe } from '../train/recipe.js';

/** `--spec SPEC.json` of a safetensors import: a model spec plus the PyTorch-side layout. */
export const TorchSpecSchema = z.object({
  spec: ModelSpecSchema,
  /** Flatten order of the PyTorch module (see src/models/torch.ts). Default `nchw`. */
  flatten: z.enum(['nchw', 'nhwc']).default('nchw'),
  /** Module prefixes in model order (default: natural sort of the file's prefixes). */
  names: z.array(z.string().min(1)).optional(),
});
export type TorchSpec = z.infer<typeof TorchSpecSchema>;

/** Options of {@link importModelWorkflow}: exactly one of `tfjs` or `safetensors`. */
export interface ImportModelOptions {
  /** Path of a LayersModel `model.json` (weight files beside it). */
  tfjs?: string;
  /** Path of a safetensors file of PyTorch weights; needs `spec` unless the file carries one (exported here). */
  safetensors?: string;
  /** Path of a SPEC.json ({@link TorchSpecSchema}) or the object itself. */
  spec?: string | TorchSpec;
  dataset: string;
  dataOptions?: Record<string, unknown>;
  /** `train` (default: every train-side row) or a file of example ids, one per line (or a JSON array). */
  trainedOn?: string;
  /** Path of a recipe JSON ({@link TrainRecipeSchema}) or the object; without one only approximate methods apply. */
  recipe?: string | Partial<TrainRecipe>;
  /** Who declares the lineage (default: the OS user name). */
  declaredBy?: string;
  out: string;
}

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new UnlearnError('INVALID_ARGS', `${what} ${path} not found`, `pass the path of the ${what} JSON file`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UnlearnError('INVALID_PARAMS', `${what} ${path} is not valid JSON (${(e as Error).message})`);
  }
}

const issue = (e: z.ZodError) => `${e.issues[0]?.path.join('.') || '(root)'}: ${e.issues[0]?.message}`;

/**
 * The declared training rows: every train-side id, or the ids of a file (one per line, `#`
 * comments and blank lines skipped, or a JSON array), in dataset order.
 * @throws UnlearnError SUBJECT_NOT_FOUND (an id not in the dataset, with its line), INVALID_ARGS
 *   (an id of the test side, an empty list), DUPLICATE_ID (an id listed twice).
 */
async function declaredIds(split: DataSplit, trainedOn: string): Promise<string[]> {
  if (trainedOn === 'train') return [...split.train.ids];
  let text: string;
  try {
    text = await readFile(trainedOn, 'utf8');
  } catch {
    throw new UnlearnError('INVALID_ARGS', `--trained-on ${trainedOn}: no such file`, "pass 'train' or a file of example ids, one per line");
  }
  let listed: string[];
  if (text.trimStart().startsWith('[')) {
    let arr: unknown;
    try {
      arr = JSON.parse(text);
    } catch (e) {
      throw new UnlearnError('INVALID_ARGS', `--trained-on ${trainedOn} starts like a JSON array but is not JSON (${(e as Error).message})`, 'write a JSON array of ids, or one id per line');
    }
    listed = (arr as unknown[]).map(String);
  } else listed = text.split(/\r?\n/).map((l) => l.trim());
  const train = new Set(split.train.ids);
  const test = new Set(split.test.ids);
  const seen = new Set<string>();
  listed.forEach((id, k) => {
    if (!id || id.startsWith('#')) return;
    const where = `${trainedOn} line ${k + 1}`;
    if (seen.has(id)) throw new UnlearnError('DUPLICATE_ID', `--trained-on: id '${id}' is listed twice (${where})`, 'list each id once');
    seen.add(id);
    if (test.has(id)) throw new UnlearnError('INVALID_ARGS', `--trained-on: id '${id}' (${where}) is on the test side of dataset ${split.name}`, 'import the dataset with a split that puts the training rows on the train side (--split-col)');
    if (!train.has(id)) throw new UnlearnError('SUBJECT_NOT_FOUND', `--trained-on: id '${id}' (${where}) is not in dataset ${split.name}`, 'list ids of the dataset (see its train.rows.json, or `unlearn data show`)');
  });
  if (!seen.size) throw new UnlearnError('INVALID_ARGS', `--trained-on ${trainedOn} lists no id`, 'one example id per line');
  return split.train.ids.filter((id) => seen.has(id));
}

/**
 * Import a model trained elsewhere: load it (TensorFlow.js files, or safetensors + spec), rebuild
 * it as a supported architecture, check its input and output shapes against the dataset, and save
 * a model directory whose manifest records the lineage and recipe as `declared` (who, when, from
 * which file). Test accuracy is measured and stored.
 * @throws UnlearnError INVALID_ARGS (neither or both sources, unsupported architecture, bad
 *   --trained-on), SHAPE_MISMATCH (input size or classes differ from the dataset, wrong tensor
 *   shapes), MODEL_MISSING (model.json or weight files absent), MODEL_CORRUPT (bad files, dtype),
 *   INVALID_PARAMS (bad spec or recipe), SUBJECT_NOT_FOUND / DUPLICATE_ID (--trained-on ids).
 */
export async function importModelWorkflow(o: ImportModelOptions): Promise<ModelManifest> {
  if (Boolean(o.tfjs) === Boolean(o.safetensors)) throw new UnlearnError('INVALID_ARGS', 'give exactly one of --tfjs model.json or --safetensors FILE', 'e.g. --tfjs exported/model.json');
  const t0 = performance.now();
  const split = await loadDataset(o.dataset, o.dataOptions ?? {});
  let model: tfl.LayersModel;
  let spec: ModelSpec;
  const notes: string[] = [];
  let source: NonNullable<ModelManifest['declared']>['source'];
  let torchNames: string[] | undefined;
  if (o.tfjs) {
    const loaded = await loadTfjsFiles(o.tfjs);
    try {
      const r = adoptModel(loaded.model);
      model = r.model;
      spec = r.spec;
      if (r.droppedSoftmax) notes.push('the final softmax was dropped: the model outputs logits (same predicted classes and probabilities)');
    } finally {
      loaded.model.dispose();
    }
    source = { format: 'tfjs', file: basename(o.tfjs), sha256: loaded.sha256 };
  } else {
    const file = o.safetensors!;
    if (!existsSync(file)) throw new UnlearnError('MODEL_MISSING', `${file} not found`, 'pass the path of the .safetensors file');
    const bytes = await readFile(file);
    const st = readSafetensors(bytes, file);
    let raw: unknown = typeof o.spec === 'string' ? await readJson(o.spec, 'spec') : o.spec;
    if (raw === undefined && st.metadata['unlearn.spec']) raw = JSON.parse(st.metadata['unlearn.spec']);
    if (raw === undefined) throw new UnlearnError('INVALID_ARGS', `${file} carries no model spec`, 'pass --spec SPEC.json (see README "PyTorch")');
    const ps = TorchSpecSchema.safeParse(raw);
    if (!ps.success) throw new UnlearnError('INVALID_PARAMS', `invalid spec: ${issue(ps.error)}`, 'see README "PyTorch" for SPEC.json');
    spec = ps.data.spec;
    checkShapes(spec, split);
    model = modelFromTorch(st.tensors, spec, { names: ps.data.names, flatten: ps.data.flatten as FlattenOrder });
    torchNames = ps.data.names;
    if (!torchNames && st.metadata['unlearn.torchNames']) torchNames = JSON.parse(st.metadata['unlearn.torchNames']);
    if (ps.data.flatten === 'nhwc') notes.push('PyTorch module flattens channels-last (nhwc)');
    source = { format: 'safetensors', file: basename(file), sha256: sha256(bytes) };
  }
  try {
    checkShapes(spec, split);
    const trainIds = await declaredIds(split, o.trainedOn ?? 'train');
    let recipe: TrainRecipe;
    const declaredRecipe = o.recipe !== undefined;
    if (declaredRecipe) {
      const raw = typeof o.recipe === 'string' ? await readJson(o.recipe, 'recipe') : o.recipe;
      const pr = TrainRecipeSchema.safeParse(raw);
      if (!pr.success) throw new UnlearnError('INVALID_PARAMS', `invalid recipe: ${issue(pr.error)}`, 'see `unlearn train --help` for the fields (optimizer, learningRate, epochs, batchSize, weightDecay, seed)');
      recipe = pr.data;
    } else {
      recipe = TrainRecipeSchema.parse({});
      notes.push('no training recipe declared: `retrain` is unavailable; approximate methods use default optimiser settings unless given --params');
    }
    const TA = accuracyOf(predict(model, split.test, range(split.test.labels.length)));
    const subjects = new Set<string>();
    const pos = new Map(split.train.ids.map((id, i) => [id, i]));
    for (const id of trainIds) subjects.add(split.train.subjects[pos.get(id)!]);
    const at = new Date().toISOString();
    const manifest: Omit<ModelManifest, 'files' | 'modelHash'> = {
      format: 'unlearn-model/1',
      spec,
      dataset: { name: split.name, options: split.options, fingerprint: split.fingerprint },
      lineage: { trainIds, trainIdsSha256: hashIds(trainIds), numExamples: trainIds.length, numSubjects: subjects.size },
      recipe,
      seed: recipe.seed,
      parent: null,
      method: { id: 'import', guarantee: 'exact', params: { format: source.format } },
      timings: { wallSeconds: (performance.now() - t0) / 1000 },
      metrics: { TA },
      backend: backendDescription(),
      createdAt: at,
      declared: {
        by: o.declaredBy ?? userInfo().username,
        at,
        lineage: o.trainedOn && o.trainedOn !== 'train' ? `the ${trainIds.length} ids of ${basename(o.trainedOn)}` : `every train-side row of ${split.name} (${trainIds.length})`,
        recipe: declaredRecipe,
        source,
        notes,
        ...(torchNames ? { torchNames } : {}),
      },
    };
    return await saveModel(o.out, model, manifest);
  } finally {
    model.dispose();
  }
}

/** @throws UnlearnError SHAPE_MISMATCH when the spec's input shape or class count differs from the dataset's. */
function checkShapes(spec: ModelSpec, split: DataSplit): void {
  const want = split.train.shape;
  if (spec.inputShape.join('x') !== want.join('x')) {
    throw new UnlearnError('SHAPE_MISMATCH', `the model takes input [${spec.inputShape}] (${spec.inputShape.reduce((a, b) => a * b, 1)} values), dataset ${split.name} has ${want.reduce((a, b) => a * b, 1)} features [${want}]`, `import the model with the dataset it was trained on; \`unlearn data show ${split.name}\` lists the features`);
  }
  if (spec.numClasses !== split.train.numClasses) {
    throw new UnlearnError('SHAPE_MISMATCH', `the model outputs ${spec.numClasses} classes, dataset ${split.name} has ${split.train.numClasses} (${split.classNames.join(', ')})`, 'import the model with the dataset it was trained on');
  }
}

/** Options of {@link exportModelWorkflow}. */
export interface ExportModelOptions {
  modelDir: string;
  format: 'tfjs' | 'safetensors';
  /** tfjs: a directory (model.json + weights.bin); safetensors: a file. */
  out: string;
  force?: boolean;
}

/**
 * Export a model directory: `tfjs` writes a LayersModel directory (`model.json` + `weights.bin`,
 * loadable with `tf.loadLayersModel`, plus the model's `manifest.json`); `safetensors` writes the PyTorch state dict of the
 * canonical module (src/models/torch.ts; the imported names when it came from PyTorch) with the
 * spec in the metadata (`unlearn.spec`, `unlearn.modelHash`, `unlearn.flatten`). Atomic writes.
 * @throws UnlearnError INVALID_ARGS (existing out without force; not a single-network model),
 *   MODEL_MISSING / MODEL_CORRUPT as loadModel.
 */
export async function exportModelWorkflow(o: ExportModelOptions): Promise<{ out: string; bytes: number; modelHash: string }> {
  if (existsSync(o.out)) {
    if (!o.force) throw new UnlearnError('INVALID_ARGS', `--out ${o.out} already exists`, 'choose a new path, or pass --force to replace it');
    if (statSync(o.out).isDirectory() !== (o.format === 'tfjs')) throw new UnlearnError('INVALID_ARGS', `--out ${o.out} is a ${o.format === 'tfjs' ? 'file' : 'directory'}`, `a ${o.format} export is a ${o.format === 'tfjs' ? 'directory' : 'file'}`);
  }
  const stored = await loadModel(o.modelDir);
  try {
    const m = stored.manifest;
    if (o.format === 'tfjs') {
      // The verified files as they are: model.json + weights.bin load with tf.loadLayersModel, and with
      // manifest.json the directory is still a model directory of this project (its lineage travels along).
      const files = Object.fromEntries(await Promise.all(['model.json', 'weights.bin', 'manifest.json'].map(async (f) => [f, await readFile(join(o.modelDir, f))] as const)));
      await writeDirAtomic(o.out, files, { replace: o.force });
      return { out: o.out, bytes: files['model.json'].byteLength + files['weights.bin'].byteLength, modelHash: m.modelHash };
    }
    const names = m.declared?.torchNames;
    const bytes = writeSafetensors(toTorch(stored.model, m.spec, { names }), {
      format: 'pt',
      'unlearn.spec': JSON.stringify({ spec: m.spec, flatten: 'nchw', ...(names ? { names } : {}) }),
      'unlearn.modelHash': m.modelHash,
      'unlearn.flatten': 'nchw',
      ...(names ? { 'unlearn.torchNames': JSON.stringify(names) } : {}),
    });
    await ensureDir(dirname(o.out) || '.');
    const tmp = join(dirname(o.out), `.${basename(o.out)}.tmp-${process.pid}`);
    try {
      await writeFileSynced(tmp, bytes);
      await rename(tmp, o.out);
    } catch (e) {
      await rm(tmp, { force: true });
      throw new UnlearnError('IO_ERROR', `cannot write ${o.out}: ${(e as Error).message}`, 'check the output path and free disk space');
    }
    return { out: o.out, bytes: bytes.byteLength, modelHash: m.modelHash };
  } finally {
    stored.model.dispose();
  }
}
