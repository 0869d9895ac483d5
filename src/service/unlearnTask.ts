/**
 * The unlearning step of a service job, run on a worker thread of src/engine/workerPool.ts (or
 * in process): calls the library's forget workflow on one model directory with the forget set
 * given as example ids, and returns the new version's manifest and its evaluation.
 */
import { rm } from 'node:fs/promises';
import { loadSplitFor } from '../data/registry.js';
import { initEngine } from '../engine/backend.js';
import { loadModel } from '../models/io.js';
import { predict } from '../train/predict.js';
import { forgetWorkflow } from '../workflows.js';
import { certifiedRetrain } from './certifiedRetrain.js';

/** Input of {@link runUnlearn}. */
export interface UnlearnTaskArgs {
  modelDir: string;
  ids: string[];
  /**
   * Library method id for single networks (`retrain`, `finetune`), `certified-retrain`, or
   * `calibration-reference` (retrain without `ids` = the held-out set H, measure on H, delete the
   * weights: see reference.ts); omitted for SISA and the certified removal step.
   */
  method?: string;
  params?: Record<string, unknown>;
  seed: number;
  out: string;
}

/** Output of {@link runUnlearn}: the manifest written to `out`, headline metrics, notes, wall seconds. */
export interface UnlearnTaskResult {
  manifest: Record<string, any>;
  /** Headline metrics; `miaN` is the MIA sample per side (min of forget and test sizes). */
  evaluation: { RA: number; FA: number; TA: number; miaAuc: number; forgetN: number; miaN: number };
  notes: string[];
  seconds: number;
  /** For `calibration-reference`: the reference's figures on H (its weights are already deleted). */
  reference?: { accuracy: number; perClassAccuracy: (number | null)[]; classCounts: number[]; miaAuc: number | null; miaN: number };
}

/** Run one deletion with the library (writes the new version atomically to `args.out`). */
export async function runUnlearn(args: UnlearnTaskArgs): Promise<UnlearnTaskResult> {
  const t0 = performance.now();
  await initEngine('auto');
  if (args.method === 'certified-retrain') {
    const c = await certifiedRetrain(args.modelDir, args.ids, args.seed, args.out);
    const e = c.evaluation;
    return { manifest: c.manifest as unknown as Record<string, any>, evaluation: { RA: e.RA, FA: e.FA, TA: e.TA, miaAuc: e.mia.auc, forgetN: c.forget.forgetIdx.length, miaN: e.mia.nPerSide }, notes: ['retrained with fresh noise on the retain set (exact)'], seconds: (performance.now() - t0) / 1000 };
  }
  if (args.method === 'calibration-reference') {
    const r = await forgetWorkflow({ modelDir: args.modelDir, selector: { ids: args.ids }, method: 'retrain', seed: args.seed, out: args.out, quiet: true });
    try {
      const stored = await loadModel(args.out);
      const split = await loadSplitFor(stored.manifest.dataset);
      const p = predict(stored.model, split.train, r.forget.forgetIdx);
      stored.model.dispose();
      const hits = new Array<number>(split.train.numClasses).fill(0);
      const counts = new Array<number>(split.train.numClasses).fill(0);
      for (let i = 0; i < p.labels.length; i++) {
        counts[p.labels[i]]++;
        if (p.predicted[i] === p.labels[i]) hits[p.labels[i]]++;
      }
      const e = r.evaluation;
      return {
        manifest: {},
        evaluation: { RA: e.RA, FA: e.FA, TA: e.TA, miaAuc: e.mia.auc, forgetN: r.forget.forgetIdx.length, miaN: e.mia.nPerSide },
        notes: ['calibration reference: retrained without H, measured on H, weights deleted'],
        seconds: (performance.now() - t0) / 1000,
        reference: { accuracy: e.FA, perClassAccuracy: counts.map((c, k) => (c ? hits[k] / c : null)), classCounts: counts, miaAuc: Number.isFinite(e.mia.auc) ? e.mia.auc : null, miaN: e.mia.nPerSide },
      };
    } finally {
      await rm(args.out, { recursive: true, force: true });
    }
  }
  const r = await forgetWorkflow({ modelDir: args.modelDir, selector: { ids: args.ids }, method: args.method, params: args.params, seed: args.seed, out: args.out, quiet: true });
  const e = r.evaluation;
  return {
    manifest: r.manifest as unknown as Record<string, any>,
    evaluation: { RA: e.RA, FA: e.FA, TA: e.TA, miaAuc: e.mia.auc, forgetN: r.forget.forgetIdx.length, miaN: e.mia.nPerSide },
    notes: r.notes ?? [],
    seconds: (performance.now() - t0) / 1000,
  };
}
