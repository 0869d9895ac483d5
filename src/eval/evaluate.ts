import type * as tfl from '@tensorflow/tfjs-layers';
import type { DataSplit } from '../data/dataset.js';
import { range } from '../train/batches.js';
import type { ForgetSet } from '../data/forgetSet.js';
import { lossMembershipInference, type LossMiaAggregate } from './lossMia.js';
import { accuracyOf, predict, type Predictor } from '../train/predict.js';

/** Quality of one model w.r.t. a forget request (DESIGN.md §7). Accuracies in [0, 1]. */
export interface ModelEvaluation {
  /** Retain accuracy (D_r). */
  RA: number;
  /** Forget accuracy (D_f). */
  FA: number;
  /** Test accuracy. */
  TA: number;
  /** Mean cross-entropy on D_f, nats. */
  forgetLoss: number;
  /** Loss-threshold MIA, forget set vs test set. */
  mia: LossMiaAggregate;
  /** Per-example forget-set loss (nats) and MIA member probability, aligned with forget.forgetIdx. */
  perExample: { forgetLoss: Float64Array; memberProbability: Float64Array };
}

/**
 * Evaluate `model` on the retain, forget and test sets of `split` and run the loss-threshold
 * membership inference attack (forget vs test, balanced, cross-validated; see lossMia.ts) with
 * `seed`. Deterministic for a given model, data and seed.
 */
export function evaluateModel(model: tfl.LayersModel, split: DataSplit, forget: ForgetSet, seed = 0): ModelEvaluation {
  return evaluatePredictor((ds, idx) => predict(model, ds, idx), split, forget, seed);
}

export type { Predictor };

/** {@link evaluateModel} for any {@link Predictor}. */
export function evaluatePredictor(predictFn: Predictor, split: DataSplit, forget: ForgetSet, seed = 0): ModelEvaluation {
  const r = predictFn(split.train, forget.retainIdx);
  const f = predictFn(split.train, forget.forgetIdx);
  const t = predictFn(split.test, range(split.test.labels.length));
  // The attack needs ≥ 2 examples per side (cross-validation); below that it is reported as NaN.
  const mia =
    f.loss.length >= 2 && t.loss.length >= 2
      ? lossMembershipInference({ forgetLosses: f.loss, testLosses: t.loss, seed })
      : { aggregate: notComputable(f.loss.length, t.loss.length, seed), perExample: { memberProbability: new Float64Array(f.loss.length).fill(NaN) } };
  const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / Math.max(a.length, 1);
  return {
    RA: accuracyOf(r),
    FA: accuracyOf(f),
    TA: accuracyOf(t),
    forgetLoss: mean(f.loss),
    mia: mia.aggregate,
    perExample: { forgetLoss: f.loss, memberProbability: mia.perExample.memberProbability },
  };
}

/** A loss-MIA aggregate of NaNs for a forget or test set too small to attack. */
function notComputable(nForget: number, nTest: number, seed: number): LossMiaAggregate {
  return { accuracy: NaN, accuracyStd: NaN, foldAccuracies: [], auc: NaN, lossAuc: NaN, nPerSide: Math.min(nForget, nTest), nForget, nTest, folds: 0, seed };
}
