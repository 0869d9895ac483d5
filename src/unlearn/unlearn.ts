import type * as tfl from '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { hashIds, type DataSplit } from '../data/dataset.js';
import { UnlearnError } from '../errors.js';
import type { StoredModel } from '../models/io.js';
import type { ModelManifest } from '../models/manifest.js';
import type { ForgetSelector, ForgetSet } from './forgetSet.js';
import { erasedSubjects, selectForgetSet } from './forgetSet.js';
import { getMethod } from './registry.js';
import { SubjectIndex, pseudonymise, pseudonymKey } from '../data/pseudonym.js';

/** A finished unlearning run: the new model (not yet saved) and its manifest. */
export interface UnlearnResult {
  model: tfl.LayersModel;
  /** Complete but for `files`/`modelHash`, which saveModel fills in. */
  manifest: Omit<ModelManifest, 'files' | 'modelHash'>;
  forget: ForgetSet;
  /** Wall time of the method alone, seconds. */
  seconds: number;
  details: Record<string, unknown>;
}

/**
 * Apply unlearning method `methodId` to a stored model: resolve the forget set against the
 * model's lineage, validate params (zod), run the method on θ_o without mutating it, and compose
 * the new version's manifest (parent hash, lineage = retain ids, cumulative removed ids, params,
 * seed, timing). Subjects in the selector are real ids or their `s-…` pseudonyms (resolved with
 * the split's {@link SubjectIndex} unless `opts.resolveSubject` is given).
 * @throws UnlearnError UNKNOWN_METHOD, INVALID_PARAMS (params or selector, an empty forget set, or
 *   one that is the whole training lineage), SUBJECT_NOT_FOUND,
 *   DATASET_INVALID (the split is not the one the model was trained on).
 */
export async function unlearn(
  stored: StoredModel,
  split: DataSplit,
  selector: ForgetSelector | ForgetSet,
  methodId: string,
  rawParams: Record<string, unknown> = {},
  opts: { seed?: number; quiet?: boolean; resolveSubject?: (s: string) => string; request?: Record<string, unknown> } = {},
): Promise<UnlearnResult> {
  const method = getMethod(methodId);
  const parsed = method.paramsSchema.safeParse(rawParams);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UnlearnError('INVALID_PARAMS', `${methodId}: ${issue?.path.join('.') || 'params'}: ${issue?.message}`, `see \`unlearn methods\` for ${methodId}'s params`);
  }
  const m = stored.manifest;
  if (m.dataset.fingerprint !== split.fingerprint) {
    throw new UnlearnError('DATASET_INVALID', `data fingerprint ${split.fingerprint.slice(0, 12)} differs from the model's ${m.dataset.fingerprint.slice(0, 12)}`, `load dataset ${m.dataset.name} with options ${JSON.stringify(m.dataset.options)}`);
  }
  const seed = opts.seed ?? m.seed;
  // Subjects may be named by their real id or by the s-… pseudonym reports show, as on the CLI.
  let index: SubjectIndex | undefined;
  const resolveSubject = opts.resolveSubject ?? ((s: string) => (index ??= SubjectIndex.forSplit(split)).resolve(s));
  const forget = 'forgetIdx' in selector ? selector : selectForgetSet(split.train, m.lineage.trainIds, selector, { seed, resolveSubject });
  checkPartition(forget);
  const ctx = { split, forget, spec: m.spec, recipe: m.recipe, seed, quiet: opts.quiet };
  const t0 = performance.now();
  const out = await method.run(stored.model, parsed.data, ctx);
  const seconds = (performance.now() - t0) / 1000;
  if (out.model === stored.model) throw new Error(`method ${methodId} returned its input model`);
  const retainIds = Array.from(forget.retainIdx, (i) => split.train.ids[i]);
  const removedIds = [...(m.removed?.ids ?? []), ...forget.forgetIds];
  // Subjects are personal data: manifests hold only their pseudonyms (keyed hash, see data/pseudonym.ts).
  const key = pseudonymKey(split);
  const subjects = [...new Set([...(m.removed?.subjects ?? []), ...erasedSubjects(split.train, forget).map((s) => pseudonymise(s, key))])].sort();
  const request = opts.request ?? ('forgetIdx' in selector ? { ids: forget.forgetIds.length } : pseudonymisedSelector(selector, key, resolveSubject));
  const manifest: UnlearnResult['manifest'] = {
    format: 'unlearn-model/1',
    spec: m.spec,
    dataset: m.dataset,
    lineage: { trainIds: retainIds, trainIdsSha256: hashIds(retainIds), numExamples: retainIds.length, numSubjects: new Set(Array.from(forget.retainIdx, (i) => split.train.subjects[i])).size },
    recipe: m.recipe,
    seed,
    parent: m.modelHash,
    method: { id: method.id, guarantee: method.guarantee, params: parsed.data as Record<string, unknown> },
    removed: { ids: removedIds, idsSha256: hashIds(removedIds), subjects, request },
    timings: { wallSeconds: seconds },
    metrics: {},
    backend: tf.getBackend(),
    createdAt: new Date().toISOString(),
    extra: { details: out.details ?? {}, inputModelHash: m.modelHash },
  };
  return { model: out.model, manifest, forget, seconds, details: out.details ?? {} };
}

/**
 * A forget set every method can act on: non-empty, and leaving a non-empty retain set (otherwise
 * e.g. NegGrad+ would take no step and silently return θ_o).
 * @throws UnlearnError INVALID_PARAMS naming the problem.
 */
export function checkPartition(forget: Pick<ForgetSet, 'forgetIdx' | 'retainIdx'>): void {
  if (forget.forgetIdx.length === 0) throw new UnlearnError('INVALID_PARAMS', 'the forget set is empty: there is nothing to unlearn', 'name examples of the model\'s training lineage (--subject, --id, --class or --random)');
  if (forget.retainIdx.length === 0) throw new UnlearnError('INVALID_PARAMS', 'the forget set is the whole training set: no retain set is left to unlearn against', 'train a new model from scratch on other data instead');
}

/** The selector as recorded in a manifest: subjects replaced by their pseudonyms. */
function pseudonymisedSelector(sel: ForgetSelector, key: string, resolve?: (s: string) => string): Record<string, unknown> {
  return { ...sel, ...(sel.subjects ? { subjects: sel.subjects.map((s) => pseudonymise(resolve ? resolve(s) : s, key)) } : {}) };
}
