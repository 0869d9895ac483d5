/**
 * Loss-threshold membership inference attack (MIA), as in the NeurIPS 2023 Machine Unlearning
 * challenge starting kit (docs/metrics.md): can a classifier tell the forget set from unseen test
 * data by the model's per-example loss alone? After good unlearning it should not: accuracy and
 * AUC ≈ 0.5, or more precisely the value the retrained model θ_r gets.
 *
 * Procedure:
 * 1. Balance: subsample the larger side (seeded) to the size of the smaller, n per side.
 * 2. Label forget = 1 (member), test = 0; the single feature is the loss (nats).
 * 3. Stratified k-fold cross-validation (seeded) of an L2 logistic regression on the loss
 *    ({@link fitLogistic}, standardised feature, l2 = 1 like scikit-learn's default C = 1).
 * 4. Report the mean fold accuracy (threshold 0.5), the AUC of the out-of-fold probabilities,
 *    and the AUC of the raw loss as score (lower loss = member), which needs no fitting.
 *
 * Differences from the kit, on purpose: the kit uses StratifiedShuffleSplit (10 random 90/10
 * splits) and always trims the forget side; we use k disjoint folds (every balanced example
 * gets exactly one out-of-fold prediction, which gives per-example values and an AUC) and trim
 * whichever side is larger.
 */
import { Rng } from '../engine/rng.js';
import { UnlearnError } from '../errors.js';
import { fitLogistic, predictLogistic, type LogisticModel } from './logistic.js';
import type { Metric, MetricResult } from './metric.js';
import { auc } from './roc.js';

/** Input of the loss MIA. Neither array is modified. */
export interface LossMiaInput {
  /** Per-example loss on the forget set (claimed members), in nats, shape [nForget]. Finite. */
  forgetLosses: ArrayLike<number>;
  /** Per-example loss on held-out test data (non-members), in nats, shape [nTest]. Finite. */
  testLosses: ArrayLike<number>;
  /** Seed for the balancing subsample and the fold assignment. Default 0. */
  seed?: number;
  /** Number of CV folds; reduced to n per side when that is smaller. Default 5; at least 2. */
  folds?: number;
  /** L2 strength of the attack's logistic regression (see {@link fitLogistic}). Default 1. */
  l2?: number;
}

/** Aggregate results of the loss MIA. Probabilities and AUCs are in [0, 1]. */
export interface LossMiaAggregate {
  /** Mean cross-validated accuracy of the attack (0.5 = chance on the balanced data). */
  accuracy: number;
  /** Standard deviation of the fold accuracies (population). */
  accuracyStd: number;
  /** Accuracy of each fold, shape [folds]. */
  foldAccuracies: number[];
  /** AUC of the out-of-fold member probabilities on the balanced data. */
  auc: number;
  /** AUC of −loss as member score on the balanced data (no classifier involved). */
  lossAuc: number;
  /** Examples per side after balancing: min(nForget, nTest). */
  nPerSide: number;
  /** Forget examples given. */
  nForget: number;
  /** Test examples given. */
  nTest: number;
  /** Folds actually used. */
  folds: number;
  /** Seed used. */
  seed: number;
}

/** Per-example results, aligned with `forgetLosses`. */
export interface LossMiaPerExample extends Record<string, Float64Array | number[]> {
  /**
   * The attack's member probability for each forget example, shape [nForget]. For examples in
   * the balanced sample: the out-of-fold prediction (from the fold model that did not see it).
   * For forget examples left out by balancing: the mean prediction of the k fold models (none
   * saw them, so it is out-of-sample too).
   */
  memberProbability: Float64Array;
  /** 1 where the forget example was in the balanced sample, else 0; shape [nForget]. */
  inBalancedSample: Float64Array;
}

/** Result of {@link lossMembershipInference}. */
export interface LossMiaResult extends MetricResult<LossMiaAggregate> {
  perExample: LossMiaPerExample;
}

function checkLosses(losses: ArrayLike<number>, name: string): void {
  if (losses.length === 0) {
    throw new UnlearnError('INVALID_PARAMS', `loss MIA: ${name} is empty`, 'both the forget and the test set need examples');
  }
  for (let i = 0; i < losses.length; i++) {
    if (!Number.isFinite(losses[i])) {
      throw new UnlearnError(
        'NUMERIC_ERROR',
        `loss MIA: ${name}[${i}] is ${losses[i]}`,
        'losses must be finite; clip probabilities before taking the log',
      );
    }
  }
}

/** Pick `m` of `n` indices uniformly at random (sorted), or all of them when m = n. */
function subsample(rng: Rng, n: number, m: number): Int32Array {
  if (m >= n) return Int32Array.from({ length: n }, (_, i) => i);
  return rng.permutation(n).slice(0, m).sort();
}

/**
 * Run the loss-threshold membership inference attack (NeurIPS 2023 Machine Unlearning challenge
 * starting kit; see the module comment for the procedure).
 *
 * @param input losses in nats on the forget set (members) and the test set (non-members), plus
 *              seed / folds / l2 (see {@link LossMiaInput}).
 * @returns aggregate accuracy and AUCs, and per-forget-example member probabilities. Deterministic
 *          for a given input and seed.
 * @throws UnlearnError INVALID_PARAMS when either side is empty, folds < 2, or fewer than 2
 *         examples per side remain; NUMERIC_ERROR when a loss is NaN or infinite.
 */
export function lossMembershipInference(input: LossMiaInput): LossMiaResult {
  const { forgetLosses, testLosses } = input;
  const seed = input.seed ?? 0;
  const requestedFolds = input.folds ?? 5;
  checkLosses(forgetLosses, 'forgetLosses');
  checkLosses(testLosses, 'testLosses');
  if (!Number.isInteger(requestedFolds) || requestedFolds < 2) {
    throw new UnlearnError('INVALID_PARAMS', `loss MIA: folds must be an integer >= 2, got ${requestedFolds}`);
  }
  const nForget = forgetLosses.length;
  const nTest = testLosses.length;
  const nPerSide = Math.min(nForget, nTest);
  if (nPerSide < 2) {
    throw new UnlearnError(
      'INVALID_PARAMS',
      `loss MIA: need at least 2 examples per side for cross-validation (forget ${nForget}, test ${nTest})`,
    );
  }
  const k = Math.min(requestedFolds, nPerSide);

  // 1. Balance.
  const rng = new Rng(seed);
  const fIdx = subsample(rng, nForget, nPerSide);
  const tIdx = subsample(rng, nTest, nPerSide);

  // 2. Balanced data set: rows 0..n-1 forget (label 1), n..2n-1 test (label 0).
  const total = 2 * nPerSide;
  const loss = new Float64Array(total);
  const label = new Float64Array(total);
  for (let i = 0; i < nPerSide; i++) {
    loss[i] = forgetLosses[fIdx[i]];
    label[i] = 1;
    loss[nPerSide + i] = testLosses[tIdx[i]];
  }

  // 3. Stratified folds: shuffle each class, deal its rows round-robin into k folds.
  const fold = new Int32Array(total);
  const fPerm = rng.permutation(nPerSide);
  const tPerm = rng.permutation(nPerSide);
  for (let r = 0; r < nPerSide; r++) {
    fold[fPerm[r]] = r % k;
    fold[nPerSide + tPerm[r]] = r % k;
  }

  const oof = new Float64Array(total);
  const foldAccuracies: number[] = [];
  const models: LogisticModel[] = [];
  for (let f = 0; f < k; f++) {
    const trainX: number[] = [];
    const trainY: number[] = [];
    const testRows: number[] = [];
    for (let i = 0; i < total; i++) {
      if (fold[i] === f) testRows.push(i);
      else {
        trainX.push(loss[i]);
        trainY.push(label[i]);
      }
    }
    const model = fitLogistic([trainX], trainY, { l2: input.l2 });
    models.push(model);
    const p = predictLogistic(model, [testRows.map((i) => loss[i])]);
    let correct = 0;
    testRows.forEach((row, j) => {
      oof[row] = p[j];
      if ((p[j] > 0.5 ? 1 : 0) === label[row]) correct++;
    });
    foldAccuracies.push(correct / testRows.length);
  }

  const accuracy = foldAccuracies.reduce((a, b) => a + b, 0) / k;
  const accuracyStd = Math.sqrt(foldAccuracies.reduce((a, b) => a + (b - accuracy) ** 2, 0) / k);
  const isMember = Array.from(label, (v) => v === 1);
  const oofAuc = auc(oof, isMember);
  const lossAuc = auc(Array.from(loss, (v) => -v), isMember);

  // 4. Per-example values for every forget example.
  const memberProbability = new Float64Array(nForget);
  const inBalancedSample = new Float64Array(nForget);
  for (let i = 0; i < nPerSide; i++) {
    memberProbability[fIdx[i]] = oof[i];
    inBalancedSample[fIdx[i]] = 1;
  }
  const leftOut: number[] = [];
  for (let i = 0; i < nForget; i++) if (!inBalancedSample[i]) leftOut.push(i);
  if (leftOut.length > 0) {
    const x = [leftOut.map((i) => forgetLosses[i])];
    const sum = new Float64Array(leftOut.length);
    for (const m of models) {
      const p = predictLogistic(m, x);
      for (let j = 0; j < p.length; j++) sum[j] += p[j];
    }
    leftOut.forEach((i, j) => (memberProbability[i] = sum[j] / k));
  }

  return {
    aggregate: {
      accuracy,
      accuracyStd,
      foldAccuracies,
      auc: oofAuc,
      lossAuc,
      nPerSide,
      nForget,
      nTest,
      folds: k,
      seed,
    },
    perExample: { memberProbability, inBalancedSample },
  };
}

/**
 * The loss MIA as a registered {@link Metric} (id 'loss-mia'); `compute` is
 * {@link lossMembershipInference}. Source: NeurIPS 2023 Machine Unlearning challenge starting kit.
 */
export const lossMia: Metric<LossMiaInput, LossMiaAggregate> & { compute(input: LossMiaInput): LossMiaResult } = {
  id: 'loss-mia',
  description:
    'Loss-threshold membership inference (NeurIPS 2023 unlearning challenge kit): balanced forget vs test, ' +
    'cross-validated logistic regression on the per-example loss; accuracy and AUC (ideal ≈ 0.5 / the retrained model).',
  compute: lossMembershipInference,
};
