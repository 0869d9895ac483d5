/**
 * SISA (Sharded, Isolated, Sliced, Aggregated training; Bourtoule et al., IEEE S&P 2021): exact
 * unlearning by retraining only the affected shard from a checkpoint. This module registers the
 * `unlearn-sisa/1` model format (so `unlearn forget` and `unlearn eval` work on SISA directories)
 * and offers the training workflow behind `unlearn train --sisa`.
 */
import { z } from 'zod';
import type { DataSplit } from '../../data/dataset.js';
import { SubjectIndex } from '../../data/pseudonym.js';
import { loadDataset, loadSplitFor } from '../../data/registry.js';
import { UnlearnError } from '../../errors.js';
import { evaluateModel, type ModelEvaluation } from '../../eval/evaluate.js';
import { formatHandlerFor, registerFormat, type EvalOutcome, type ForgetOutcome, type ForgetRequest, type ModelFormatHandler } from '../../models/formats.js';
import { loadModel } from '../../models/io.js';
import type { ModelSpec } from '../../models/spec.js';
import { specFor } from '../../train/fit.js';
import type { TrainRecipe } from '../../train/recipe.js';
import { forgetSetOfVersion, type ForgetSelector, type ForgetSet } from '../forgetSet.js';
import { ensemblePredictor } from './ensemble.js';
import { evaluateEnsemble, sisaForget } from './forget.js';
import { SISA_FORMAT, loadShardModels, readSisaManifest, type SisaManifest } from './store.js';
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

/** Evaluate the ensemble stored in `dir` (RA/FA/TA, loss MIA) on a forget set. The caller owns nothing afterwards. */
export async function evaluateSisaDir(dir: string, m: SisaManifest, split: DataSplit, forget: ForgetSet, seed: number): Promise<ModelEvaluation> {
  const models = await loadShardModels(dir, m);
  try {
    return evaluateEnsemble(ensemblePredictor(models, m.sisa.aggregate), split, forget, seed);
  } finally {
    models.forEach((x) => x.dispose());
  }
}

/** Params of a deletion on a SISA model (`unlearn forget --params`). */
const SisaForgetParams = z.strictObject({ workers: z.number().int().min(1).optional() });

/** The `unlearn-sisa/1` handler: deletion by shard retraining, evaluation of the ensemble. */
export const sisaFormatHandler: ModelFormatHandler = {
  format: SISA_FORMAT,
  async forget(req: ForgetRequest): Promise<ForgetOutcome> {
    if (req.method && req.method !== 'sisa') {
      throw new UnlearnError('INVALID_ARGS', `${req.modelDir} is a SISA model: it is unlearned by retraining its affected shards, not by '${req.method}'`, 'drop --method (or pass --method sisa)');
    }
    const p = SisaForgetParams.safeParse(req.params ?? {});
    if (!p.success) throw new UnlearnError('INVALID_PARAMS', `sisa: ${p.error.issues[0]?.path.join('.') || 'params'}: ${p.error.issues[0]?.message}`, 'SISA takes only {"workers": N}');
    const m = await readSisaManifest(req.modelDir);
    const split = await sisaSplit(m);
    const subjectIndex = SubjectIndex.forSplit(split);
    const sel = req.selector;
    const request = { ...sel, ...(sel.subjects ? { subjects: sel.subjects.map((s) => subjectIndex.display(subjectIndex.resolve(s))) } : {}) };
    const r = await sisaForget(req.modelDir, split, sel, req.out, {
      workers: p.data.workers,
      seed: req.seed,
      resolveSubject: (s) => subjectIndex.resolve(s),
      displaySubject: (s) => subjectIndex.display(s),
      request,
      log: req.quiet ? undefined : (l) => process.stderr.write(l + '\n'),
    });
    const lines = r.retrained.map((s) => `retrained shard ${s.shard} (earliest affected slice ${s.earliestSlice}) from ${s.fromSlice ? `the checkpoint after slice ${s.fromSlice}` : 'scratch'}`);
    lines.push(`reused ${m.shards.length - r.retrained.length} of ${m.shards.length} shards unchanged; storage ${r.manifest.storage.totalBytes} bytes`);
    return { manifest: r.manifest, evaluation: r.evaluation!, forget: r.forget, subjectIndex, notes: [...lines, ...r.notes.map((n) => `warning: ${n}`)] };
  },
  async evaluate(o: { modelDir: string; referenceDir?: string; selector?: ForgetSelector }): Promise<EvalOutcome> {
    const m = await readSisaManifest(o.modelDir);
    const split = await sisaSplit(m);
    const forget = forgetSetOfVersion(split.train, m, o.selector, (s) => SubjectIndex.forSplit(split).resolve(s));
    const model = await evaluateSisaDir(o.modelDir, m, split, forget, m.seed);
    let reference: ModelEvaluation | undefined;
    if (o.referenceDir) {
      if ((await formatHandlerFor(o.referenceDir))?.format === SISA_FORMAT) {
        reference = await evaluateSisaDir(o.referenceDir, await readSisaManifest(o.referenceDir), split, forget, m.seed);
      } else {
        const ref = await loadModel(o.referenceDir);
        reference = evaluateModel(ref.model, split, forget, m.seed);
        ref.model.dispose();
      }
    }
    return { model, reference, manifest: m };
  },
};


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

// ES modules are evaluated once per process, so this registers the format exactly once.
registerFormat(sisaFormatHandler);
