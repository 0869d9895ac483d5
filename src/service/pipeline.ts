/**
 * The service's background work, as job handlers and a scheduler tick:
 * - `plan` jobs (one per received request, queued in the intake transaction): plan, propose
 *   terms, auto-accept where the policy allows; no data anywhere → completed with a certificate
 *   carrying the lineage evidence.
 * - the batching tick: per model, accepted plans wait until the policy's window has passed or
 *   enough wait, then become one `unlearn` job.
 * - `unlearn` jobs: run the library on the model's current version, verify, publish the new
 *   version, supersede the old ones, complete the requests with certificates — all of the
 *   publication in one transaction; a re-run after a crash reuses the content-addressed output.
 * - weight deletion of superseded versions after the policy's grace period (logged).
 */
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { WorkerPool } from '../engine/workerPool.js';
import { hashIds } from '../data/dataset.js';
import { ensureDir, writeFileSynced } from '../models/io.js';
import type { Job, JobQueue } from '../jobs/queue.js';
import type { JobContext } from '../jobs/runner.js';
import type { Executor, PlanRow, RequestRow, VersionRow } from '../store/store.js';
import { completeWithCertificate, flattenFigures, type ModelClaim } from './certify.js';
import { splitFor, type ServiceContext } from './context.js';
import { checkAudits, describeGuarantee, ruleFor, type AuditFigure, type AuditName, type Guarantee, type Purpose } from './evidence/policy.js';
import { transition, type Status } from './lifecycle.js';
import { candidatesFor, combineRequirements, forgetIdsOf, nextCandidate, pathForBatch, planRequest, requiredGuarantee, rootOf, termsOf, type Candidate } from './planner.js';
import { chooseHoldout, classCounts, describeReference, holdoutSize, readReference, referenceAccuracyFor, referencePath, referenceSeed, type ReferenceFigures } from './reference.js';
import { lineageIndex, versionRow, publishVersion, type AnyManifest } from './registry.js';
import type { UnlearnTaskArgs, UnlearnTaskResult } from './unlearnTask.js';

/** How an unlearning step is run: on a worker pool, or in this thread. */
export type TaskRunner = (args: UnlearnTaskArgs) => Promise<UnlearnTaskResult>;

/** A task runner over the engine's worker pool. */
export function poolTaskRunner(pool: WorkerPool): TaskRunner {
  return (args) => pool.run<UnlearnTaskResult>(import.meta.resolve('./unlearnTask.ts'), 'runUnlearn', args);
}

/** The statuses whose accepted terms wait for a batch. */
const WAITING: Status[] = ['accepted', 'auto-accepted', 'extended', 'failed', 'escalated'];
/**
 * Statuses whose pending plans the batcher takes: the waiting ones, and requests already in a
 * job of another model (scheduled, running or verifying: one model's batch can come due before
 * another's, and the request's other plans must still be batched).
 */
const BATCHABLE: Status[] = [...WAITING, 'scheduled', 'running', 'verifying'];

// ---------------------------------------------------------------- planning

/** `plan` job: plan a request (or re-plan it after a model registration added a version). */
export async function handlePlan(ctx: ServiceContext, job: Job, probe?: (point: string) => void): Promise<void> {
  const { requestId } = job.payload as { requestId: string };
  await ctx.store.tx(async (t) => {
    const r = (await ctx.store.request(requestId, t))!;
    const plan = await planRequest(ctx, r, t);
    // The crash harness kills the process here: inside the planning transaction, before its commit.
    probe?.('planning');
    const now = ctx.now();
    if (r.status !== 'received') {
      // Re-plan: add plans for models the request does not cover yet.
      const have = new Set((await ctx.store.plansOf(r.id, t)).filter((p) => p.status !== 'done').map((p) => p.version_id));
      const fresh = plan.plans.filter((p) => !have.has(p.version.id));
      if (!fresh.length || ['completed', 'rejected', 'refused'].includes(r.status)) return;
      const { rows } = termsOf(ctx, r, plan.required, fresh, now);
      await ctx.store.insertPlans(rows, t);
      await ctx.ledger.append(t, { type: 'plan.added', requestId: r.id, data: { models: fresh.map((p) => p.modelId), versions: fresh.map((p) => p.version.id), reason: 'a version holding the request\'s data was registered after planning' } }, now);
      return;
    }
    if (!plan.plans.length) {
      await completeWithCertificate(ctx, t, r, [], { outcome: 'no-data', evidence: { modelsChecked: plan.checked.models, versionsChecked: plan.checked.lineage, note: 'no registered model version lists this subject or these ids in its training lineage' } });
      return;
    }
    const { rows, terms } = termsOf(ctx, r, plan.required, plan.plans, now);
    await ctx.store.insertPlans(rows, t);
    const planned = await transition(t, ctx.ledger, r, 'planned', { actor: 'service', patch: { terms: JSON.stringify(terms) }, facts: { models: plan.plans.map((p) => ({ model: p.modelId, version: p.version.id, method: p.chosen.method, estimateSeconds: p.chosen.estimateSeconds })) }, now });
    if (ruleFor(ctx.policy, r.purpose as Purpose).autoAccept) {
      await transition(t, ctx.ledger, planned.row, 'auto-accepted', { actor: 'service', reason: 'the policy accepts these terms for this purpose', patch: { terms: JSON.stringify({ ...terms, acceptedAt: new Date(now).toISOString(), acceptedBy: 'policy' }) }, now });
    }
  });
}

// ---------------------------------------------------------------- batching

/**
 * One batching tick: for each model with waiting plans, when the oldest has waited the shortest
 * window of its requests' purposes, or as many wait as the smallest `maxWaiting`, queue one
 * `unlearn` job with all of them and mark their requests scheduled. Returns the jobs queued.
 */
export async function scheduleBatches(ctx: ServiceContext, queue: JobQueue): Promise<string[]> {
  const pending = await ctx.store.plansInStatus('pending');
  if (!pending.length) return [];
  const requests = new Map<string, RequestRow>();
  for (const r of await ctx.store.requestsInStatus(BATCHABLE)) requests.set(r.id, r);
  const byModel = new Map<string, PlanRow[]>();
  for (const p of pending) {
    const r = requests.get(p.request_id);
    if (!r || !(JSON.parse(r.terms ?? '{}') as { acceptedAt?: string }).acceptedAt) continue;
    byModel.set(p.model_id, [...(byModel.get(p.model_id) ?? []), p]);
  }
  const now = ctx.now();
  const jobs: string[] = [];
  // One unlearning job per model at a time: a second job started from the same current version
  // would publish a version that still holds the first job's data.
  const busy = new Set((await ctx.store.plansInStatus('scheduled')).map((p) => p.model_id));
  for (const [modelId, plans] of byModel) {
    if (busy.has(modelId)) continue;
    const rules = plans.map((p) => ruleFor(ctx.policy, requests.get(p.request_id)!.purpose as Purpose));
    const window = Math.min(...rules.map((r) => r.batching.windowHours)) * 3_600_000;
    const enough = plans.length >= Math.min(...rules.map((r) => r.batching.maxWaiting));
    const oldest = Math.min(...plans.map((p) => requests.get(p.request_id)!.updated_at));
    const urgent = plans.some((p) => requests.get(p.request_id)!.deadline_at - now < 2 * 86_400_000);
    if (!(enough || urgent || now - oldest >= window)) continue;
    const id = await ctx.store.tx(async (t) => {
      const jobId = await queue.enqueue({ kind: 'unlearn', dedupeKey: `unlearn:${plans.map((p) => `${p.id}/${p.method}`).sort().join(',')}`, payload: { modelId, planIds: plans.map((p) => p.id) }, maxAttempts: 10 }, t);
      await ctx.store.updatePlans(plans.map((p) => p.id), { status: 'scheduled', job_id: jobId }, t);
      for (const rid of new Set(plans.map((p) => p.request_id))) {
        const r = (await ctx.store.request(rid, t))!;
        // A request already in another model's job keeps its status; that job or this one moves it on.
        if (WAITING.includes(r.status as Status)) await transition(t, ctx.ledger, r, 'scheduled', { actor: 'service', facts: { job: jobId, model: modelId, batch: plans.length }, now });
      }
      await ctx.ledger.append(t, { type: 'job.queued', data: { job: jobId, model: modelId, plans: plans.length, requests: new Set(plans.map((p) => p.request_id)).size } }, now);
      return jobId;
    });
    jobs.push(id);
  }
  return jobs;
}

// ---------------------------------------------------------------- unlearning

/** Move every request of `ids` that is in one of `from` to `to` (each in its own small transaction). */
async function moveRequests(ctx: ServiceContext, ids: string[], from: Status[], to: Status, facts: Record<string, unknown>): Promise<void> {
  for (const id of ids) {
    await ctx.store.tx(async (t) => {
      const r = (await ctx.store.request(id, t))!;
      if (from.includes(r.status as Status)) await transition(t, ctx.ledger, r, to, { actor: 'service', facts, now: ctx.now() });
    });
  }
}

/**
 * A deterministic 31-bit seed from a string: the job seeds its run from the input version, the
 * path and the forget ids, so a re-run after a crash (and the same requests on the same models in
 * another run) gets the same seed, hence the same bytes.
 */
function seedOf(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0) % 2147483647;
}

/**
 * Verify an unlearned version before publishing. Every path: the new lineage excludes every
 * requested id. Certified: the recorded bound is within the budget. Approximate: the policy's
 * audits (forget accuracy against the held-out accuracy, MIA AUC against chance; see README).
 */
export function verifyOutput(required: Guarantee, cand: Candidate, forgetIds: string[], res: UnlearnTaskResult, reference?: AuditReference): { ok: boolean; figures: Record<string, unknown>; failures: string[] } {
  const m = res.manifest;
  const failures: string[] = [];
  const left = new Set(m.lineage.trainIds as string[]);
  const still = forgetIds.filter((id) => left.has(id));
  if (still.length) failures.push(`the new lineage still lists ${still.length} requested id(s)`);
  const figures: Record<string, unknown> = { lineageExcludes: forgetIds.length, trainIdsSha256: m.lineage.trainIdsSha256 };
  if (m.format === 'unlearn-sisa/1') {
    const shards = (m.shards as { index: number; hash: string | null; origin: { kind: string; fromSlice?: number } }[]).filter((s) => s.origin.kind === 'trained');
    figures.shardsRetrained = shards.map((s) => ({ shard: s.index, fromSlice: s.origin.fromSlice, hash: s.hash }));
    figures.shards = m.sisa.shards;
    figures.slices = m.sisa.slices;
  }
  if (m.format === 'unlearn-certified/1') {
    const c = m.certificate as { guarantee: string; epsilon?: number; delta?: number; residualBound: number; budget?: { total: number; used: number; left: number }; retrained: boolean };
    Object.assign(figures, { epsilon: c.epsilon, delta: c.delta, residualBound: c.residualBound, budget: c.budget, retrained: c.retrained });
    if (!c.retrained && c.budget && c.budget.used > c.budget.total) failures.push(`bound ${c.residualBound} exceeds the budget`);
    if (cand.path === 'certified-retrain' && !c.retrained) failures.push('the certified-retrain path did not retrain');
    if (required.kind === 'certified' && !c.retrained && (c.epsilon === undefined || c.epsilon > required.epsilon)) failures.push(`ε ${c.epsilon} exceeds the policy's ${required.epsilon}`);
  }
  if (cand.path === 'approximate' && required.kind === 'approximate') {
    if (!reference) failures.push('no retrained reference to audit against');
    else {
      const e = res.evaluation;
      const f = reference.figures;
      const measured: Partial<Record<AuditName, AuditFigure>> = { forgetAccuracy: { value: e.FA, reference: reference.accuracy, n: e.forgetN } };
      if (Number.isFinite(e.miaAuc) && f.miaAuc !== null) measured.miaAuc = { value: e.miaAuc, reference: f.miaAuc, n: e.miaN };
      const audit = checkAudits(required.audits, measured);
      figures.audits = {
        measured,
        margins: required.audits,
        reference: { kind: 'calibration', root: f.root, holdoutN: f.holdout.n, holdoutIdsSha256: f.holdout.idsSha256, seed: f.seed, accuracyOnHoldout: f.accuracy, reweightedToForgetClasses: reference.forgetClassCounts, miaAucOnHoldout: f.miaAuc, miaN: f.miaN, trainedSeconds: f.seconds, words: describeReference(f) },
      };
      failures.push(...audit.failures);
    }
  }
  figures.metrics = res.evaluation;
  return { ok: failures.length === 0, figures: finite(figures) as Record<string, unknown>, failures };
}

/** The retrained reference an approximate audit compares against: the chain's calibration reference, its accuracy reweighted to the forget set's classes. */
export interface AuditReference {
  figures: ReferenceFigures;
  /** {@link referenceAccuracyFor} of the forget set. */
  accuracy: number;
  forgetClassCounts: number[];
}

/** `v` with every non-finite number (e.g. an AUC over a single example) replaced by null, so it is JSON. */
function finite(v: unknown): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (Array.isArray(v)) return v.map(finite);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, finite(x)]));
  return v;
}

/** Dependencies of {@link handleUnlearn}. */
export interface UnlearnDeps {
  runTask: TaskRunner;
  /** Test hook: called at named points (the crash harness kills the process there). */
  probe?: (point: string) => void;
}

/**
 * `unlearn` job: one model, a batch of plans. A run that throws is retried by the runner; on its
 * last attempt the failure escalates the batch to the next stronger path instead.
 */
export async function handleUnlearn(ctx: ServiceContext, deps: UnlearnDeps, job: Job, jc: JobContext): Promise<void> {
  const { planIds } = job.payload as { planIds: string[] };
  const plans = (await ctx.store.plansOfJob(job.id)).filter((p) => planIds.includes(p.id));
  if (!plans.length || plans.every((p) => p.status === 'done')) return;
  const requestIds = [...new Set(plans.map((p) => p.request_id))];
  // The path the run chose, once known: a last attempt that fails escalates past it.
  const ran: { cand?: Candidate } = {};
  try {
    await unlearnBatch(ctx, deps, job, jc, plans, requestIds, ran);
  } catch (e) {
    if (job.attempt < job.maxAttempts || jc.signal.aborted) throw e;
    const alts = JSON.parse(plans[0].alternatives) as Candidate[];
    const cand = ran.cand ?? pathForBatch(plans.map((p) => p.method), alts.filter((c) => plans.some((p) => p.method === c.method)), alts);
    await escalate(ctx, jc, job, plans, requestIds, cand, [`failed ${job.attempt} times: ${(e as Error).message}`]);
  }
}

async function unlearnBatch(ctx: ServiceContext, deps: UnlearnDeps, job: Job, jc: JobContext, plans: PlanRow[], requestIds: string[], ran: { cand?: Candidate }): Promise<void> {
  const { modelId } = job.payload as { modelId: string };
  await moveRequests(ctx, requestIds, ['scheduled', 'verifying'], 'running', { job: job.id, attempt: job.attempt });
  deps.probe?.('running');
  const model = (await ctx.store.model(modelId))!;
  const current = (await ctx.store.version(model.current_version!))!;
  const requests = await Promise.all(requestIds.map(async (id) => (await ctx.store.request(id))!));
  const forget = new Set<string>();
  for (const r of requests) for (const id of await forgetIdsOf(ctx, r, current)) forget.add(id);
  const forgetIds = [...forget].sort();
  // The batch's requirements combined (the strongest decides); the method is the plans' where it
  // meets that (escalated plans carry their new one). Neither depends on the order of the plans.
  const required = combineRequirements(requests.map((r) => requiredGuarantee(ctx, r.purpose as Purpose, r.requested_guarantee)));
  const fresh = await candidatesFor(ctx, current, forgetIds, required, ctx.store.db, excludedOf(plans));
  const cand = pathForBatch(plans.map((p) => p.method), fresh, JSON.parse(plans[0].alternatives) as Candidate[]);
  ran.cand = cand;
  if (!forgetIds.length) {
    // Nothing of these requests is left in the current version (an earlier batch removed it).
    await publish(ctx, jc, job, plans, current, null, { figures: { lineageExcludes: 0, note: 'the current version already excludes the data' } }, cand, 0, [], deps.probe);
    return;
  }
  const staging = join(ctx.dataRoot, 'staging', `${job.id}-${job.attempt}`);
  await ensureDir(join(ctx.dataRoot, 'staging'));
  await rm(staging, { recursive: true, force: true });
  const seed = seedOf(`${current.id}/${cand.path}/${forgetIds.join(',')}`);
  const res = await deps.runTask({ modelDir: current.dir, ids: forgetIds, method: current.format === 'unlearn-model/1' || cand.method === 'certified-retrain' ? cand.method : undefined, params: cand.params, seed, out: staging });
  deps.probe?.('trained');
  if (jc.signal.aborted) throw new Error('lease lost');
  await moveRequests(ctx, requestIds, ['running'], 'verifying', { job: job.id });
  let reference: AuditReference | undefined;
  let referenceSeconds = 0;
  if (cand.path === 'approximate' && required.kind === 'approximate') {
    const r = await ensureReference(ctx, deps, current, job);
    referenceSeconds = r.trainedNow ? r.figures.seconds : 0;
    const split = await splitFor(ctx, (JSON.parse(current.manifest) as AnyManifest).dataset);
    const counts = classCounts(split, forgetIds);
    reference = { figures: r.figures, accuracy: referenceAccuracyFor(r.figures, counts), forgetClassCounts: counts };
  }
  const verdict = verifyOutput(required, cand, forgetIds, res, reference);
  if (!verdict.ok) {
    await rm(staging, { recursive: true, force: true });
    await escalate(ctx, jc, job, plans, requestIds, cand, verdict.failures, { actualSeconds: res.seconds, referenceSeconds });
    return;
  }
  deps.probe?.('verified');
  const final = join(ctx.dataRoot, 'models', modelId, res.manifest.modelHash);
  await ensureDir(join(ctx.dataRoot, 'models', modelId));
  if (existsSync(final)) await rm(staging, { recursive: true, force: true });
  else await rename(staging, final);
  deps.probe?.('renamed');
  await publish(ctx, jc, job, plans, current, { dir: final, manifest: res.manifest as AnyManifest }, verdict, cand, res.seconds, res.notes, deps.probe, referenceSeconds);
}

/**
 * The calibration reference of `v`'s chain (reference.ts): read it, or train it now on a worker
 * (the recipe retrained without H, measured on H, its weights deleted) and record it atomically
 * with a `reference.trained` log record. A re-run after a crash retrains it with the same seed.
 */
async function ensureReference(ctx: ServiceContext, deps: UnlearnDeps, v: VersionRow, job: Job): Promise<{ figures: ReferenceFigures; trainedNow: boolean }> {
  const { root } = await rootOf(ctx, v, ctx.store.db);
  const have = readReference(ctx.dataRoot, v.model_id, root.id);
  if (have) return { figures: have, trainedNow: false };
  const m = JSON.parse(v.manifest) as AnyManifest;
  const rootManifest = JSON.parse(root.manifest) as AnyManifest;
  const split = await splitFor(ctx, m.dataset);
  const seed = referenceSeed(root.id);
  // H comes from the root's lineage, restricted to what the trained version still holds.
  const live = new Set(m.lineage.trainIds);
  const pool = rootManifest.lineage.trainIds.filter((id) => live.has(id));
  const holdout = chooseHoldout(split, pool, holdoutSize(root.num_examples), seed);
  const out = join(ctx.dataRoot, 'staging', `reference-${job.id}-${job.attempt}`);
  await ensureDir(join(ctx.dataRoot, 'staging'));
  await rm(out, { recursive: true, force: true });
  const res = await deps.runTask({ modelDir: v.dir, ids: holdout, method: 'calibration-reference', seed, out });
  const r = res.reference!;
  const figures: ReferenceFigures = { version: 1, kind: 'calibration-reference', model: v.model_id, root: root.id, trainedFrom: v.id, seed, holdout: { n: holdout.length, idsSha256: hashIds(holdout), classCounts: r.classCounts }, accuracy: res.evaluation.FA, perClassAccuracy: r.perClassAccuracy, miaAuc: r.miaAuc, miaN: r.miaN, seconds: res.seconds, createdAt: new Date(ctx.now()).toISOString() };
  const path = referencePath(ctx.dataRoot, v.model_id, root.id);
  await ensureDir(join(ctx.dataRoot, 'references', v.model_id));
  await writeFileSynced(`${path}.tmp-${process.pid}`, JSON.stringify(figures, null, 1) + '\n');
  await rename(`${path}.tmp-${process.pid}`, path);
  await ctx.store.tx((t) => ctx.ledger.append(t, { type: 'reference.trained', data: { model: v.model_id, root: root.id, trainedFrom: v.id, holdoutN: holdout.length, holdoutIdsSha256: figures.holdout.idsSha256, seed, seconds: res.seconds, accuracy: figures.accuracy, miaAuc: figures.miaAuc, job: job.id } }, ctx.now()));
  return { figures, trainedNow: true };
}

const excludedOf = (plans: PlanRow[]) => [...new Set(plans.flatMap((p) => (JSON.parse(p.alternatives) as Candidate[]).filter((c) => c.failed).map((c) => c.path)))];

/** A failed verification: mark the path failed and re-plan the batch on the next stronger path. */
async function escalate(ctx: ServiceContext, jc: JobContext, job: Job, plans: PlanRow[], requestIds: string[], cand: Candidate, failures: string[], spent: { actualSeconds?: number; referenceSeconds?: number } = {}): Promise<void> {
  await ctx.store.tx(async (t) => {
    await ctx.ledger.append(t, { type: 'job.escalated', data: { job: job.id, model: plans[0]?.model_id, path: cand.path, method: cand.method, estimateSeconds: cand.estimateSeconds, actualSeconds: spent.actualSeconds ?? null, referenceSeconds: spent.referenceSeconds ?? 0, failures } }, ctx.now());
    for (const p of plans) {
      const alts = (JSON.parse(p.alternatives) as Candidate[]).map((c) => (c.path === cand.path ? { ...c, failed: true, why: `${c.why}; verification failed: ${failures.join('; ')}` } : c));
      const next = nextCandidate(alts);
      await ctx.store.updatePlans([p.id], { alternatives: JSON.stringify(alts), method: next?.method ?? p.method, guarantee: next?.guarantee.kind ?? p.guarantee, estimate_seconds: next?.estimateSeconds ?? p.estimate_seconds, status: next ? 'pending' : 'failed', job_id: null }, t);
    }
    for (const id of requestIds) {
      let r = (await ctx.store.request(id, t))!;
      r = (await transition(t, ctx.ledger, r, 'failed', { actor: 'service', reason: `verification failed: ${failures.join('; ')}`, facts: { job: job.id, path: cand.path }, now: ctx.now() })).row;
      const any = (await ctx.store.plansOf(id, t)).some((p) => p.status === 'pending');
      if (any) await transition(t, ctx.ledger, r, 'escalated', { actor: 'service', reason: `escalated from ${cand.path} to a stronger path`, now: ctx.now() });
      else await transition(t, ctx.ledger, r, 'refused', { actor: 'service', reason: 'no path left that meets the guarantee', now: ctx.now() });
    }
    await jc.complete(t, { escalated: cand.path });
  });
}

/** Publish (one transaction): the new version, current pointer, superseded versions, plans done, job done, requests completed with certificates. */
async function publish(ctx: ServiceContext, jc: JobContext, job: Job, plans: PlanRow[], input: VersionRow, out: { dir: string; manifest: AnyManifest } | null, verdict: { figures: Record<string, unknown> }, cand: Candidate, seconds: number, notes: string[], probe?: (point: string) => void, referenceSeconds = 0): Promise<void> {
  const lineage = out ? await lineageIndex(ctx, out.manifest) : [];
  const now = ctx.now();
  await ctx.store.tx(async (t) => {
    let outputId = input.id;
    const superseded: string[] = [];
    if (out) {
      const row = versionRow(input.model_id, out.dir, out.manifest, now);
      outputId = row.id;
      await publishVersion(ctx, t, row, lineage, { job: job.id, path: cand.path, notes });
      probe?.('publishing');
      // Every version of this model holding the requests' data, and their descendants, is superseded.
      for (const v of await affectedVersionsOf(ctx, t, input.model_id, plans)) {
        if (v.id === outputId) continue;
        await ctx.store.supersede(v.id, outputId, now, t);
        superseded.push(v.id);
      }
      if (superseded.length) await ctx.ledger.append(t, { type: 'model.superseded', data: { model: input.model_id, versions: superseded, by: outputId } }, now);
    }
    const perPlan = plans.length ? seconds / plans.length : 0;
    // The plans record what ran (a plan batched with a stronger requirement ran the stronger path),
    // so later certificates of a request claim the path its model actually took.
    await ctx.store.updatePlans(plans.map((p) => p.id), { status: 'done', output_version: outputId, actual_seconds: seconds, method: cand.method, guarantee: cand.guarantee.kind }, t);
    await ctx.ledger.append(t, { type: 'job.completed', data: { job: job.id, model: input.model_id, path: cand.path, method: cand.method, estimateSeconds: cand.estimateSeconds, actualSeconds: seconds, referenceSeconds, perPlanSeconds: perPlan, output: outputId, plans: plans.length } }, now);
    await jc.complete(t, { output: outputId });
    for (const rid of new Set(plans.map((p) => p.request_id))) {
      const r = (await ctx.store.request(rid, t))!;
      const all = await ctx.store.plansOf(rid, t);
      if (r.status !== 'verifying' && r.status !== 'running') continue;
      if (!all.every((p) => p.status === 'done')) continue;
      const claims: ModelClaim[] = [];
      for (const p of all) {
        const o = p.output_version ? await ctx.store.version(p.output_version, t) : undefined;
        const alts = JSON.parse(p.alternatives) as Candidate[];
        const used = p.job_id === job.id ? cand : alts.find((c) => c.method === p.method && !c.failed) ?? alts.find((c) => c.method === p.method) ?? alts[0];
        claims.push({
          modelId: p.model_id,
          inputHash: p.version_id,
          outputHash: p.output_version!,
          method: o?.method ?? p.method,
          path: used.path,
          guarantee: used.guarantee,
          statement: describeGuarantee(used.guarantee),
          figures: flattenFigures(p.job_id === job.id ? verdict.figures : { recordedIn: `job ${p.job_id}` }),
          examplesRemoved: (await forgetIdsOf(ctx, r, (await ctx.store.version(p.version_id, t))!)).length,
          supersededVersions: p.job_id === job.id ? superseded : [],
        });
      }
      if (r.status === 'running') await transition(t, ctx.ledger, r, 'verifying', { actor: 'service', facts: { job: job.id }, now: ctx.now() }).then((x) => completeWithCertificate(ctx, t, x.row, claims));
      else await completeWithCertificate(ctx, t, r, claims);
    }
  });
}

/** Versions of `modelId` (not superseded) holding any request's data, plus their descendants. */
async function affectedVersionsOf(ctx: ServiceContext, ex: Executor, modelId: string, plans: PlanRow[]): Promise<VersionRow[]> {
  const ids = new Set(plans.map((p) => p.version_id));
  for (const rid of new Set(plans.map((p) => p.request_id))) {
    const r = (await ctx.store.request(rid, ex))!;
    if (r.subject) for (const v of await ctx.store.versionsWithSubject(r.subject, ex)) if (v.model_id === modelId) ids.add(v.id);
  }
  const all = await ctx.store.versionsOf(modelId, ex);
  for (let grew = true; grew; ) {
    grew = false;
    for (const v of all) if (v.parent && ids.has(v.parent) && !ids.has(v.id) && v.superseded_by === null) ids.add(v.id), (grew = true);
  }
  return all.filter((v) => ids.has(v.id) && v.superseded_by === null);
}

// ---------------------------------------------------------------- weight deletion

/** Delete weight files of versions superseded longer ago than the policy's grace period (each deletion logged). */
export async function deleteSupersededWeights(ctx: ServiceContext): Promise<string[]> {
  const days = ctx.policy.deleteSupersededAfterDays;
  if (days === undefined) return [];
  const done: string[] = [];
  for (const v of await ctx.store.supersededBefore(ctx.now() - days * 86_400_000)) {
    await rm(v.dir, { recursive: true, force: true });
    await ctx.store.tx(async (t) => {
      await ctx.store.markWeightsDeleted(v.id, ctx.now(), t);
      await ctx.ledger.append(t, { type: 'model.weights-deleted', data: { model: v.model_id, version: v.id, supersededBy: v.superseded_by, graceDays: days } }, ctx.now());
    });
    done.push(v.id);
  }
  return done;
}
