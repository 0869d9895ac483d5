/** The SISA row of the demo comparison (`unlearn demo`). */
import { join } from 'node:path';
import type { DataSplit } from '../data/dataset.js';
import { row, withGap, type Comparison } from './compare.js';
import type { ModelSpec } from '../models/spec.js';
import type { TrainRecipe } from '../train/recipe.js';
import type { ForgetSet } from '../data/forgetSet.js';
import { sisaForget } from '../unlearn/sisa/forget.js';
import { evaluateForManifest } from './sisaFormat.js';
import { trainSisa, type SisaOptions } from '../unlearn/sisa/train.js';

/**
 * SISA settings of the demo: 8 shards × 4 slices, mean-softmax aggregation (on the emails its test
 * accuracy is about half a point above the majority vote's: shards of ~600 emails are
 * under-trained and their soft outputs carry more than their labels). With the demo's 6-epoch recipe
 * every slice stage trains round(2·6/5) = 2 epochs; on 2 cores training the ensemble takes about
 * as long as the single model, and one sender's deletion retrains one shard of ~600 emails from
 * the checkpoint before its slice.
 */
export const DEMO_SISA: SisaOptions = { shards: 8, slices: 4, aggregate: 'mean' };

/**
 * SISA-train on the demo's split once (not timed in the row), then delete the forget set and add
 * a `sisa` row (guarantee `exact`) right after `retrain` in `comparison`. The row's time is the
 * deletion's wall time; its cost is that time over the single model's retrain time. The models
 * are saved as `<dir>/sisa-original` and `<dir>/sisa`.
 */
export async function appendSisaRow(
  comparison: Comparison,
  o: { split: DataSplit; spec: ModelSpec; recipe: TrainRecipe; forget: ForgetSet; dir: string; seed: number; request?: Record<string, unknown>; displaySubject?: (s: string) => string; sisa?: SisaOptions; log?: (line: string) => void },
): Promise<{ trainSeconds: number; deleteSeconds: number }> {
  const sisa = o.sisa ?? DEMO_SISA;
  const trained = await trainSisa(o.split, o.spec, o.recipe, sisa, { out: join(o.dir, 'sisa-original') });
  o.log?.(`trained SISA (${sisa.shards} shards × ${sisa.slices} slices) in ${trained.seconds.toFixed(1)} s (not counted in its row)`);
  const r = await sisaForget(join(o.dir, 'sisa-original'), o.split, o.forget, join(o.dir, 'sisa'), { seed: o.seed, request: o.request, displaySubject: o.displaySubject, evaluate: evaluateForManifest(o.split, o.seed) });
  const ref = comparison.rows.find((x) => x.method === 'retrain')!;
  const params = { shards: sisa.shards, slices: sisa.slices, aggregate: sisa.aggregate ?? 'vote', shardsRetrained: r.retrained };
  const sisaRow = withGap(row('sisa', 'exact', r.evaluation!, r.seconds, r.manifest.modelHash, params), ref);
  comparison.rows.splice(comparison.rows.indexOf(ref) + 1, 0, sisaRow);
  comparison.evaluations.sisa = r.evaluation!;
  return { trainSeconds: trained.seconds, deleteSeconds: r.seconds };
}
