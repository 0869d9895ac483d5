/**
 * The shape every evaluation metric shares (docs/concepts.md, code layout): an id (a string literal, used as the
 * registry key and in reports), a one-line description, and a pure `compute`.
 */

/**
 * What a metric returns: an aggregate summary and, where the metric has them, per-example values
 * (docs/concepts.md, code layout: metrics keep them). Each per-example array is aligned with the example order of
 * the metric's input; its documentation says which input it follows.
 */
export interface MetricResult<A> {
  /** Summary values (plain JSON-serialisable numbers/arrays). */
  aggregate: A;
  /** Named per-example arrays; NaN marks "no value for this example". */
  perExample?: Record<string, Float64Array | number[]>;
}

/**
 * An evaluation metric.
 * @typeParam I the input the metric reads (host arrays, not tensors, where possible).
 * @typeParam A the aggregate it reports.
 */
export interface Metric<I, A> {
  /** Stable id, e.g. 'loss-mia'. Unique in the registry. */
  id: string;
  /** One line for help texts and reports. */
  description: string;
  /** Compute the metric. Must not mutate `input`; throws UnlearnError on invalid input. */
  compute(input: I): MetricResult<A>;
}
