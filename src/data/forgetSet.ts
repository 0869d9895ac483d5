import type { Dataset } from './dataset.js';
import { Rng } from '../engine/rng.js';
import { UnlearnError } from '../errors.js';

/**
 * What to forget. Criteria combine by union: an example is forgotten when it matches any of them.
 * - `subjects`: every example of these subjects (a subject may be named by its real id or by an
 *   alias the caller resolves, e.g. a pseudonym);
 * - `ids`: these example ids;
 * - `classes`: every example of these class indices;
 * - `randomFraction`: a seeded uniform sample of this fraction (0, 1) of the training lineage.
 */
export interface ForgetSelector {
  subjects?: string[];
  ids?: string[];
  classes?: number[];
  randomFraction?: number;
}

/** A resolved forget/retain partition of a model's training lineage (indices into the train Dataset). */
export interface ForgetSet {
  /** Sorted indices into the train Dataset of the examples to forget (D_f). */
  forgetIdx: Int32Array;
  /** Sorted indices of the rest of the lineage (D_r). */
  retainIdx: Int32Array;
  forgetIds: string[];
  /** Distinct subjects of the forget set (real ids; pseudonymise before showing). */
  subjects: string[];
  /** How many of `subjects` leave the lineage entirely (the rest keep examples in the retain set); set by selectForgetSet. */
  fullyRemoved?: number;
}

/**
 * Resolve a selector against the training examples of a model (those of `train` whose id is in
 * `lineageIds`). `resolveSubject` maps a user-given subject name (e.g. a pseudonym) to the real
 * subject id, or returns it unchanged.
 * @throws UnlearnError SUBJECT_NOT_FOUND when a subject or id is not in the lineage (never a
 *   silent no-op); INVALID_PARAMS for an empty selector, a bad fraction or class, or when the
 *   selection would leave no retain set.
 */
export function selectForgetSet(
  train: Dataset,
  lineageIds: Iterable<string>,
  selector: ForgetSelector,
  opts: { seed?: number; resolveSubject?: (name: string) => string } = {},
): ForgetSet {
  const lineage = new Set(lineageIds);
  const inLineage: number[] = [];
  for (let i = 0; i < train.ids.length; i++) if (lineage.has(train.ids[i])) inLineage.push(i);
  const empty = !selector.subjects?.length && !selector.ids?.length && !selector.classes?.length && selector.randomFraction === undefined;
  if (empty) throw new UnlearnError('INVALID_PARAMS', 'empty forget request', 'name --subject, --id, --class or --random');
  const forget = new Set<number>();

  if (selector.subjects?.length) {
    const wanted = new Map(selector.subjects.map((s) => [opts.resolveSubject ? opts.resolveSubject(s) : s, s]));
    const found = new Set<string>();
    for (const i of inLineage) if (wanted.has(train.subjects[i])) (forget.add(i), found.add(train.subjects[i]));
    const missing = [...wanted].filter(([real]) => !found.has(real)).map(([, given]) => given);
    if (missing.length) {
      throw new UnlearnError('SUBJECT_NOT_FOUND', `subject(s) not in the model's training lineage: ${missing.join(', ')}`, 'list subjects with `unlearn subjects`');
    }
  }
  if (selector.ids?.length) {
    const pos = new Map<string, number>();
    for (const i of inLineage) pos.set(train.ids[i], i);
    const missing = selector.ids.filter((id) => !pos.has(id));
    if (missing.length) {
      throw new UnlearnError('SUBJECT_NOT_FOUND', `example id(s) not in the model's training lineage: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`, 'check the ids against the model manifest');
    }
    for (const id of selector.ids) forget.add(pos.get(id)!);
  }
  if (selector.classes?.length) {
    for (const c of selector.classes) {
      if (!Number.isInteger(c) || c < 0 || c >= train.numClasses) {
        throw new UnlearnError('INVALID_PARAMS', `class ${c} outside [0, ${train.numClasses})`, 'give a class index of the dataset');
      }
    }
    const cs = new Set(selector.classes);
    for (const i of inLineage) if (cs.has(train.labels[i])) forget.add(i);
  }
  if (selector.randomFraction !== undefined) {
    const f = selector.randomFraction;
    if (!(f > 0 && f < 1)) throw new UnlearnError('INVALID_PARAMS', `random fraction ${f} not in (0, 1)`, 'e.g. --random 0.02');
    const k = Math.max(1, Math.round(f * inLineage.length));
    const perm = new Rng(opts.seed ?? 0).permutation(inLineage.length);
    for (let j = 0; j < k; j++) forget.add(inLineage[perm[j]]);
  }
  const forgetIdx = Int32Array.from([...forget].sort((a, b) => a - b));
  const retainIdx = Int32Array.from(inLineage.filter((i) => !forget.has(i)));
  if (forgetIdx.length === 0) throw new UnlearnError('SUBJECT_NOT_FOUND', 'the request selects no training example', 'check the selector');
  if (retainIdx.length === 0) throw new UnlearnError('INVALID_PARAMS', 'the request would remove every training example', 'retrain from scratch instead');
  const subjects = [...new Set(Array.from(forgetIdx, (i) => train.subjects[i]))].sort();
  const kept = new Set(Array.from(retainIdx, (i) => train.subjects[i]));
  return { forgetIdx, retainIdx, forgetIds: Array.from(forgetIdx, (i) => train.ids[i]), subjects, fullyRemoved: subjects.filter((s) => !kept.has(s)).length };
}

/**
 * The forget set to evaluate a stored model version on: the selector resolved against its lineage
 * when given, else the ids the version has removed (D_f) against its lineage (D_r).
 * @throws UnlearnError INVALID_PARAMS when no selector is given and the version removed nothing;
 *   SUBJECT_NOT_FOUND as {@link selectForgetSet}.
 */
export function forgetSetOfVersion(
  train: Dataset,
  m: { lineage: { trainIds: string[] }; removed?: { ids: string[] }; seed: number },
  selector?: ForgetSelector,
  resolveSubject?: (name: string) => string,
): ForgetSet {
  if (selector) return selectForgetSet(train, m.lineage.trainIds, selector, { seed: m.seed, resolveSubject });
  if (!m.removed?.ids.length) throw new UnlearnError('INVALID_PARAMS', 'this model has removed nothing: name a forget set', 'pass --subject, --id, --class or --random');
  const pos = new Map(train.ids.map((id, i) => [id, i]));
  const rows = (ids: string[]) => Int32Array.from(ids, (id) => pos.get(id)!).sort();
  const forgetIdx = rows(m.removed.ids);
  return { forgetIdx, retainIdx: rows(m.lineage.trainIds), forgetIds: m.removed.ids, subjects: [...new Set(Array.from(forgetIdx, (i) => train.subjects[i]))].sort() };
}

/**
 * The subjects a forget set erases completely: those of `forget.forgetIdx` with no example left
 * in `forget.retainIdx`. A manifest's `removed.subjects` lists only these, so an auditor never
 * reads a partly removed subject as erased.
 */
export function erasedSubjects(train: Dataset, forget: ForgetSet): string[] {
  const kept = new Set(Array.from(forget.retainIdx, (i) => train.subjects[i]));
  return forget.subjects.filter((s) => !kept.has(s));
}
