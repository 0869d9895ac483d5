/**
 * The `certified-retrain` path of the planner: retrain a certified model from scratch on its
 * lineage minus the forget set, with fresh loss-perturbation noise (the seed of the job), instead
 * of the Newton step (Guo et al., ICML 2020, retraining when the removal budget does not hold).
 * The library's removal step retrains only when the budget is exhausted; an exact requirement
 * needs the retrain always.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hashIds } from '../data/dataset.js';
import { selectForgetSet } from '../data/forgetSet.js';
import { evaluatePredictor } from '../eval/evaluate.js';
import { certifiedPredictor, fitCertified, lineageRows, openCertified } from '../unlearn/certified/format.js';
import { logregCertificate, saveCertified, type CertifiedManifest } from '../unlearn/certified/store.js';
import type { CertifiedLogistic } from '../unlearn/certified/logistic.js';

/**
 * Retrain the certified model in `modelDir` without `ids` and save it to `out` (format
 * `unlearn-certified/1`, method `certified-retrain`, guarantee exact). Returns the manifest, the
 * evaluation and the wall seconds.
 */
export async function certifiedRetrain(modelDir: string, ids: string[], seed: number, out: string) {
  const { stored, split } = await openCertified(modelDir);
  const m = stored.manifest;
  const fs = selectForgetSet(split.train, m.lineage.trainIds, { ids });
  const t0 = performance.now();
  const rows = lineageRows(split, m.lineage.trainIds);
  const keep = new Set(Array.from(fs.retainIdx));
  const model = fitCertified(split, Int32Array.from(rows).filter((r) => keep.has(r)), m.model.kind, { ...m.model.params }, seed);
  const seconds = (performance.now() - t0) / 1000;
  const remaining = Array.from(fs.retainIdx, (i) => split.train.ids[i]);
  const removed = [...(m.removed?.ids ?? []), ...fs.forgetIds];
  const evaluation = evaluatePredictor(certifiedPredictor(model, split.meta.labelThreshold as number | undefined), split, fs, seed);
  const manifest: CertifiedManifest = await saveCertified(
    out,
    model,
    {
      dataset: m.dataset,
      lineage: { trainIds: remaining, trainIdsSha256: hashIds(remaining), numExamples: remaining.length, numSubjects: new Set(Array.from(fs.retainIdx, (i) => split.train.subjects[i])).size },
      seed,
      parent: m.modelHash,
      method: { id: 'certified-retrain', guarantee: 'exact', params: { ...model.params } },
      removed: { ids: removed, idsSha256: hashIds(removed), subjects: m.removed?.subjects ?? [], request: { ids: fs.forgetIds } },
      timings: { wallSeconds: seconds },
      metrics: { RA: evaluation.RA, TA: evaluation.TA, FA: evaluation.FA },
      features: m.features,
      certificate: model.kind === 'logreg' ? logregCertificate(model as CertifiedLogistic, 0, true) : { guarantee: 'exact', residualBound: 0, retrained: true },
      backend: tf.getBackend(),
      createdAt: new Date().toISOString(),
    },
    stored.extractor,
  );
  return { manifest, evaluation, forget: fs, seconds };
}
