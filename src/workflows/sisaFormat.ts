/**
 * The `unlearn-sisa/1` model format handler: `unlearn forget` on a SISA directory retrains the
 * affected shards (src/unlearn/sisa) and evaluates the new ensemble (src/eval); `unlearn eval`
 * evaluates a stored ensemble. Importing this module registers the format.
 */
import { z } from 'zod';
import type { DataSplit } from '../data/dataset.js';
import { forgetSetOfVersion, type ForgetSelector, type ForgetSet } from '../data/forgetSet.js';
import { SubjectIndex } from '../data/pseudonym.js';
import { UnlearnError } from '../errors.js';
import { evaluateModel, evaluatePredictor, type ModelEvaluation } from '../eval/evaluate.js';
import { formatHandlerFor, registerFormat, type EvalOutcome, type ForgetOutcome, type ForgetRequest, type ModelFormatHandler } from '../models/formats.js';
import { loadModel } from '../models/io.js';
import type { Predictor } from '../train/predict.js';
import { ensemblePredictor } from '../unlearn/sisa/ensemble.js';
import { sisaForget } from '../unlearn/sisa/forget.js';
import { sisaSplit } from '../unlearn/sisa/index.js';
import { SISA_FORMAT, loadShardModels, readSisaManifest, type SisaManifest } from '../unlearn/sisa/store.js';

/**
 * The evaluation a deletion writes into the new version's manifest: RA/FA/TA, forget loss and the
 * loss MIA's AUC (NaN fields for a forget set too small to attack), seeded with `seed`.
 */
export function evaluateForManifest(split: DataSplit, seed: number) {
  return (p: Predictor, forget: ForgetSet) => {
    const evaluation = evaluatePredictor(p, split, forget, seed);
    return { evaluation, metrics: { RA: evaluation.RA, FA: evaluation.FA, TA: evaluation.TA, forgetLoss: evaluation.forgetLoss, miaAuc: evaluation.mia.auc } };
  };
}

/** Evaluate the ensemble stored in `dir` (RA/FA/TA, loss MIA) on a forget set. The caller owns nothing afterwards. */
export async function evaluateSisaDir(dir: string, m: SisaManifest, split: DataSplit, forget: ForgetSet, seed: number): Promise<ModelEvaluation> {
  const models = await loadShardModels(dir, m);
  try {
    return evaluatePredictor(ensemblePredictor(models, m.sisa.aggregate), split, forget, seed);
  } finally {
    models.forEach((x) => x.dispose());
  }
}

/** Params of a deletion on a SISA model (`unlearn forget --params`). */
const SisaForgetParams = z.strictObject({ workers: z.number().int().min(1).optional(), fullRetrain: z.boolean().optional() });

/** The `unlearn-sisa/1` handler: deletion by shard retraining, evaluation of the ensemble. */
export const sisaFormatHandler: ModelFormatHandler = {
  format: SISA_FORMAT,
  async forget(req: ForgetRequest): Promise<ForgetOutcome> {
    if (req.method && req.method !== 'sisa') {
      throw new UnlearnError('INVALID_ARGS', `${req.modelDir} is a SISA model: it is unlearned by retraining its affected shards, not by '${req.method}'`, 'drop --method (or pass --method sisa)');
    }
    const p = SisaForgetParams.safeParse(req.params ?? {});
    if (!p.success) throw new UnlearnError('INVALID_PARAMS', `sisa: ${p.error.issues[0]?.path.join('.') || 'params'}: ${p.error.issues[0]?.message}`, 'SISA takes only {"workers": N, "fullRetrain": true|false}');
    const m = await readSisaManifest(req.modelDir);
    const split = await sisaSplit(m);
    const subjectIndex = SubjectIndex.forSplit(split);
    const sel = req.selector;
    const request = { ...sel, ...(sel.subjects ? { subjects: sel.subjects.map((s) => subjectIndex.display(subjectIndex.resolve(s))) } : {}) };
    const r = await sisaForget(req.modelDir, split, sel, req.out, {
      workers: p.data.workers,
      fullRetrain: p.data.fullRetrain,
      pool: req.pool,
      seed: req.seed,
      resolveSubject: (s) => subjectIndex.resolve(s),
      displaySubject: (s) => subjectIndex.display(s),
      request,
      log: req.quiet ? undefined : (l) => process.stderr.write(l + '\n'),
      evaluate: evaluateForManifest(split, req.seed ?? m.seed),
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

// ES modules are evaluated once per process, so this registers the format exactly once.
registerFormat(sisaFormatHandler);
