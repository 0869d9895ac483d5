/**
 * Relearning attack (Lynch et al. 2024, "Eight Methods to Evaluate Robust Unlearning in LLMs";
 * Hu et al. 2024): fine-tune the unlearned model for a few steps on a small part of the forgotten
 * source that the audits do not use (its held-out passages), then measure again. Knowledge that
 * was hidden rather than removed comes back quickly; a retrained model only learns what those
 * passages teach.
 */
import { z } from 'zod';
import { deriveSeed } from '../../engine/rng.js';
import type { LmDocument } from '../data.js';
import { cloneModel, disposeModel, type LanguageModel } from '../model.js';
import { trainLm } from '../train.js';

export const relearnSchema = z.object({
  steps: z.number().int().min(1).default(10),
  passages: z.number().int().min(1).default(16),
  batchSize: z.number().int().min(1).default(8),
  learningRate: z.number().positive().default(1e-3),
  seed: z.number().int().default(0),
});
export type RelearnOptions = z.infer<typeof relearnSchema>;

/**
 * Run `measure` on a copy of `m` fine-tuned for `steps` Adam steps on the first `passages` of
 * `attackDocs`. `m` is not changed; the copy is disposed.
 */
export function relearnAttack<R>(m: LanguageModel, attackDocs: LmDocument[], options: Partial<RelearnOptions>, measure: (relearned: LanguageModel) => R): R & { relearnSteps: number; relearnPassages: number } {
  const o = relearnSchema.parse(options);
  const docs = attackDocs.slice(0, o.passages);
  const copy = cloneModel(m);
  try {
    trainLm(copy, docs, { steps: o.steps, batchSize: o.batchSize, learningRate: o.learningRate, clipNorm: 1, seed: deriveSeed(o.seed, 'relearn') });
    return { ...measure(copy), relearnSteps: o.steps, relearnPassages: docs.length };
  } finally {
    disposeModel(copy);
  }
}
