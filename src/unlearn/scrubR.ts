import type * as tfl from '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import type { DataSplit } from '../data/dataset.js';
import { range } from '../train/batches.js';
import { predict } from '../train/predict.js';
import type { UnlearningMethod } from './method.js';
import { ScrubParams, runScrub } from './scrub.js';

/**
 * The error a model "should" have on the forget set if it had never seen it: its error on the
 * held-out (test) examples reweighted to the forget set's class mix,
 *   err_ref = Σ_c π_c · err_test(c),  π_c = share of class c in D_f
 * (classes without test examples are left out and the weights renormalised). In [0, 1].
 */
export function heldOutErrorAtClassMix(model: tfl.LayersModel, split: DataSplit, forgetIdx: Int32Array): number {
  const k = split.train.numClasses;
  const share = new Float64Array(k);
  for (const i of forgetIdx) share[split.train.labels[i]] += 1 / forgetIdx.length;
  const p = predict(model, split.test, range(split.test.labels.length));
  const wrong = new Float64Array(k);
  const count = new Float64Array(k);
  p.labels.forEach((y, j) => ((count[y] += 1), (wrong[y] += p.predicted[j] === y ? 0 : 1)));
  let err = 0;
  let w = 0;
  for (let c = 0; c < k; c++) if (share[c] > 0 && count[c] > 0) ((err += share[c] * (wrong[c] / count[c])), (w += share[c]));
  return w > 0 ? err / w : NaN;
}

/**
 * SCRUB+R, SCRUB with rewind (Kurmanji, Triantafillou, Hayes, Triantafillou, NeurIPS 2023, §4 —
 * for the privacy use-case, where a forget error far above the held-out error itself reveals
 * membership): run SCRUB (same params and defaults as `scrub`), keeping a checkpoint after every
 * epoch e = 1..E; return the checkpoint minimising |err_f(θ_e) − err_ref(θ_e)|, with err_f the
 * error on D_f and err_ref the held-out error at D_f's class mix ({@link heldOutErrorAtClassMix});
 * ties go to the later epoch.
 */
export const scrubR: UnlearningMethod<ScrubParams> = {
  id: 'scrub-r',
  guarantee: 'approximate',
  description: 'SCRUB keeping per-epoch checkpoints; returns the one whose forget error is closest to the held-out error',
  reference: 'Kurmanji, Triantafillou, Hayes, Triantafillou, "Towards Unbounded Machine Unlearning", NeurIPS 2023 (SCRUB+R)',
  paramsSchema: ScrubParams,
  async run(original, params, ctx) {
    const checkpoints: { epoch: number; weights: tf.Tensor[]; forgetError: number; heldOutError: number }[] = [];
    const r = runScrub(original, params, ctx, 'scrub-r', (epoch, student) => {
      const f = predict(student, ctx.split.train, ctx.forget.forgetIdx);
      const forgetError = f.labels.reduce((s, y, j) => s + (f.predicted[j] === y ? 0 : 1), 0) / Math.max(1, f.labels.length);
      checkpoints.push({ epoch, weights: student.getWeights().map((t) => t.clone()), forgetError, heldOutError: heldOutErrorAtClassMix(student, ctx.split, ctx.forget.forgetIdx) });
    });
    let best = checkpoints[checkpoints.length - 1];
    for (const c of checkpoints) if (Math.abs(c.forgetError - c.heldOutError) < Math.abs(best.forgetError - best.heldOutError)) best = c;
    r.model.setWeights(best.weights);
    tf.dispose(checkpoints.flatMap((c) => c.weights));
    return { model: r.model, details: { ...r.details, chosenEpoch: best.epoch, checkpoints: checkpoints.map(({ weights: _w, ...c }) => c) } };
  },
};
