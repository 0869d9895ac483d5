/**
 * Scale (MUSE's criterion 5, Shi et al. 2024): how a method copes as one forget request grows —
 * here forget sets of 1, 2 and 4 sources, each removed in one request from the original model and
 * audited over the union of its sources.
 */
import type { LanguageModel } from '../model.js';
import type { LmAudit } from './index.js';

/** The default forget-set sizes. */
export const SCALE_SIZES = [1, 2, 4] as const;

/** One row per forget set. */
export interface ScaleRow {
  sources: string[];
  audit: LmAudit;
  seconds: number;
}

/** The nested forget sets of the first n sources for each size n (each size ≤ sources.length). */
export function forgetSets(sources: string[], sizes: readonly number[] = SCALE_SIZES): string[][] {
  return sizes.filter((n) => n >= 1 && n <= sources.length).map((n) => sources.slice(0, n));
}

/** For each set: `forget(set)` from the original, `audit(model, set)`, then dispose the model. */
export async function scaleAudit(o: {
  sets: string[][];
  forget: (sources: string[]) => Promise<{ model: LanguageModel; seconds: number }>;
  audit: (model: LanguageModel, sources: string[]) => LmAudit;
  dispose: (model: LanguageModel) => void;
}): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  for (const sources of o.sets) {
    const r = await o.forget(sources);
    try {
      rows.push({ sources: [...sources], audit: o.audit(r.model, sources), seconds: r.seconds });
    } finally {
      o.dispose(r.model);
    }
  }
  return rows;
}
