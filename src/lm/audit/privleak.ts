/**
 * Loss-based membership attack on one source, and MUSE's PrivLeak (Shi et al. 2024):
 * AUC of "member" = −(mean NLL per token) for the source's training passages (members) vs its
 * held-out passages (non-members); PrivLeak = (AUC_unlearned − AUC_retrained) / AUC_retrained.
 * ≈ 0 is ideal; > 0 under-unlearning (members still stand out); < 0 over-unlearning.
 */
import { auc } from '../../eval/roc.js';
import type { LmDocument } from '../data.js';
import type { LanguageModel } from '../model.js';
import { scoreDocs } from '../train.js';

/** AUC of the loss attack: forget (members) vs held-out (non-members) passages of a source. */
export function lossAttackAuc(m: LanguageModel, members: LmDocument[], nonMembers: LmDocument[]): number {
  const a = scoreDocs(m, members.map((d) => d.text)).perDoc;
  const b = scoreDocs(m, nonMembers.map((d) => d.text)).perDoc;
  const scores = [...Array.from(a, (x) => -x), ...Array.from(b, (x) => -x)];
  const labels = [...a.map(() => 1), ...b.map(() => 0)];
  return auc(scores, labels);
}

/** PrivLeak = (AUC_u − AUC_r) / AUC_r. */
export function privLeak(aucUnlearned: number, aucRetrained: number): number {
  return (aucUnlearned - aucRetrained) / aucRetrained;
}
