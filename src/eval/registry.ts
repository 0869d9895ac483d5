/**
 * The metric registry: maps metric ids (string literals) to {@link Metric} objects.
 * Built-in metrics are registered when this module is first imported.
 */
import { UnlearnError } from '../errors.js';
import { challengeScoreMetric } from './challengeScore.js';
import { liraMetric } from './lira.js';
import { lossMia } from './lossMia.js';
import { uliraMetric } from './ulira.js';
import type { Metric } from './metric.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyMetric = Metric<any, any>;

const metrics = new Map<string, AnyMetric>();

/**
 * Register a metric under its `id`.
 * @throws UnlearnError INVALID_PARAMS when the id is empty or already registered.
 */
export function registerMetric(metric: AnyMetric): void {
  if (typeof metric.id !== 'string' || metric.id === '') {
    throw new UnlearnError('INVALID_PARAMS', 'a metric needs a non-empty string id');
  }
  if (metrics.has(metric.id)) {
    throw new UnlearnError('INVALID_PARAMS', `metric '${metric.id}' is already registered`);
  }
  metrics.set(metric.id, metric);
}

/**
 * Look a metric up by id. The type parameters are the caller's assertion of its input/aggregate.
 * @throws UnlearnError INVALID_PARAMS for an unknown id; the message lists the known ids.
 */
export function getMetric<I = unknown, A = unknown>(id: string): Metric<I, A> {
  const m = metrics.get(id);
  if (!m) {
    throw new UnlearnError(
      'INVALID_PARAMS',
      `unknown metric '${id}'; known metrics: ${listMetrics().join(', ') || '(none)'}`,
      'use one of the known metric ids',
    );
  }
  return m as Metric<I, A>;
}

/** Ids of all registered metrics, sorted. */
export function listMetrics(): string[] {
  return [...metrics.keys()].sort();
}

registerMetric(lossMia);
registerMetric(challengeScoreMetric);
registerMetric(liraMetric);
registerMetric(uliraMetric);
