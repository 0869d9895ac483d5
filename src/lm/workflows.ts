/**
 * Language-model workflows as library functions (the `unlearn lm` commands are thin wrappers):
 * train an original model, forget a source with a method (or retrain without it), audit a model
 * against a retrained reference, generate text. Every model directory carries a manifest.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendDescription } from '../engine/backend.js';
import { UnlearnError } from '../errors.js';
import { auditLm, withPrivLeak, type AuditOptions, type LmAudit } from './audit/index.js';
import { loadProbes, type KnowledgeProbe } from './audit/knowledge.js';
import { hashIds, loadLmCorpus, type CorpusOptions, type LmCorpus } from './data.js';
import { lmHash, loadLm, saveLm, type LmManifest } from './io.js';
import { getLmMethod, parseLmParams } from './methods/index.js';
import { disposeModel, initModel, lmConfig, type LanguageModel, type LmConfig } from './model.js';
import { parseRecipe, trainLm, type LmRecipe } from './train.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Every probe shipped in src/lm/probes/*.jsonl. */
export function defaultProbes(): KnowledgeProbe[] {
  const dir = join(here, 'probes');
  return readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort().flatMap((f) => loadProbes(join(dir, f)));
}

/**
 * Corpus options matching a config: passages of T = contextLength bytes, so that BOS + passage is
 * T + 1 tokens and the inputs fill all T positions (position t predicts byte t). With passages of
 * T − 1 bytes the last position only ever held padding with weight 0, so its embedding wpe[T−1]
 * got no gradient and generation past T − 1 tokens used an untrained vector.
 */
export function corpusFor(config: LmConfig, options: Partial<CorpusOptions> = {}): LmCorpus {
  return loadLmCorpus({ passageBytes: config.contextLength, ...options });
}

/** The corpus a stored model was trained on, checked against its fingerprint. @throws UnlearnError DATASET_INVALID. */
export function corpusOf(manifest: LmManifest): LmCorpus {
  const c = loadLmCorpus(manifest.corpus.options);
  if (c.fingerprint !== manifest.corpus.fingerprint) throw new UnlearnError('DATASET_INVALID', `corpus fingerprint ${c.fingerprint.slice(0, 12)} differs from the model's ${manifest.corpus.fingerprint.slice(0, 12)}`, 'reinstall the corpora the model was trained on');
  return c;
}

/** Training passages minus everything removed by the model's chain of forget requests. */
export function lineageDocs(corpus: LmCorpus, removedSources: string[]) {
  return corpus.train.filter((d) => !removedSources.includes(d.source));
}

/** Manifest (before saving) of a model trained from scratch on `corpus` with `recipe`. */
function trainManifest(config: LmConfig, corpus: LmCorpus, recipe: LmRecipe, r?: { seconds: number; losses: number[] }): Omit<LmManifest, 'files' | 'modelHash'> {
  return {
    format: 'unlearn-lm/1',
    config,
    corpus: { name: 'lm-corpus', options: corpus.options, fingerprint: corpus.fingerprint },
    lineage: { sources: corpus.sources, numPassages: corpus.train.length, passageIdsSha256: hashIds(corpus.train.map((d) => d.id)) },
    recipe,
    seed: recipe.seed,
    parent: null,
    method: { id: 'train', guarantee: 'none', params: {} },
    timings: { wallSeconds: r?.seconds ?? 0 },
    metrics: r ? { finalLoss: r.losses.at(-1), lossFirst: r.losses[0] } : {},
    backend: backendDescription(),
    createdAt: new Date().toISOString(),
  };
}

/** Train an original model from scratch and (optionally) save it. */
export async function lmTrainWorkflow(o: { config: string | LmConfig; corpus?: Partial<CorpusOptions>; recipe?: Partial<LmRecipe>; out?: string; backend: string; onStep?: (s: number, l: number) => void }): Promise<{ model: LanguageModel; manifest: Omit<LmManifest, 'files' | 'modelHash'> & Partial<LmManifest>; corpus: LmCorpus }> {
  const config = typeof o.config === 'string' ? lmConfig(o.config) : o.config;
  const corpus = corpusFor(config, o.corpus);
  const recipe = parseRecipe(o.recipe ?? {});
  const model = initModel(config, recipe.seed);
  const manifest = trainManifest(config, corpus, recipe, trainLm(model, corpus.train, recipe, o.onStep));
  const saved = o.out ? await saveLm(o.out, model, manifest) : manifest;
  return { model, manifest: saved, corpus };
}

/**
 * The exact reference without the original: what `lmForget({ method: 'retrain' })` returns for
 * a model trained by {@link lmTrainWorkflow} with the same config, corpus and recipe (same
 * weights), computed from the training configuration alone so that it can run in parallel with
 * the original's training. Its manifest's `parent` is null (the original may not exist yet).
 */
export async function lmRetrainWorkflow(o: { config: string | LmConfig; corpus?: Partial<CorpusOptions>; recipe?: Partial<LmRecipe>; source: string | string[]; out?: string; onStep?: (s: number, l: number) => void }): Promise<{ model: LanguageModel; manifest: Omit<LmManifest, 'files' | 'modelHash'> & Partial<LmManifest>; seconds: number }> {
  const config = typeof o.config === 'string' ? lmConfig(o.config) : o.config;
  const corpus = corpusFor(config, o.corpus);
  const recipe = parseRecipe(o.recipe ?? {});
  const untrained = initModel(config, recipe.seed); // retrain reads only its config
  try {
    return await lmForget({ model: untrained, manifest: trainManifest(config, corpus, recipe), corpus, source: o.source, method: 'retrain', out: o.out, onStep: o.onStep, parent: null });
  } finally {
    disposeModel(untrained);
  }
}

/**
 * Forget `source` (one source, or several in one request) with `method` (or `retrain`) starting
 * from a model; saves when `out` is given.
 * @throws UnlearnError SUBJECT_NOT_FOUND when a source is not in the model's lineage;
 *   INVALID_PARAMS when they have no passages or are all that is left of the lineage;
 *   UNKNOWN_METHOD / INVALID_PARAMS for the method.
 */
export async function lmForget(o: { model: LanguageModel; manifest: LmManifest | Omit<LmManifest, 'files' | 'modelHash'>; corpus: LmCorpus; source: string | string[]; method: string; params?: Record<string, unknown>; seed?: number; out?: string; onStep?: (s: number, l: number, model?: LanguageModel) => void; /** Overrides the parent hash (default: the input model's). */ parent?: string | null }): Promise<{ model: LanguageModel; manifest: Omit<LmManifest, 'files' | 'modelHash'> & Partial<LmManifest>; seconds: number; notes: string[] }> {
  const removedBefore = o.manifest.removed?.sources ?? [];
  const sources = Array.isArray(o.source) ? o.source : [o.source];
  if (sources.length === 0) throw new UnlearnError('INVALID_PARAMS', 'no source to forget', 'name at least one source');
  for (const src of sources) {
    if (!o.manifest.lineage.sources.includes(src) || removedBefore.includes(src)) {
      throw new UnlearnError('SUBJECT_NOT_FOUND', `source "${src}" is not in the model's training lineage`, `trained on: ${o.manifest.lineage.sources.filter((s) => !removedBefore.includes(s)).join(', ')}`);
    }
  }
  const method = getLmMethod(o.method);
  const params = parseLmParams(method, o.method === 'retrain' ? { ...o.manifest.recipe, ...(o.params ?? {}) } : o.params);
  const removed = [...removedBefore, ...sources];
  const docs = lineageDocs(o.corpus, removedBefore);
  const forget = docs.filter((d) => sources.includes(d.source));
  const retain = docs.filter((d) => !sources.includes(d.source));
  const label = sources.join(', ');
  if (forget.length === 0) throw new UnlearnError('INVALID_PARAMS', `source "${label}" has no training passages: there is nothing to unlearn`, 'pick a source the model was trained on');
  if (retain.length === 0) throw new UnlearnError('INVALID_PARAMS', `source "${label}" is the whole training set: no retain set is left to unlearn against`, 'train a new model from scratch on other sources instead');
  const seed = o.seed ?? o.manifest.seed;
  const t0 = performance.now();
  const res = await method.run(o.model, params, { forget, retain, seed, onStep: o.onStep });
  const seconds = (performance.now() - t0) / 1000;
  /** Lines the method wants a person to read (e.g. that generic-labels found no anchor dictionary). */
  const notes = (res.details?.notes as string[] | undefined) ?? [];
  const removedIds = o.corpus.train.filter((d) => removed.includes(d.source)).map((d) => d.id);
  const manifest: Omit<LmManifest, 'files' | 'modelHash'> = {
    ...o.manifest,
    lineage: { sources: o.manifest.lineage.sources.filter((s) => !removed.includes(s)), numPassages: retain.length, passageIdsSha256: hashIds(retain.map((d) => d.id)) },
    parent: o.parent !== undefined ? o.parent : 'modelHash' in o.manifest && o.manifest.modelHash ? o.manifest.modelHash : lmHash(o.model),
    method: { id: method.id, guarantee: method.guarantee, params },
    // retrain runs the recipe merged with --params: record the recipe actually used.
    recipe: method.id === 'retrain' ? parseRecipe(params as Partial<LmRecipe>) : o.manifest.recipe,
    removed: { sources: removed, numPassages: removedIds.length, passageIdsSha256: hashIds(removedIds) },
    seed,
    timings: { wallSeconds: seconds },
    metrics: {
      ...(res.details?.losses ? { lossLast: (res.details.losses as number[]).at(-1) } : {}),
      ...(res.details?.anchors ? { anchors: res.details.anchors } : {}),
      ...(notes.length ? { notes } : {}),
    },
    backend: backendDescription(),
    createdAt: new Date().toISOString(),
  };
  delete (manifest as Partial<LmManifest>).files;
  delete (manifest as Partial<LmManifest>).modelHash;
  const saved = o.out ? await saveLm(o.out, res.model, manifest) : manifest;
  return { model: res.model, manifest: saved, seconds, notes };
}

/** Load a model directory and its corpus (fingerprint-checked). */
export async function openLm(dir: string): Promise<{ model: LanguageModel; manifest: LmManifest; corpus: LmCorpus }> {
  const { model, manifest } = await loadLm(dir);
  return { model, manifest, corpus: corpusOf(manifest) };
}

/**
 * Audit a model for a forgotten source; with a reference (retrained) model, PrivLeak is reported
 * relative to the reference's loss-attack AUC.
 */
export function lmAudit(o: { model: LanguageModel; corpus: LmCorpus; source: string | string[]; probes?: KnowledgeProbe[]; options?: Partial<AuditOptions>; reference?: LanguageModel }): { audit: LmAudit; reference?: LmAudit } {
  const probes = o.probes ?? defaultProbes();
  const ref = o.reference ? auditLm(o.reference, o.corpus, o.source, probes, o.options) : undefined;
  const audit = auditLm(o.model, o.corpus, o.source, probes, o.options, ref?.forget.mia.byStat);
  return { audit, reference: ref ? withPrivLeak(ref, ref.forget.mia.byStat) : undefined };
}
