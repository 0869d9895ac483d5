/**
 * The planner: for every registered model version a deletion request affects (the lineage index,
 * plus every version derived from an affected one), the candidate paths with their estimated
 * cost, and the cheapest that meets the guarantee the policy and the request require.
 *
 * Paths and their cost model (seconds; `T` = recorded wall time of the training run at the root
 * of the version's chain, `n` = examples in the version, `k` = examples to forget):
 * - `certified-newton` (certified models): one Newton step (Guo et al., ICML 2020), offered only
 *   while the removal budget σε/c holds (the last step's bound fits what is left); else the
 *   model is retrained with fresh noise (`certified-retrain`, exact, cost T·(n−k)/n).
 * - `sisa` (SISA ensembles): retrain the affected shards from the checkpoint before the earliest
 *   affected slice (Bourtoule et al., IEEE S&P 2021): T · Σ_shards (R − r₀)/R / S; and, as the
 *   alternative it escalates to, `full-retrain` of the ensemble (every shard from its initial
 *   weights, same partition): T·(n−k)/n.
 * - `approximate` (single networks): fine-tuning on the retain set for 2 epochs plus the audits
 *   the policy requires, against the chain's calibration reference (reference.ts): T · 2/E ·
 *   (n−k)/n plus the reference's cost (recorded, or T·(n−|H|)/n before it is trained) amortised
 *   over {@link REFERENCE_AMORTISE_OVER} verifications.
 * - `full-retrain`: T·(n−k)/n.
 * When earlier runs of the same path on the same model recorded actual times, their mean
 * replaces the formula (estimate vs actual is recorded on every plan), unless the context asks
 * for formula estimates only (`ServiceContext.estimates`).
 */
import type { Executor, RequestRow, VersionRow } from '../store/store.js';
import { newId } from '../store/store.js';
import { idsOfSubjects, splitFor, type ServiceContext } from './context.js';
import { describeGuarantee, guaranteeMeets, ruleFor, type AuditName, type Guarantee, type Purpose } from './evidence/policy.js';
import { REFERENCE_AMORTISE_OVER, holdoutSize, readReference, referenceSeed } from './reference.js';
import type { AnyManifest } from './registry.js';

/** One candidate path for one version. */
export interface Candidate {
  path: 'certified-newton' | 'certified-retrain' | 'sisa' | 'approximate' | 'full-retrain' | 'supersede-only';
  /** Method id passed to the library (`retrain`, `finetune`, `sisa`, `certified`). */
  method: string;
  params?: Record<string, unknown>;
  guarantee: Guarantee;
  estimateSeconds: number;
  meets: boolean;
  chosen: boolean;
  why: string;
  /** Approximate path: the reference its audits compare against, and that reference's cost in the estimate. */
  verification?: { reference: 'calibration'; root: string; holdoutN: number; seed: number; trained: boolean; referenceSeconds: number; amortisedOver: number; shareSeconds: number };
  /** Set when the path failed verification (or every attempt) and the plan escalated past it. */
  failed?: boolean;
}

/** The plan for one model: the version to unlearn, what to remove, the alternatives. */
export interface ModelPlan {
  modelId: string;
  version: VersionRow;
  forgetIds: string[];
  candidates: Candidate[];
  chosen: Candidate;
}

/** Audits the service can measure on a classifier (the others, e.g. verbMem, need a language model). */
export const MEASURABLE_AUDITS: AuditName[] = ['forgetAccuracy', 'miaAuc'];

const STRENGTH = { approximate: 0, certified: 1, exact: 2 } as const;

/** The guarantee required for a request: the policy's minimum for its purpose, raised to the one requested. */
export function requiredGuarantee(ctx: ServiceContext, purpose: Purpose, requested: string | null): Guarantee {
  const min = ruleFor(ctx.policy, purpose).guarantee;
  if (!requested || STRENGTH[requested as keyof typeof STRENGTH] <= STRENGTH[min.kind]) return min;
  if (requested === 'exact') return { kind: 'exact' };
  return { kind: 'certified', epsilon: 1, delta: 1e-5 };
}

/**
 * The requirement a batch must meet: the strongest of its requests' requirements, combined so the
 * result does not depend on their order. Exact over certified over approximate; certified
 * requirements combine to the smallest ε and δ; approximate ones to every audit any of them names,
 * each at its smallest margin (a correction's forget-accuracy audit and a bias request's MIA audit
 * are both measured when the two share a batch).
 */
export function combineRequirements(required: Guarantee[]): Guarantee {
  if (!required.length) throw new Error('combineRequirements: no requirement given');
  if (required.some((g) => g.kind === 'exact')) return { kind: 'exact' };
  const certified = required.filter((g): g is Extract<Guarantee, { kind: 'certified' }> => g.kind === 'certified');
  if (certified.length) return { kind: 'certified', epsilon: Math.min(...certified.map((g) => g.epsilon)), delta: Math.min(...certified.map((g) => g.delta)) };
  const audits: Partial<Record<AuditName, number>> = {};
  for (const g of required as Extract<Guarantee, { kind: 'approximate' }>[]) {
    for (const [name, m] of Object.entries(g.audits) as [AuditName, number][]) audits[name] = Math.min(audits[name] ?? Infinity, m);
  }
  return { kind: 'approximate', audits: Object.fromEntries(Object.keys(audits).sort().map((k) => [k, audits[k as AuditName]])) };
}

/**
 * The path a batch runs, independent of the order of its plans: among the fresh candidates (for
 * the batch's combined requirement, failed paths excluded) those that meet it, preferring the
 * chosen one when a plan carries its method (escalated plans carry their new method), else one a
 * plan carries (strongest guarantee, then cheapest); else the fresh choice; else `fallback`'s
 * choice. Never a path that does not meet the requirement while one that does is on offer.
 */
export function pathForBatch(planMethods: string[], fresh: Candidate[], fallback: Candidate[]): Candidate {
  const methods = new Set(planMethods);
  const meeting = fresh.filter((c) => c.meets && !c.failed);
  const chosen = fresh.find((c) => c.chosen);
  if (chosen && methods.has(chosen.method)) return chosen;
  const carried = nextCandidate(meeting.filter((c) => methods.has(c.method)));
  const cand = carried ?? chosen ?? fallback.find((c) => c.chosen);
  if (!cand) throw new Error('pathForBatch: no candidate path for the batch');
  return cand;
}

const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The root of a version's chain (following registered parents), and its training wall seconds. */
export async function rootOf(ctx: ServiceContext, v: VersionRow, ex: Executor): Promise<{ root: VersionRow; seconds: number }> {
  let cur: VersionRow = v;
  for (let i = 0; i < 1000 && cur.parent; i++) {
    const p: VersionRow | undefined = await ctx.store.version(cur.parent, ex);
    if (!p) break;
    cur = p;
  }
  return { root: cur, seconds: Math.max(cur.wall_seconds || v.wall_seconds, 1e-3) };
}

/** Mean recorded actual seconds of earlier runs of `method` on `modelId`, if any (none when the context asks for formula estimates). */
async function priorActual(ctx: ServiceContext, modelId: string, method: string, ex: Executor): Promise<number | undefined> {
  if (ctx.estimates === 'formula') return undefined;
  const rows = await ex.selectFrom('plans').select('actual_seconds').where('model_id', '=', modelId).where('method', '=', method).where('actual_seconds', 'is not', null).execute();
  const xs = rows.map((r) => r.actual_seconds!).filter((x) => x > 0);
  return xs.length ? meanOf(xs) : undefined;
}

/**
 * Candidate paths for removing `forgetIds` from version `v` under `required`, cheapest meeting
 * the guarantee marked chosen (ties: the stronger guarantee). `exclude` removes paths (after a
 * failed verification, the plan escalates to the next stronger path).
 */
export async function candidatesFor(ctx: ServiceContext, v: VersionRow, forgetIds: string[], required: Guarantee, ex: Executor, exclude: string[] = []): Promise<Candidate[]> {
  const m = JSON.parse(v.manifest) as AnyManifest & Record<string, any>;
  const { root, seconds: T } = await rootOf(ctx, v, ex);
  const n = Math.max(1, v.num_examples);
  const keep = (n - forgetIds.length) / n;
  const out: Omit<Candidate, 'meets' | 'chosen'>[] = [];
  const est = async (method: string, formula: number) => (await priorActual(ctx, v.model_id, method, ex)) ?? formula;
  if (forgetIds.length === 0) {
    out.push({ path: 'supersede-only', method: 'none', guarantee: { kind: 'exact' }, estimateSeconds: 0, why: 'the version holds no example of the request (a derived version): it is retrained from its unlearned ancestor by the full-retrain path of that ancestor' });
  } else if (v.format === 'unlearn-certified/1') {
    const p = m.model?.params ?? {};
    const budget = m.certificate?.budget as { left: number; total: number } | undefined;
    const lastBound = Number(m.certificate?.residualBound ?? 0);
    const holds = budget !== undefined && budget.left > 0 && lastBound <= budget.left && p.sigma > 0;
    if (holds) {
      out.push({ path: 'certified-newton', method: 'certified', guarantee: { kind: 'certified', epsilon: p.epsilon, delta: p.delta }, estimateSeconds: await est('certified', 0.05 * T), why: `budget left ${budget!.left.toPrecision(3)} of ${budget!.total.toPrecision(3)}; the step falls back to a retrain if its bound exceeds it` });
    }
    out.push({ path: 'certified-retrain', method: 'certified-retrain', guarantee: { kind: 'exact' }, estimateSeconds: await est('certified-retrain', T * keep), why: holds ? 'retrain with fresh noise' : 'the removal budget does not hold: retrain with fresh noise' });
  } else if (v.format === 'unlearn-sisa/1') {
    const S = m.sisa.shards as number;
    const R = m.sisa.slices as number;
    const where = new Map<string, [number, number]>();
    (m.assignment.shards as { slices: string[][] }[]).forEach((s, k) => s.slices.forEach((ids, r) => ids.forEach((id) => where.set(id, [k, r]))));
    const earliest = new Map<number, number>();
    for (const id of forgetIds) {
      const w = where.get(id);
      if (w) earliest.set(w[0], Math.min(earliest.get(w[0]) ?? R, w[1]));
    }
    const work = [...earliest.values()].reduce((a, r0) => a + (R - r0) / R, 0) / S;
    out.push({ path: 'sisa', method: 'sisa', guarantee: { kind: 'exact' }, estimateSeconds: await est('sisa', T * work), why: `${earliest.size} of ${S} shards affected` });
    out.push({ path: 'full-retrain', method: 'sisa-retrain', params: { fullRetrain: true }, guarantee: { kind: 'exact' }, estimateSeconds: await est('sisa-retrain', T * keep), why: `retrain all ${S} shards from their initial weights on the retain set (the path the shard retrain escalates to)` });
  } else {
    const epochs = Number(m.recipe?.epochs ?? 10);
    if (required.kind === 'approximate') {
      const measurable = Object.fromEntries(Object.entries(required.audits).filter(([a]) => MEASURABLE_AUDITS.includes(a as AuditName)));
      const h = holdoutSize(root.num_examples);
      const ref = readReference(ctx.dataRoot, v.model_id, root.id);
      const uses = ref ? await referenceUses(ctx, v.model_id, ex) : 0;
      const formulaRef = (T * (root.num_examples - h)) / Math.max(1, root.num_examples);
      const refSeconds = ctx.estimates === 'formula' ? formulaRef : (ref?.seconds ?? formulaRef);
      const over = Math.max(REFERENCE_AMORTISE_OVER, uses + 1);
      const verification = { reference: 'calibration' as const, root: root.id, holdoutN: h, seed: referenceSeed(root.id), trained: ref !== undefined, referenceSeconds: refSeconds, amortisedOver: over, shareSeconds: refSeconds / over };
      out.push({
        path: 'approximate',
        method: 'finetune',
        params: { epochs: 2 },
        guarantee: { kind: 'approximate', audits: measurable },
        estimateSeconds: (await est('finetune', (T * 2 * keep) / epochs)) + verification.shareSeconds,
        verification,
        why: `fine-tune 2 of ${epochs} epochs on the retain set, then audit ${Object.keys(measurable).join(', ') || 'nothing measurable'} against the calibration reference (the recipe retrained without a held-out set of ${h}; ${ref ? `trained, ${ref.seconds.toFixed(1)} s` : 'trained on first need'}; its cost amortised over ${over} verifications)`,
      });
    }
    out.push({ path: 'full-retrain', method: 'retrain', guarantee: { kind: 'exact' }, estimateSeconds: await est('retrain', T * keep), why: 'retrain from scratch on the retain set' });
  }
  const cands: Candidate[] = out.filter((c) => !exclude.includes(c.path)).map((c) => ({ ...c, meets: guaranteeMeets(required, c.guarantee), chosen: false }) as Candidate);
  const best = cands.filter((c) => c.meets).sort((a, b) => a.estimateSeconds - b.estimateSeconds || STRENGTH[b.guarantee.kind] - STRENGTH[a.guarantee.kind])[0];
  if (best) best.chosen = true;
  for (const c of cands) if (!c.meets) c.why += `; does not meet ${required.kind}`;
  return cands;
}

/** How many approximate-path runs on `modelId` recorded an actual time (the verifications a reference served). */
async function referenceUses(ctx: ServiceContext, modelId: string, ex: Executor): Promise<number> {
  const rows = await ex.selectFrom('plans').select('job_id').where('model_id', '=', modelId).where('method', '=', 'finetune').where('actual_seconds', 'is not', null).execute();
  return new Set(rows.map((r) => r.job_id)).size;
}

/**
 * The path a plan escalates to after `alts` (with failed ones marked): among those that meet the
 * guarantee and did not fail, the strongest guarantee, then the cheapest estimate; undefined
 * when none is left (the request is refused).
 */
export function nextCandidate(alts: Candidate[]): Candidate | undefined {
  return alts.filter((c) => c.meets && !c.failed).sort((a, b) => STRENGTH[b.guarantee.kind] - STRENGTH[a.guarantee.kind] || a.estimateSeconds - b.estimateSeconds)[0];
}

/**
 * Plan a request: the affected versions per model (lineage index plus descendants, restricted to
 * the request's models), the forget ids in each, the candidates. Models none of whose versions
 * hold the request's data do not appear.
 */
export async function planRequest(ctx: ServiceContext, r: RequestRow, ex: Executor): Promise<{ required: Guarantee; plans: ModelPlan[]; checked: { models: number; lineage: { model: string; version: string; trainIdsSha256: string }[] } }> {
  const required = requiredGuarantee(ctx, r.purpose as Purpose, r.requested_guarantee);
  const onlyModels = r.models ? new Set(JSON.parse(r.models) as string[]) : undefined;
  const all = await ex.selectFrom('model_versions').selectAll().where('superseded_by', 'is', null).orderBy('created_at').orderBy('id').execute();
  const exampleIds = r.example_ids ? new Set(JSON.parse(r.example_ids) as string[]) : undefined;
  const direct = new Set<string>();
  if (r.subject) for (const v of await ctx.store.versionsWithSubject(r.subject, ex)) direct.add(v.id);
  else for (const v of all) if ((JSON.parse(v.manifest) as AnyManifest).lineage.trainIds.some((id) => exampleIds!.has(id))) direct.add(v.id);
  // Descendants of an affected version are affected too (derived from weights that saw the data).
  const affected = new Set(direct);
  for (let grew = true; grew; ) {
    grew = false;
    for (const v of all) if (v.parent && affected.has(v.parent) && !affected.has(v.id)) affected.add(v.id), (grew = true);
  }
  const byModel = new Map<string, VersionRow[]>();
  for (const v of all) if (affected.has(v.id) && (!onlyModels || onlyModels.has(v.model_id))) byModel.set(v.model_id, [...(byModel.get(v.model_id) ?? []), v]);
  const plans: ModelPlan[] = [];
  for (const [modelId, versions] of [...byModel].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const model = (await ctx.store.model(modelId, ex))!;
    // Unlearn the current version when it is affected; older affected versions are superseded with it.
    const target = versions.find((v) => v.id === model.current_version) ?? versions[versions.length - 1];
    const forgetIds = await forgetIdsOf(ctx, r, target);
    const candidates = await candidatesFor(ctx, target, forgetIds, required, ex);
    plans.push({ modelId, version: target, forgetIds, candidates, chosen: candidates.find((c) => c.chosen)! });
  }
  return { required, plans, checked: { models: new Set(all.map((v) => v.model_id)).size, lineage: all.map((v) => ({ model: v.model_id, version: v.id, trainIdsSha256: (JSON.parse(v.manifest) as AnyManifest).lineage.trainIdsSha256 })) } };
}

/** The example ids of a request in a version's lineage. */
export async function forgetIdsOf(ctx: ServiceContext, r: Pick<RequestRow, 'subject' | 'example_ids'>, v: VersionRow): Promise<string[]> {
  const m = JSON.parse(v.manifest) as AnyManifest;
  if (r.example_ids) {
    const want = new Set(JSON.parse(r.example_ids) as string[]);
    return m.lineage.trainIds.filter((id) => want.has(id));
  }
  return idsOfSubjects(ctx, await splitFor(ctx, m.dataset), m.lineage.trainIds, new Set([r.subject!]));
}

/** The plan rows and the proposed terms of a planned request. */
export function termsOf(ctx: ServiceContext, r: RequestRow, required: Guarantee, plans: ModelPlan[], now: number): { rows: Parameters<ServiceContext['store']['insertPlans']>[0]; terms: Record<string, unknown> } {
  const rule = ruleFor(ctx.policy, r.purpose as Purpose);
  const rows = plans.map((p) => ({
    id: newId('pl'),
    request_id: r.id,
    model_id: p.modelId,
    version_id: p.version.id,
    guarantee: p.chosen.guarantee.kind,
    method: p.chosen.method,
    alternatives: JSON.stringify(p.candidates),
    estimate_seconds: p.chosen.estimateSeconds,
    actual_seconds: null,
    status: 'pending',
    job_id: null,
    output_version: null,
    created_at: now,
  }));
  const compute = plans.reduce((a, p) => a + p.chosen.estimateSeconds, 0);
  const completion = now + rule.batching.windowHours * 3_600_000 + compute * 1000;
  return {
    rows,
    terms: {
      guarantee: required,
      inWords: describeGuarantee(required),
      autoAccept: rule.autoAccept,
      estimatedCompletion: new Date(completion).toISOString(),
      withinDeadline: completion <= r.deadline_at,
      models: plans.map((p) => ({ model: p.modelId, version: p.version.id, examples: p.forgetIds.length, path: p.chosen.path, method: p.chosen.method, guarantee: p.chosen.guarantee, inWords: describeGuarantee(p.chosen.guarantee), estimateSeconds: p.chosen.estimateSeconds })),
    },
  };
}
