/**
 * The jobs of the language-model benchmark (bench/lm.ts), run in worker threads (one tfjs backend
 * each): train the original, train the retrained reference for a source, audit a saved model,
 * unlearn a source with a method and audit the result. Models are exchanged as directories;
 * results as plain JSON. A job whose model directory already holds a finished model reuses it.
 */
import { existsSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { auditLm, type AuditOptions, type LmAudit } from '../src/lm/audit/index.js';
import { lmScaleWorkflow, lmSustainWorkflow } from '../src/lm/seriesWorkflows.js';
import type { CorpusOptions } from '../src/lm/data.js';
import { disposeModel, numParams } from '../src/lm/model.js';
import type { LmRecipe } from '../src/lm/train.js';
import { defaultProbes, lmForget, lmRetrainWorkflow, lmTrainWorkflow, openLm } from '../src/lm/workflows.js';

/** What every model of one benchmark run is trained with. */
export interface Setup {
  config: string;
  corpus: Partial<CorpusOptions>;
  recipe: Partial<LmRecipe>;
}

const done = (dir: string) => existsSync(join(dir, 'manifest.json'));
/**
 * A progress line on stderr, written synchronously: a worker's `process.stderr` reaches the main
 * thread only when the worker's event loop turns, which a training loop does not do until the job ends.
 */
const log = (s: string) => writeSync(2, s + '\n');
/** Progress line about every 5% of `total` steps, with the wall time since the first step. */
const every = (name: string, total: number) => {
  const k = Math.max(1, Math.round(total / 20));
  let t0 = 0;
  return (s: number, l: number) => {
    if (s === 0) t0 = performance.now();
    if ((s + 1) % k === 0) log(`${name} step ${s + 1}/${total} loss ${l.toFixed(3)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  };
};

/** Train (or reuse) the original model in `dir`. Returns its wall time (s), size and final loss. */
export async function trainOriginal(a: { setup: Setup; dir: string }): Promise<{ seconds: number; params: number; passages: number; sources: number; finalLoss: number; fingerprint: string; reused: boolean }> {
  const reused = done(a.dir);
  const r = reused ? await openLm(a.dir) : await lmTrainWorkflow({ ...a.setup, out: a.dir, backend: 'auto', onStep: every('original', a.setup.recipe.steps ?? 0) });
  const out = { seconds: r.manifest.timings.wallSeconds, params: numParams(r.model.config), passages: r.corpus.train.length, sources: r.corpus.sources.length, finalLoss: r.manifest.metrics.finalLoss as number, fingerprint: r.corpus.fingerprint, reused };
  disposeModel(r.model);
  return out;
}

/** Train (or reuse) the retrained reference without `source` (one or several) in `dir`. Returns its wall time (s). */
export async function trainReference(a: { setup: Setup; source: string | string[]; dir: string }): Promise<{ seconds: number; reused: boolean }> {
  if (done(a.dir)) {
    const r = await openLm(a.dir);
    disposeModel(r.model);
    return { seconds: r.manifest.timings.wallSeconds, reused: true };
  }
  const r = await lmRetrainWorkflow({ ...a.setup, source: a.source, out: a.dir, onStep: every(`retrain without ${a.source}`, a.setup.recipe.steps ?? 0) });
  disposeModel(r.model);
  return { seconds: r.seconds, reused: false };
}

/** Audit the model saved in `dir` for `source` (PrivLeak is filled in by the caller). */
export async function auditModel(a: { dir: string; source: string | string[]; options: Partial<AuditOptions> }): Promise<LmAudit> {
  const r = await openLm(a.dir);
  try {
    return auditLm(r.model, r.corpus, a.source, defaultProbes(), a.options);
  } finally {
    disposeModel(r.model);
  }
}

/** Forget `source` from the original in `originalDir` with `method`, then audit the result. */
export async function runMethod(a: { originalDir: string; source: string | string[]; method: string; params: Record<string, unknown>; options: Partial<AuditOptions> }): Promise<{ audit: LmAudit; seconds: number }> {
  const o = await openLm(a.originalDir);
  try {
    const r = await lmForget({ model: o.model, manifest: o.manifest, corpus: o.corpus, source: a.source, method: a.method, params: a.params });
    try {
      return { audit: auditLm(r.model, o.corpus, a.source, defaultProbes(), a.options), seconds: r.seconds };
    } finally {
      disposeModel(r.model);
    }
  } finally {
    disposeModel(o.model);
  }
}

/**
 * Sustainability: forget `sources` one after another from the original in `originalDir` with
 * `method`, auditing everything removed so far after each step. One row per step.
 */
export async function runSequence(a: { originalDir: string; sources: string[]; method: string; params: Record<string, unknown>; options: Partial<AuditOptions> }): Promise<{ audit: LmAudit; seconds: number }[]> {
  const o = await openLm(a.originalDir);
  try {
    return await lmSustainWorkflow({ ...o, sources: a.sources, method: a.method, params: a.params, options: a.options });
  } finally {
    disposeModel(o.model);
  }
}

/** Scale: forget each set of `sets` in one request from the original with `method`, audit the union. */
export async function runScale(a: { originalDir: string; sets: string[][]; method: string; params: Record<string, unknown>; options: Partial<AuditOptions> }): Promise<{ audit: LmAudit; seconds: number }[]> {
  const o = await openLm(a.originalDir);
  try {
    return await lmScaleWorkflow({ ...o, sets: a.sets, method: a.method, params: a.params, options: a.options });
  } finally {
    disposeModel(o.model);
  }
}
