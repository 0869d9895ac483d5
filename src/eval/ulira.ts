/**
 * U-LiRA (Hayes, Shumailov, Triantafillou, Khalifa, Papernot, "Inexact Unlearning Needs More
 * Careful Evaluations to Avoid a False Sense of Privacy", 2024; docs/metrics.md): LiRA aimed at the
 * unlearning algorithm itself. Each shadow model is trained on a random half of the pool and then
 * unlearned, with the method under test, on the forget-set examples it trained on. For a forget
 * example x the "in" Gaussian is fitted on φ(x) under shadows that trained on x and then unlearned
 * it, the "out" Gaussian on shadows that never trained on x. The attack then asks, for each
 * (target model, forget example) pair, "was x unlearned by this model, or never seen?": positives
 * are the pairs of the N unlearned target models, negatives the pairs of the N retrained ones.
 * A perfect method is indistinguishable from retraining: AUC = 0.5.
 *
 * The scoring is LiRA's (lira.ts: online likelihood ratio by default, medians and population
 * standard deviations, optional global variance).
 */
import { UnlearnError } from '../errors.js';
import { fitShadowGaussians, liraScores, summariseAttack, type AttackAggregate, type LiraOptions } from './lira.js';
import type { Metric, MetricResult } from './metric.js';

/** Input of U-LiRA. Example indices are into the forget set (0..S−1). */
export interface UliraInput extends LiraOptions {
  /** φ of each forget example under each unlearned shadow: K rows of shape [S]. */
  shadowPhi: ArrayLike<number>[];
  /** Per shadow and forget example: 1 = trained on it then unlearned it, 0 = never trained on it. */
  shadowUnlearned: ArrayLike<number>[];
  /** φ of the forget examples under each unlearned target model: rows of shape [S]. */
  unlearnedPhi: ArrayLike<number>[];
  /** φ of the forget examples under each retrained target model: rows of shape [S]. */
  retrainedPhi: ArrayLike<number>[];
  rocPoints?: number;
}

/**
 * Run U-LiRA (see the module comment).
 * @returns the ROC summary (positives = unlearned pairs) and per-pair scores (unlearned rows
 *   first, then retrained rows, each row-major).
 * @throws UnlearnError INVALID_PARAMS when a row's length differs from the forget set size, or a
 *   forget example has no "out" shadow; as LiRA otherwise.
 */
export function ulira(input: UliraInput): MetricResult<AttackAggregate> & { perExample: { score: Float64Array } } {
  const S = input.shadowPhi[0]?.length ?? 0;
  for (const row of [...input.unlearnedPhi, ...input.retrainedPhi]) {
    if (row.length !== S) throw new UnlearnError('INVALID_PARAMS', `U-LiRA: a target row has ${row.length} values, the shadows cover ${S} forget examples`);
  }
  if (input.unlearnedPhi.length === 0 || input.retrainedPhi.length === 0) throw new UnlearnError('INVALID_PARAMS', 'U-LiRA needs unlearned and retrained target models');
  const g = fitShadowGaussians({ phi: input.shadowPhi, role: input.shadowUnlearned });
  const rows = [...input.unlearnedPhi, ...input.retrainedPhi];
  const total = rows.length * S;
  const phi = new Float64Array(total);
  const example = new Int32Array(total);
  const isMember = new Uint8Array(total);
  rows.forEach((row, m) => {
    for (let x = 0; x < S; x++) {
      phi[m * S + x] = row[x];
      example[m * S + x] = x;
      isMember[m * S + x] = m < input.unlearnedPhi.length ? 1 : 0;
    }
  });
  const mode = input.mode ?? 'online';
  const score = liraScores(g, phi, example, input);
  return { aggregate: summariseAttack(score, isMember, mode, !!input.globalVariance, input.rocPoints), perExample: { score } };
}

/** U-LiRA as a registered {@link Metric} (id 'ulira'). Source: Hayes et al. 2024. */
export const uliraMetric: Metric<UliraInput, AttackAggregate> = {
  id: 'ulira',
  description: 'U-LiRA (Hayes et al. 2024): LiRA with shadows trained then unlearned by the method under test; unlearned vs retrained target models per forget example; AUC (ideal 0.5).',
  compute: ulira,
};
