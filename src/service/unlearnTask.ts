/**
 * The unlearning step of a service job, run on a worker thread of src/engine/workerPool.ts (or
 * in process): calls the library's forget workflow on one model directory with the forget set
 * given as example ids, and returns the new version's manifest and its evaluation.
 */
import { initEngine } from '../engine/backend.js';
import { forgetWorkflow } from '../workflows.js';

/** Input of {@link runUnlearn}. */
export interface UnlearnTaskArgs {
  modelDir: string;
  ids: string[];
  /** Library method id for single networks (`retrain`, `finetune`); omitted for SISA and certified models. */
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
}

/** Run one deletion with the library (writes the new version atomically to `args.out`). */
export async function runUnlearn(args: UnlearnTaskArgs): Promise<UnlearnTaskResult> {
  const t0 = performance.now();
  await initEngine('auto');
  const r = await forgetWorkflow({ modelDir: args.modelDir, selector: { ids: args.ids }, method: args.method, params: args.params, seed: args.seed, out: args.out, quiet: true });
  const e = r.evaluation;
  return {
    manifest: r.manifest as unknown as Record<string, any>,
    evaluation: { RA: e.RA, FA: e.FA, TA: e.TA, miaAuc: e.mia.auc, forgetN: r.forget.forgetIdx.length, miaN: e.mia.nPerSide },
    notes: r.notes ?? [],
    seconds: (performance.now() - t0) / 1000,
  };
}
