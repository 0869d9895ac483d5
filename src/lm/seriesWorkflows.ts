/**
 * Workflows of the series audits (the `unlearn lm sustain` and `unlearn lm scale` commands):
 * forget several sources one after another (sustainability) or forget sets of growing size in one
 * request each (scale) from an original model with one method, auditing after every step, with
 * PrivLeak against the retrained model of each step when given.
 */
import { UnlearnError } from '../errors.js';
import { auditLm, withPrivLeak, type AuditOptions, type LmAudit } from './audit/index.js';
import type { KnowledgeProbe } from './audit/knowledge.js';
import { scaleAudit } from './audit/scale.js';
import { sequentialAudit } from './audit/sustainability.js';
import type { LmCorpus } from './data.js';
import type { LmManifest } from './io.js';
import { disposeModel, type LanguageModel } from './model.js';
import type { LmSeriesRow } from './reportSeries.js';
import { defaultProbes, lmForget } from './workflows.js';

/** A retrained model for one step: its model, manifest (checked) and wall time. */
export interface SeriesReference {
  model: LanguageModel;
  manifest: LmManifest;
}

const key = (s: string[]) => [...s].sort().join('\n');

/** The reference for `set` among `refs`, checked to be `retrain` without exactly `set`. @throws UnlearnError INVALID_ARGS. */
function referenceFor(refs: SeriesReference[] | undefined, set: string[]): SeriesReference | undefined {
  if (!refs?.length) return undefined;
  const r = refs.find((x) => x.manifest.method.id === 'retrain' && key(x.manifest.removed?.sources ?? []) === key(set));
  if (!r) throw new UnlearnError('INVALID_ARGS', `no --reference is a retrained model without exactly [${set.join(', ')}]`, 'pass one `unlearn lm forget --method retrain` output per step, or none');
  return r;
}

interface SeriesInput {
  model: LanguageModel;
  manifest: LmManifest;
  corpus: LmCorpus;
  sources: string[];
  method: string;
  params?: Record<string, unknown>;
  options?: Partial<AuditOptions>;
  probes?: KnowledgeProbe[];
  references?: SeriesReference[];
}

/** Audit of `m` for `set`, with PrivLeak and the reference's own row when a reference is given. */
function audited(i: SeriesInput, m: LanguageModel, set: string[]): { audit: LmAudit; reference?: { audit: LmAudit; seconds: number } } {
  const probes = i.probes ?? defaultProbes();
  const ref = referenceFor(i.references, set);
  const ra = ref ? auditLm(ref.model, i.corpus, set, probes, i.options) : undefined;
  const audit = auditLm(m, i.corpus, set, probes, i.options, ra?.forget.mia.byStat);
  return { audit, reference: ra && ref ? { audit: withPrivLeak(ra, ra.forget.mia.byStat), seconds: ref.manifest.timings.wallSeconds } : undefined };
}

/** Rows of one step: the reference's (if any), then the method's. */
function stepRows(step: number, request: string, method: string, x: ReturnType<typeof audited>, seconds: number): LmSeriesRow[] {
  const rs = x.reference?.seconds;
  return [
    ...(x.reference ? [{ step, request, model: 'retrain', audit: x.reference.audit, seconds: x.reference.seconds, costVsRetrain: 1 }] : []),
    { step, request, model: method, audit: x.audit, seconds, costVsRetrain: rs ? seconds / rs : undefined },
  ];
}

/** Sustainability: forget `sources` one after another with `method`; one row per step (plus the references'). */
export async function lmSustainWorkflow(i: SeriesInput): Promise<LmSeriesRow[]> {
  let manifest: Omit<LmManifest, 'files' | 'modelHash'> = i.manifest;
  const refs: ReturnType<typeof audited>[] = [];
  const steps = await sequentialAudit({
    model: i.model,
    sources: i.sources,
    forget: async (model, source) => {
      const r = await lmForget({ model, manifest, corpus: i.corpus, source, method: i.method, params: i.params });
      manifest = r.manifest;
      return r;
    },
    audit: (m, removed) => {
      const x = audited(i, m, removed);
      refs.push(x);
      return x.audit;
    },
    dispose: disposeModel,
  });
  return steps.flatMap((s, k) => stepRows(s.step, `forgot ${s.source}${k ? ` (removed so far: ${s.removed.length})` : ''}`, i.method, refs[k], s.seconds));
}

/** Scale: forget each of `sets` in one request from the original with `method`; one row per set (plus the references'). */
export async function lmScaleWorkflow(i: Omit<SeriesInput, 'sources'> & { sets: string[][] }): Promise<LmSeriesRow[]> {
  const refs: ReturnType<typeof audited>[] = [];
  const rows = await scaleAudit({
    sets: i.sets,
    forget: (sources) => lmForget({ model: i.model, manifest: i.manifest, corpus: i.corpus, source: sources, method: i.method, params: i.params }),
    audit: (m, set) => {
      const x = audited({ ...i, sources: set }, m, set);
      refs.push(x);
      return x.audit;
    },
    dispose: disposeModel,
  });
  return rows.flatMap((r, k) => stepRows(k + 1, `${r.sources.length} source${r.sources.length > 1 ? 's' : ''}: ${r.sources.join(', ')}`, i.method, refs[k], r.seconds));
}
