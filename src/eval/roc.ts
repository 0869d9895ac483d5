/**
 * ROC analysis for membership-inference attacks: the ROC curve, its area (AUC) and the true
 * positive rate at a fixed low false positive rate (TPR@FPR).
 *
 * Conventions shared by every function here:
 * - `scores[i]` is the attack's score for example i; a HIGHER score means "more likely a member".
 *   (For a loss attack pass `-loss`: a lower loss means member.) Any unit; only the order matters.
 * - `isMember[i]` is the ground truth: `true`/`1` for a member (positive), `false`/`0` for a
 *   non-member (negative). Same length as `scores`.
 * - Both classes must be present; scores must not be NaN (±Infinity is allowed: it only orders).
 *
 * Sources: the area is the Mann–Whitney U statistic; TPR at low FPR is the figure of merit
 * argued for by Carlini et al., "Membership Inference Attacks From First Principles" (S&P 2022).
 */
import { UnlearnError } from '../errors.js';

/** Ground-truth membership labels: booleans, or numbers 1 (member) / 0 (non-member). */
export type MembershipLabels = ArrayLike<boolean> | ArrayLike<number>;

/**
 * An ROC curve as parallel arrays, one entry per distinct decision threshold, in order of
 * decreasing threshold (so `fpr` and `tpr` are non-decreasing).
 * Point k is the rule "predict member iff score >= thresholds[k]". Point 0 is always
 * (fpr 0, tpr 0) with threshold +Infinity; the last point is always (1, 1) at the minimum score.
 * Tied scores form a single point (a threshold cannot split a tie), so ties give one diagonal
 * step rather than an optimistic or pessimistic staircase.
 */
export interface RocCurve {
  /** False positive rate at each threshold, in [0, 1]. */
  fpr: Float64Array;
  /** True positive rate at each threshold, in [0, 1]. */
  tpr: Float64Array;
  /** The thresholds (score units), decreasing; thresholds[0] = +Infinity. */
  thresholds: Float64Array;
  /** Number of members (positives). */
  nPositive: number;
  /** Number of non-members (negatives). */
  nNegative: number;
}

/**
 * Validate inputs and convert labels to a 0/1 array.
 * @throws UnlearnError INVALID_PARAMS on length mismatch, bad labels, or a missing class;
 *         NUMERIC_ERROR when a score is NaN.
 */
function prepare(
  scores: ArrayLike<number>,
  isMember: MembershipLabels,
): { pos: Uint8Array; nPos: number; nNeg: number } {
  const n = scores.length;
  if (isMember.length !== n) {
    throw new UnlearnError(
      'INVALID_PARAMS',
      `scores and isMember differ in length (${n} vs ${isMember.length})`,
    );
  }
  const pos = new Uint8Array(n);
  let nPos = 0;
  for (let i = 0; i < n; i++) {
    const s = scores[i];
    if (Number.isNaN(s)) {
      throw new UnlearnError('NUMERIC_ERROR', `score ${i} is NaN`, 'check the attack scores for NaN');
    }
    const m = isMember[i];
    if (m === true || m === 1) {
      pos[i] = 1;
      nPos++;
    } else if (!(m === false || m === 0)) {
      throw new UnlearnError('INVALID_PARAMS', `isMember[${i}] is ${String(m)}; expected true/false or 1/0`);
    }
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) {
    throw new UnlearnError(
      'INVALID_PARAMS',
      `ROC analysis needs both members and non-members (got ${nPos} members, ${nNeg} non-members)`,
    );
  }
  return { pos, nPos, nNeg };
}

/**
 * The ROC curve of a membership score.
 *
 * @param scores   attack scores, shape [n]; higher = more member-like. Not NaN.
 * @param isMember ground truth, shape [n]; true/1 = member.
 * @returns the curve, one point per distinct score plus the origin (see {@link RocCurve}).
 * @throws UnlearnError INVALID_PARAMS (length mismatch, labels not 0/1, a class missing),
 *         NUMERIC_ERROR (a NaN score).
 */
export function rocCurve(scores: ArrayLike<number>, isMember: MembershipLabels): RocCurve {
  const { pos, nPos, nNeg } = prepare(scores, isMember);
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  const fpr: number[] = [0];
  const tpr: number[] = [0];
  const thresholds: number[] = [Infinity];
  let tp = 0;
  let fp = 0;
  let k = 0;
  while (k < n) {
    const s = scores[order[k]];
    // Take the whole group of tied scores at once.
    while (k < n && scores[order[k]] === s) {
      if (pos[order[k]]) tp++;
      else fp++;
      k++;
    }
    fpr.push(fp / nNeg);
    tpr.push(tp / nPos);
    thresholds.push(s);
  }
  return {
    fpr: Float64Array.from(fpr),
    tpr: Float64Array.from(tpr),
    thresholds: Float64Array.from(thresholds),
    nPositive: nPos,
    nNegative: nNeg,
  };
}

/**
 * Area under the ROC curve, computed as the Mann–Whitney statistic:
 * AUC = P(score of a random member > score of a random non-member) + ½·P(tie).
 * Equal to the trapezoidal area under {@link rocCurve}. 0.5 = chance, 1 = perfect separation,
 * < 0.5 = the score points the wrong way.
 *
 * @param scores   attack scores, shape [n]; higher = more member-like. Not NaN.
 * @param isMember ground truth, shape [n]; true/1 = member.
 * @returns AUC in [0, 1].
 * @throws UnlearnError INVALID_PARAMS / NUMERIC_ERROR as {@link rocCurve}.
 */
export function auc(scores: ArrayLike<number>, isMember: MembershipLabels): number {
  const { pos, nPos, nNeg } = prepare(scores, isMember);
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  // Sum of (1-based, mid-ranked) ranks of the members.
  let rankSumPos = 0;
  let k = 0;
  while (k < n) {
    let j = k;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[k]]) j++;
    const midRank = (k + j) / 2 + 1; // ranks k+1..j+1 share their mean
    for (let t = k; t <= j; t++) if (pos[order[t]]) rankSumPos += midRank;
    k = j + 1;
  }
  const u = rankSumPos - (nPos * (nPos + 1)) / 2;
  return u / (nPos * nNeg);
}

/**
 * True positive rate at a fixed false positive rate: the best TPR over all thresholds whose FPR
 * is at most `targetFpr` (no interpolation between thresholds). This is the low-FPR figure of
 * merit of Carlini et al. (S&P 2022), reported at 0.1% and 1% FPR. Their reference code takes
 * FPR strictly below the target; we take FPR ≤ target, which differs only when
 * targetFpr × nNegative is a whole number. Note that with nNegative < 1/targetFpr the only
 * admissible FPR is 0, so the value measures what the attack finds with no false positive at all.
 *
 * @param scores    attack scores, shape [n]; higher = more member-like. Not NaN.
 * @param isMember  ground truth, shape [n]; true/1 = member.
 * @param targetFpr the FPR budget in [0, 1], e.g. 0.001 or 0.01.
 * @returns TPR in [0, 1] (0 when no threshold above the top score meets the budget).
 * @throws UnlearnError INVALID_PARAMS when targetFpr is outside [0, 1], and as {@link rocCurve}.
 */
export function tprAtFpr(scores: ArrayLike<number>, isMember: MembershipLabels, targetFpr: number): number {
  if (!(targetFpr >= 0 && targetFpr <= 1)) {
    throw new UnlearnError('INVALID_PARAMS', `targetFpr must be in [0, 1], got ${targetFpr}`);
  }
  const roc = rocCurve(scores, isMember);
  // Compare in counts to avoid 0.1*30 = 3.0000000000000004 style surprises.
  const maxFp = targetFpr * roc.nNegative * (1 + 1e-12);
  let best = 0;
  for (let i = 0; i < roc.fpr.length; i++) {
    if (roc.fpr[i] * roc.nNegative <= maxFp && roc.tpr[i] > best) best = roc.tpr[i];
  }
  return best;
}
