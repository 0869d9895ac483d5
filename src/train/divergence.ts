/**
 * Divergence detection for every training loop: a loss that is ∞/NaN, or that climbs above
 * {@link DIVERGENCE_FACTOR} × the starting loss, means the run wrecked the model (typically a far
 * too large learning rate: 1e6 gives epoch losses of 1e12 with a finite, useless model). The run
 * stops with NUMERIC_ERROR instead of saving such a model as a success.
 */
import { UnlearnError } from '../errors.js';

/** A loss this many times the starting loss (see {@link checkDivergence}) counts as divergence. */
export const DIVERGENCE_FACTOR = 10;

const fmt = (x: number) => (Number.isFinite(x) ? (Math.abs(x) >= 1e4 ? x.toExponential(2) : x.toFixed(3)) : String(x));

/**
 * @param loss the loss to check (nats; an epoch mean or one step's loss).
 * @param reference the starting loss (nats), e.g. max(first step's loss, ln(classes)): the loss of an
 *   uninformed model, so that fine-tuning a well-trained model (starting loss ≈ 0) is not flagged.
 * @param where e.g. `at epoch 2`.
 * @param fix the hint naming the option to change.
 * @throws UnlearnError NUMERIC_ERROR when `loss` is not finite or exceeds DIVERGENCE_FACTOR × reference.
 */
export function checkDivergence(loss: number, reference: number, where: string, fix: string): void {
  if (!Number.isFinite(loss)) throw new UnlearnError('NUMERIC_ERROR', `loss became ${loss} ${where}`.trim(), fix);
  if (loss > DIVERGENCE_FACTOR * reference) {
    throw new UnlearnError('NUMERIC_ERROR', `training diverged ${where}: loss ${fmt(loss)} nats is over ${DIVERGENCE_FACTOR}× the starting loss ${fmt(reference)}`, fix);
  }
}
