/**
 * The `unlearn-certified/1` model format handler: `unlearn forget` on a certified directory takes
 * the certified removal step (src/unlearn/certified) and evaluates the result (src/eval); `unlearn
 * eval` evaluates a stored certified model. Importing this module registers the format.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hashIds } from '../data/dataset.js';
import { erasedSubjects, forgetSetOfVersion, selectForgetSet, type ForgetSelector } from '../data/forgetSet.js';
import { SubjectIndex } from '../data/pseudonym.js';
import { UnlearnError } from '../errors.js';
import { evaluatePredictor, type ModelEvaluation } from '../eval/evaluate.js';
import { registerFormat, type EvalOutcome, type ForgetOutcome, type ForgetRequest, type ModelFormatHandler } from '../models/formats.js';
import { RIDGE_NOTE, certifiedPredictor, lineageRows, openCertified, removeFromCertified } from '../unlearn/certified/format.js';
import { CERTIFIED_FORMAT, saveCertified, type CertifiedModel } from '../unlearn/certified/store.js';

/** The metrics a certified version's manifest records (FA, forget loss and MIA only when defined). */
function metricsOf(ev: ModelEvaluation, model: CertifiedModel): Record<string, unknown> {
  const m: Record<string, unknown> = { RA: ev.RA, TA: ev.TA };
  if (ev.FA === ev.FA) Object.assign(m, { FA: ev.FA, forgetLoss: ev.forgetLoss, miaAuc: ev.mia.auc });
  if (model.kind === 'ridge') m.note = RIDGE_NOTE;
  return m;
}

/** `unlearn forget` on a certified directory. */
async function forget(req: ForgetRequest): Promise<ForgetOutcome> {
  if (req.method && !['certified', 'certified-newton', 'ridge-exact'].includes(req.method)) {
    throw new UnlearnError('INVALID_ARGS', `${req.modelDir} is a certified model: it is unlearned by its own removal step, not by '${req.method}'`, 'drop --method (or pass --method certified)');
  }
  // The removal step has no knobs: ε, δ, λ and σ were fixed when the model was trained.
  const extra = Object.keys(req.params ?? {});
  if (extra.length) {
    throw new UnlearnError('INVALID_PARAMS', `certified removal takes no params (got ${extra.join(', ')}): ε, δ, λ and σ are fixed when the model is trained`, 'drop --params, or train a new model with `unlearn train --certified --epsilon …`');
  }
  const { stored, split } = await openCertified(req.modelDir);
  const m = stored.manifest;
  const seed = req.seed ?? m.seed;
  const subjectIndex = SubjectIndex.forSplit(split);
  const fs = selectForgetSet(split.train, m.lineage.trainIds, req.selector, { seed, resolveSubject: (s) => subjectIndex.resolve(s) });
  const rows = lineageRows(split, m.lineage.trainIds);
  const r = removeFromCertified(stored.model, split, rows, fs.forgetIdx, seed);
  const remaining = Array.from(fs.retainIdx, (i) => split.train.ids[i]);
  const removedIds = [...(m.removed?.ids ?? []), ...fs.forgetIds];
  const evaluation = evaluatePredictor(certifiedPredictor(r.model, split.meta.labelThreshold as number | undefined), split, fs, seed);
  const subjects = [...new Set([...(m.removed?.subjects ?? []), ...erasedSubjects(split.train, fs).map((s) => subjectIndex.display(s))])];
  const request = { ...req.selector, ...(req.selector.subjects ? { subjects: req.selector.subjects.map((s) => subjectIndex.display(subjectIndex.resolve(s))) } : {}) };
  const manifest = await saveCertified(
    req.out,
    r.model,
    {
      dataset: m.dataset,
      lineage: { trainIds: remaining, trainIdsSha256: hashIds(remaining), numExamples: remaining.length, numSubjects: new Set(Array.from(fs.retainIdx, (i) => split.train.subjects[i])).size },
      seed,
      parent: m.modelHash,
      method: { id: r.methodId, guarantee: r.guarantee, params: { ...r.model.params } },
      removed: { ids: removedIds, idsSha256: hashIds(removedIds), subjects, request },
      timings: { wallSeconds: r.seconds },
      metrics: metricsOf(evaluation, r.model),
      features: m.features,
      certificate: r.certificate,
      backend: tf.getBackend(),
      createdAt: new Date().toISOString(),
    },
    stored.extractor,
  );
  const scope = m.features
    ? [`the guarantee covers the head only: the feature network ${m.features.sourceModelHash.slice(0, 12)} was trained on the removed examples and still carries them`]
    : [];
  return { manifest, evaluation, forget: fs, subjectIndex, notes: [...r.notes, ...scope] };
}


/** `unlearn eval` on a certified directory (the reference may be certified or a single network). */
async function evaluate(o: { modelDir: string; referenceDir?: string; selector?: ForgetSelector }): Promise<EvalOutcome> {
  const { stored, split } = await openCertified(o.modelDir);
  const m = stored.manifest;
  const fs = forgetSetOfVersion(split.train, m, o.selector, (s) => SubjectIndex.forSplit(split).resolve(s));
  const thr = split.meta.labelThreshold as number | undefined;
  const model = evaluatePredictor(certifiedPredictor(stored.model, thr), split, fs, m.seed);
  let reference: ModelEvaluation | undefined;
  if (o.referenceDir) {
    const ref = await openCertified(o.referenceDir);
    if (ref.split.fingerprint !== split.fingerprint) throw new UnlearnError('DATASET_INVALID', 'the reference model was trained on other data', 'compare models of the same dataset');
    reference = evaluatePredictor(certifiedPredictor(ref.stored.model, thr), split, fs, m.seed);
  }
  return { model, reference, manifest: m };
}

/** The `unlearn-certified/1` format handler (registered by ./index.ts). */
export const certifiedFormat: ModelFormatHandler = { format: CERTIFIED_FORMAT, forget, evaluate };

try {
  registerFormat(certifiedFormat);
} catch {
  /* already registered (the module was loaded twice, e.g. by a test runner) */
}
