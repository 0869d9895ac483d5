/**
 * Model registration: a model directory (any format: single network, SISA ensemble, certified
 * model) becomes a version of a registered model, with its subjects (pseudonymised) in the
 * lineage index, in one transaction with its log entry.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pseudonymise } from '../data/pseudonym.js';
import { UnlearnError } from '../errors.js';
import type { VersionManifest } from '../models/formats.js';
import type { Executor, VersionRow } from '../store/store.js';
import { splitFor, type ServiceContext } from './context.js';
import { FieldError } from './problem.js';

/** The manifest fields the service reads from any model format. */
export type AnyManifest = VersionManifest & { createdAt?: string; extra?: Record<string, unknown> };

/** Read and check `<dir>/manifest.json`. @throws FieldError MODEL_MISSING / MODEL_CORRUPT naming /body/dir. */
export async function readAnyManifest(dir: string): Promise<AnyManifest> {
  let text: string;
  try {
    text = await readFile(resolve(dir, 'manifest.json'), 'utf8');
  } catch {
    throw new FieldError('MODEL_MISSING', '/body/dir', `no manifest.json in ${dir}`, 'give the directory of a model written by unlearn train or forget');
  }
  let m: AnyManifest;
  try {
    m = JSON.parse(text) as AnyManifest;
  } catch {
    throw new FieldError('MODEL_CORRUPT', '/body/dir', `${dir}/manifest.json is not JSON`, 'restore the model directory');
  }
  if (typeof m?.modelHash !== 'string' || !Array.isArray(m.lineage?.trainIds) || typeof m.dataset?.fingerprint !== 'string' || typeof m.format !== 'string') {
    throw new FieldError('MODEL_CORRUPT', '/body/dir', `${dir}/manifest.json lacks modelHash, format, dataset or lineage`, 'register a model directory written by this version of unlearn');
  }
  return m;
}

/** Pseudonymised subjects of a lineage with their example counts. */
export async function lineageIndex(ctx: ServiceContext, m: AnyManifest): Promise<{ subject: string; examples: number }[]> {
  const split = await splitFor(ctx, m.dataset);
  const subjectOf = new Map<string, string>();
  for (let i = 0; i < split.train.ids.length; i++) subjectOf.set(split.train.ids[i], split.train.subjects[i]);
  const counts = new Map<string, number>();
  for (const id of m.lineage.trainIds) {
    const s = subjectOf.get(id);
    if (s === undefined) throw new UnlearnError('DATASET_INVALID', `lineage id ${id} is not in the dataset ${m.dataset.name}`, 'register a model trained on this dataset');
    const p = pseudonymise(s.toLowerCase(), ctx.pseudonymKey);
    counts.set(p, (counts.get(p) ?? 0) + 1);
  }
  return [...counts].map(([subject, examples]) => ({ subject, examples })).sort((a, b) => (a.subject < b.subject ? -1 : 1));
}

/** The version row of a manifest stored at `dir`. */
export function versionRow(modelId: string, dir: string, m: AnyManifest, now: number): VersionRow {
  return {
    id: m.modelHash,
    model_id: modelId,
    parent: m.parent,
    dir: resolve(dir),
    format: m.format,
    guarantee: m.method.guarantee,
    method: m.method.id,
    dataset_fingerprint: m.dataset.fingerprint,
    num_examples: m.lineage.trainIds.length,
    wall_seconds: m.timings?.wallSeconds ?? 0,
    manifest: JSON.stringify(m),
    superseded_by: null,
    superseded_at: null,
    weights_deleted_at: null,
    created_at: now,
  };
}

/**
 * Insert a version with its lineage, make it current, and log it, in the caller's transaction.
 * Returns false when the version (same modelHash) was already there.
 */
export async function publishVersion(ctx: ServiceContext, ex: Executor, row: VersionRow, lineage: { subject: string; examples: number }[], facts: Record<string, unknown>): Promise<boolean> {
  const inserted = await ctx.store.insertVersion(row, lineage, ex);
  if (!inserted) return false;
  await ctx.store.setCurrentVersion(row.model_id, row.id, ex);
  await ctx.ledger.append(ex, { type: 'model.published', data: { model: row.model_id, version: row.id, parent: row.parent, format: row.format, method: row.method, guarantee: row.guarantee, examples: row.num_examples, subjects: lineage.length, ...facts } }, row.created_at);
  return true;
}

/**
 * Register the model version in `dir` under model `id`. A version holding a subject whose
 * deletion request already completed is refused (it would bring deleted data back); for open
 * requests of its subjects a re-planning job is queued, so a registration racing a request
 * ends with the version in that request's plan.
 * @throws FieldError MODEL_MISSING, MODEL_CORRUPT, CONFLICT (format differs from the model's; deleted subjects present).
 */
export async function registerModel(ctx: ServiceContext, o: { id: string; dir: string; name?: string }): Promise<{ version: VersionRow; inserted: boolean; replanned: string[] }> {
  const m = await readAnyManifest(o.dir);
  const lineage = await lineageIndex(ctx, m);
  const now = ctx.now();
  const row = versionRow(o.id, o.dir, m, now);
  return ctx.store.tx(async (t) => {
    const existing = await ctx.store.model(o.id, t);
    if (existing && existing.format !== m.format) throw new FieldError('CONFLICT', '/body/dir', `model ${o.id} holds ${existing.format} versions, not ${m.format}`, 'register it under another model id');
    await ctx.store.ensureModel({ id: o.id, name: o.name ?? o.id, format: m.format, current_version: null, created_at: now }, t);
    const subjects = lineage.map((l) => l.subject);
    const open: { id: string; status: string }[] = [];
    for (let i = 0; i < subjects.length; i += 500) {
      const rows = await t.selectFrom('deletion_requests').select(['id', 'status', 'subject']).where('subject', 'in', subjects.slice(i, i + 500)).where('status', 'not in', ['rejected', 'refused']).execute();
      open.push(...rows);
    }
    const done = open.filter((r) => r.status === 'completed');
    if (done.length) throw new FieldError('CONFLICT', '/body/dir', `this version holds data of ${done.length} subject(s) whose deletion completed (e.g. request ${done[0].id})`, 'unlearn those subjects from it before registering, or retrain without them');
    const inserted = await publishVersion(ctx, t, row, lineage, { registeredBy: 'operator' });
    const replanned: string[] = [];
    if (inserted) {
      for (const r of open) {
        if (r.status === 'received') continue; // its planning job has not run yet and will see this version
        await ctx.store.enqueueJob({ kind: 'plan', dedupeKey: `plan:${r.id}:${row.id}`, payload: { requestId: r.id }, maxAttempts: 5 }, now, t);
        replanned.push(r.id);
      }
    }
    return { version: inserted ? row : (await ctx.store.version(row.id, t))!, inserted, replanned };
  });
}
