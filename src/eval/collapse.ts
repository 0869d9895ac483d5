/**
 * Retain-accuracy collapse: an unlearning run that removes the forget set by wrecking the model
 * (RA falling far below the original's on the same retain set) is flagged with a warning.
 */
const pct = (x: number) => (100 * x).toFixed(2);

/** RA may fall by at most this much (accuracy units, i.e. 10 percentage points) below the original's before a warning. */
export const RA_COLLAPSE_DROP = 0.1;

/**
 * A one-line warning when `ra` (retain accuracy after unlearning, in [0, 1]) is more than
 * {@link RA_COLLAPSE_DROP} below `originalRa` (the original model's on the same retain set); else undefined.
 */
export function raCollapseWarning(method: string, ra: number, originalRa: number): string | undefined {
  if (!(originalRa - ra > RA_COLLAPSE_DROP)) return undefined;
  return `warning: ${method} collapsed the retain accuracy (RA ${pct(ra)}% against the original's ${pct(originalRa)}%): the model lost more than the forget set; try gentler params (fewer epochs, a lower learning rate) or retrain`;
}
