/**
 * Sustainability (MUSE's criterion 6, Shi et al. 2024): forget several sources one after
 * another from the same model, as successive deletion requests arrive, and audit after every
 * step — forgetting of everything removed so far and utility on what is left. A method that
 * holds up on one request may collapse on the third.
 */
import type { LanguageModel } from '../model.js';
import type { LmAudit } from './index.js';

/** One row per step: after forgetting `source`, with `removed` = every source removed so far. */
export interface SequentialStep {
  /** 1-based step number. */
  step: number;
  source: string;
  removed: string[];
  audit: LmAudit;
  /** Wall time of this step's unlearning (s). */
  seconds: number;
}

/**
 * Run the requests `sources` in order starting from `model`: step k calls
 * `forget(previous model, sources[k], removed before)` and then `audit(new model, removed so far)`.
 * `model` is left alone; every intermediate model is disposed once the next step has used it,
 * and the last one too (the rows keep only figures). Returns one row per step.
 */
export async function sequentialAudit(o: {
  model: LanguageModel;
  sources: string[];
  forget: (model: LanguageModel, source: string, removedBefore: string[]) => Promise<{ model: LanguageModel; seconds: number }>;
  audit: (model: LanguageModel, removed: string[]) => LmAudit;
  dispose: (model: LanguageModel) => void;
}): Promise<SequentialStep[]> {
  const rows: SequentialStep[] = [];
  let current = o.model;
  const removed: string[] = [];
  try {
    for (const [i, source] of o.sources.entries()) {
      const r = await o.forget(current, source, [...removed]);
      if (current !== o.model) o.dispose(current);
      current = r.model;
      removed.push(source);
      rows.push({ step: i + 1, source, removed: [...removed], audit: o.audit(current, [...removed]), seconds: r.seconds });
    }
  } finally {
    if (current !== o.model) o.dispose(current);
  }
  return rows;
}
