/**
 * SISA (Sharded, Isolated, Sliced, Aggregated training; Bourtoule et al., IEEE S&P 2021): exact
 * unlearning by retraining only the affected shard from a checkpoint. This module offers the
 * training workflow behind `unlearn train --sisa`; the `unlearn-sisa/1` model format handler
 * (`unlearn forget` / `unlearn eval` on SISA directories) is in src/workflows/sisaFormat.ts.
 */
import type { DataSplit } from '../../data/dataset.js';
import { loadDataset, loadSplitFor } from '../../data/registry.js';
import type { ModelSpec } from '../../models/spec.js';
import { specFor } from '../../train/fit.js';
import type { TrainRecipe } from '../../train/recipe.js';
import type { SisaManifest } from './store.js';
import { trainSisa, type SisaOptions } from './train.js';

export { aggregateProbabilities, ensemblePredictor, shardProbabilities, type Aggregate } from './ensemble.js';
export { sisaForget, type SisaForgetOptions, type SisaForgetResult } from './forget.js';
export { locate, partitionSisa, sliceEpochs, withoutIds, type PartitionUnit, type SisaAssignment } from './partition.js';
export { SISA_FORMAT, loadShardModels, pruneCheckpoints, readSisaManifest, type SisaManifest, type SisaStorage } from './store.js';
export { stageRecipe, trainSisa, type SisaOptions, type SisaTrainResult } from './train.js';

/** Load the split a SISA model was trained on and check its fingerprint. @throws UnlearnError DATASET_INVALID */
export function sisaSplit(m: Pick<SisaManifest, 'dataset'>): Promise<DataSplit> {
  return loadSplitFor(m.dataset);
}

/** Options of {@link sisaTrainWorkflow} (`unlearn train --sisa`). */
export interface SisaTrainWorkflowOptions {
  dataset: string;
  dataOptions?: Record<string, unknown>;
  kind: ModelSpec['kind'];
  hidden?: number[];
  recipe: Partial<TrainRecipe>;
  sisa: SisaOptions;
  out: string;
  log?: (line: string) => void;
}

/** Load data, train a SISA ensemble, save it to `out`; returns its manifest (test accuracy in `metrics.TA`, storage in `storage`). */
export async function sisaTrainWorkflow(o: SisaTrainWorkflowOptions): Promise<SisaManifest> {
  const dataOptions = { ...(o.kind === 'cnn' && o.dataset !== 'emails' ? { image: true } : {}), ...o.dataOptions };
  const split = await loadDataset(o.dataset, dataOptions);
  const r = await trainSisa(split, specFor(split, o.kind, { hidden: o.hidden }), o.recipe, o.sisa, { out: o.out, log: o.log });
  return r.manifest;
}
