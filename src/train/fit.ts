import type * as tfl from '@tensorflow/tfjs-layers';
import { backendDescription } from '../engine/backend.js';
import { hashIds, type DataSplit } from '../data/dataset.js';
import { UnlearnError } from '../errors.js';
import { buildModel } from '../models/build.js';
import type { ModelManifest } from '../models/manifest.js';
import { ModelSpecSchema, type ModelSpec } from '../models/spec.js';
import { range } from './batches.js';
import { TrainRecipeSchema, type TrainRecipe } from './recipe.js';
import { trainModel, type TrainOptions } from './train.js';

/** A model trained from scratch and its manifest (unsaved: saveModel fills files and modelHash). */
export interface FitResult {
  model: tfl.LayersModel;
  manifest: Omit<ModelManifest, 'files' | 'modelHash'>;
  seconds: number;
}

/**
 * Train the original model θ_o from scratch on the whole train side of `split`: build `spec`
 * with the recipe's seed, train, and record lineage (every train id), recipe, seed and timing.
 * `spec.inputShape` and `numClasses` must match the split.
 * @throws UnlearnError SHAPE_MISMATCH when the spec does not fit the data; INVALID_PARAMS for a bad
 *   recipe; NUMERIC_ERROR if training diverges.
 */
export async function fitFromScratch(split: DataSplit, specIn: ModelSpec, recipeIn: Partial<TrainRecipe>, opts: TrainOptions = {}): Promise<FitResult> {
  const ps = ModelSpecSchema.safeParse(specIn);
  if (!ps.success) throw new UnlearnError('INVALID_PARAMS', `invalid model spec: ${ps.error.issues[0]?.path.join('.')}: ${ps.error.issues[0]?.message}`, 'e.g. --hidden 128 (positive widths)');
  const spec = ps.data;
  const r = TrainRecipeSchema.safeParse(recipeIn);
  if (!r.success) throw new UnlearnError('INVALID_PARAMS', `invalid training recipe: ${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}`);
  const recipe = r.data;
  if (spec.inputShape.join('x') !== split.train.shape.join('x') || spec.numClasses !== split.train.numClasses) {
    throw new UnlearnError('SHAPE_MISMATCH', `model expects input [${spec.inputShape}] with ${spec.numClasses} classes, data has [${split.train.shape}] with ${split.train.numClasses}`, 'build the spec from the dataset (specFor)');
  }
  const model = buildModel(spec, recipe.seed);
  const res = await trainModel(model, split.train, range(split.train.labels.length), recipe, { label: 'train', ...opts });
  const ids = split.train.ids;
  return {
    model,
    seconds: res.seconds,
    manifest: {
      format: 'unlearn-model/1',
      spec,
      dataset: { name: split.name, options: split.options, fingerprint: split.fingerprint },
      lineage: { trainIds: [...ids], trainIdsSha256: hashIds(ids), numExamples: ids.length, numSubjects: new Set(split.train.subjects).size },
      recipe,
      seed: recipe.seed,
      parent: null,
      method: { id: 'train', guarantee: 'exact', params: {} },
      timings: { wallSeconds: res.seconds },
      metrics: { trainLoss: res.epochLosses },
      backend: backendDescription(),
      createdAt: new Date().toISOString(),
    },
  };
}

/** A spec of `kind` sized for `split` (input shape and class count from the data). */
export function specFor(split: DataSplit, kind: ModelSpec['kind'], opts: { hidden?: number[]; filters?: number[]; dense?: number } = {}): ModelSpec {
  const common = { inputShape: split.train.shape, numClasses: split.train.numClasses };
  if (kind === 'logreg') return { kind, ...common };
  if (kind === 'mlp') return { kind, ...common, hidden: opts.hidden ?? [128], activation: 'relu' };
  return { kind, ...common, filters: opts.filters ?? [16, 32], kernelSize: 3, dense: opts.dense ?? 64 };
}
