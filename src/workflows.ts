/**
 * The user-level workflows behind the CLI commands (train, forget, eval, demo), as library
 * functions: each loads what it needs, runs, and writes its outputs atomically.
 */
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataSplit } from './data/dataset.js';
import { SubjectIndex } from './data/pseudonym.js';
import { loadDataset, loadSplitFor } from './data/registry.js';
import { backendDescription, initEngine, type BackendName } from './engine/backend.js';
import { UnlearnError } from './errors.js';
import { raCollapseWarning } from './eval/collapse.js';
import { compareMethods, type Comparison, type MethodRun } from './workflows/compare.js';
import { evaluateModel, type ModelEvaluation } from './eval/evaluate.js';
import { accuracyOf, predict } from './train/predict.js';
import { range } from './train/batches.js';
import { ensureDir, loadModel, saveModel, writeFileSynced } from './models/io.js';
import { claimOutDir, commitStaging, releaseStaging, stagingPath } from './models/staging.js';
import type { ModelManifest } from './models/manifest.js';
import type { ModelSpec } from './models/spec.js';
import { formatHandlerFor, type EvalOutcome, type ForgetOutcome, type ForgetRequest } from './models/formats.js';
import { comparisonMarkdown, comparisonTable, type ReportContext } from './report/comparisonReport.js';
import { fitFromScratch, specFor } from './train/fit.js';
import type { TrainRecipe } from './train/recipe.js';
import { forgetSetOfVersion, type ForgetSelector } from './data/forgetSet.js';
import { selectForgetSet, unlearn } from './unlearn/index.js';
// The demo's SISA and certified rows.
import { appendSisaRow } from './workflows/sisaDemo.js';
import { appendCertifiedRows } from './workflows/certifiedDemo.js';
// Register the SISA (unlearn-sisa/1) and certified (unlearn-certified/1) model formats for forget/eval.
import './workflows/sisaFormat.js';
import './workflows/certifiedFormat.js';

/** Write a text file atomically (temp file in the same directory, then rename). */
export async function writeTextAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFileSynced(tmp, text);
  await rename(tmp, path);
}

/**
 * Refuse an output path that would destroy something, and claim it for this run: see
 * {@link claimOutDir} (real-path comparison with the inputs, `--force` only over an empty directory
 * or an output of this project, a lock against concurrent runs).
 */
export const checkOutDir = claimOutDir;

/** Options of {@link trainWorkflow}. */
export interface TrainWorkflowOptions {
  dataset: string;
  dataOptions?: Record<string, unknown>;
  kind: ModelSpec['kind'];
  hidden?: number[];
  recipe: Partial<TrainRecipe>;
  out: string;
  quiet?: boolean;
  /** Write a checkpoint after every epoch into `<checkpointDir>/epoch-<k>`. */
  checkpointDir?: string;
}

/** Load data, train θ_o from scratch, save it to `out`; returns the saved manifest and test accuracy. */
export async function trainWorkflow(o: TrainWorkflowOptions): Promise<{ manifest: ModelManifest; testAccuracy: number }> {
  // A --checkpoint-dir that is a file (or cannot be created) fails now, not after the first epoch.
  if (o.checkpointDir) await ensureDir(o.checkpointDir);
  // A CNN needs image-shaped input: ask image datasets for [h, w, c] unless told otherwise.
  const dataOptions = { ...(o.kind === 'cnn' && o.dataset !== 'emails' ? { image: true } : {}), ...o.dataOptions };
  const split = await loadDataset(o.dataset, dataOptions);
  const fit = await fitFromScratch(split, specFor(split, o.kind, { hidden: o.hidden }), o.recipe, { quiet: o.quiet, checkpointDir: o.checkpointDir });
  const testAccuracy = accuracyOf(predict(fit.model, split.test, range(split.test.labels.length)));
  fit.manifest.metrics = { ...fit.manifest.metrics, TA: testAccuracy };
  const manifest = await saveModel(o.out, fit.model, fit.manifest);
  fit.model.dispose();
  return { manifest, testAccuracy };
}

/** Options of {@link forgetWorkflow}: a deletion request on a model directory. */
export type ForgetWorkflowOptions = ForgetRequest;

/**
 * Honour a deletion request: load the model and its data, resolve the forget set (subjects by
 * address or pseudonym), run the method, evaluate, save the new version to `out`.
 */
export async function forgetWorkflow(o: ForgetWorkflowOptions): Promise<ForgetOutcome> {
  const handler = await formatHandlerFor(o.modelDir);
  if (handler) return handler.forget(o);
  if (!o.method) throw new UnlearnError('INVALID_ARGS', 'no unlearning method given', 'pass --method (see `unlearn methods`)');
  const stored = await loadModel(o.modelDir);
  const split = await loadSplitFor(stored.manifest.dataset);
  const subjectIndex = SubjectIndex.forSplit(split);
  const res = await unlearn(stored, split, o.selector, o.method, o.params ?? {}, {
    seed: o.seed,
    quiet: o.quiet,
    resolveSubject: (s) => subjectIndex.resolve(s),
  });
  const evaluation = evaluateModel(res.model, split, res.forget, res.manifest.seed);
  res.manifest.metrics = { RA: evaluation.RA, FA: evaluation.FA, TA: evaluation.TA, miaAuc: evaluation.mia.auc };
  const originalRa = res.forget.retainIdx.length ? accuracyOf(predict(stored.model, split.train, res.forget.retainIdx)) : NaN;
  const notes = [raCollapseWarning(o.method, evaluation.RA, originalRa)].filter((w): w is string => Boolean(w));
  if (notes.length) res.manifest.extra = { ...res.manifest.extra, warnings: notes };
  const manifest = await saveModel(o.out, res.model, res.manifest);
  res.model.dispose();
  stored.model.dispose();
  return { manifest, evaluation, forget: res.forget, subjectIndex, notes };
}


/** Evaluate a stored model (and optionally a reference, e.g. the retrained model) on a forget set. */
export async function evalWorkflow(o: { modelDir: string; referenceDir?: string; selector?: ForgetSelector }): Promise<EvalOutcome> {
  const handler = await formatHandlerFor(o.modelDir);
  if (handler) return handler.evaluate(o);
  const stored = await loadModel(o.modelDir);
  const split = await loadSplitFor(stored.manifest.dataset);
  const forget = forgetSetOfVersion(split.train, stored.manifest, o.selector, (s) => SubjectIndex.forSplit(split).resolve(s));
  const model = evaluateModel(stored.model, split, forget, stored.manifest.seed);
  let reference: ModelEvaluation | undefined;
  if (o.referenceDir) {
    const ref = await loadModel(o.referenceDir);
    if (ref.manifest.dataset.fingerprint !== stored.manifest.dataset.fingerprint) {
      throw new UnlearnError('DATASET_INVALID', `reference ${o.referenceDir} was trained on other data (${ref.manifest.dataset.name}) than ${o.modelDir} (${stored.manifest.dataset.name})`, 'compare models of the same dataset and split');
    }
    reference = evaluateModel(ref.model, split, forget, stored.manifest.seed);
    ref.model.dispose();
  }
  stored.model.dispose();
  return { model, reference, manifest: stored.manifest };
}

/** Options of {@link runDemo}. */
export interface DemoOptions {
  out: string;
  seed?: number;
  /** Sender to forget (address or pseudonym); default: see {@link defaultDemoSubject}. */
  subject?: string;
  methods?: MethodRun[];
  /** Show real addresses instead of pseudonyms (personal data). */
  revealSubjects?: boolean;
  quiet?: boolean;
  backend?: BackendName | 'auto';
  log?: (line: string) => void;
}

/** Methods and params of the demo (approximate methods tuned to the demo's Adam-trained MLP). */
export const DEMO_METHODS: MethodRun[] = [
  { id: 'retrain' },
  { id: 'finetune', params: { epochs: 2 } },
  { id: 'neggrad-plus', params: { epochs: 2, alpha: 0.99 } },
  { id: 'scrub', params: { epochs: 3, msteps: 2 } },
];

/** The demo's model and recipe. */
export const DEMO_MODEL = { kind: 'mlp' as const, hidden: [64] };
export const DEMO_RECIPE: Partial<TrainRecipe> = { optimizer: 'adam', learningRate: 1e-3, epochs: 6, batchSize: 64 };

/**
 * The default deletion request of the demo: the sender with the most training emails among those
 * holding at most 5% of the training set (a single RSS-feed address with ~10% of the corpus is not
 * a person). Deterministic for a split.
 */
export function defaultDemoSubject(split: DataSplit): string {
  const counts = new Map<string, number>();
  for (const s of split.train.subjects) counts.set(s, (counts.get(s) ?? 0) + 1);
  const cap = 0.05 * split.train.labels.length;
  return [...counts].filter(([, c]) => c <= cap).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0][0];
}

/** Result of {@link runDemo}. */
export interface DemoResult {
  comparison: Comparison;
  table: string;
  reportJson: string;
  reportMd: string;
}

/**
 * The end-to-end demo on real data: load the SpamAssassin emails, train a spam filter (θ_o),
 * receive a deletion request for one sender, run retrain, finetune, NegGrad+ and SCRUB, evaluate
 * every model against the retrained one, and write `report.json` + `report.md` (and every model
 * directory under `models/`) into `out`.
 */
export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const log = o.log ?? (() => undefined);
  await initEngine(o.backend ?? 'auto');
  const backend = backendDescription(); // e.g. 'wasm (openblas …, 2 threads)' when the native kernels run
  // Everything is written into a staging directory that becomes `out` in one move at the end: a
  // failed demo leaves nothing behind, and an existing `out` is replaced only under a --force claim.
  const stage = stagingPath(o.out);
  await ensureDir(stage);
  try {
    const r = await demoInto(stage, o, backend, log);
    await commitStaging(stage, o.out);
    return r;
  } catch (e) {
    await rm(stage, { recursive: true, force: true });
    releaseStaging(stage);
    throw e;
  }
}

/** The demo's work, writing into `dir` (the staging directory of {@link runDemo}). */
async function demoInto(dir: string, o: DemoOptions, backend: string, log: (line: string) => void): Promise<DemoResult> {
  const seed = o.seed ?? 0;
  log(`backend: ${backend}`);
  const t0 = performance.now();
  const split = await loadDataset('emails', { seed });
  log(`loaded emails: ${split.train.labels.length} train / ${split.test.labels.length} test in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const subjects = SubjectIndex.forSplit(split);
  // Resolve the deletion request before any training, so a bad --subject fails at once.
  const subject = o.subject ? subjects.resolve(o.subject) : defaultDemoSubject(split);
  if (!split.train.subjects.includes(subject)) {
    throw new UnlearnError('SUBJECT_NOT_FOUND', `sender ${subjects.display(subject, o.revealSubjects)} has no email in the training set`, 'pick a sender from `unlearn subjects --dataset emails`');
  }
  const fit = await fitFromScratch(split, specFor(split, DEMO_MODEL.kind, { hidden: DEMO_MODEL.hidden }), { ...DEMO_RECIPE, seed }, { quiet: o.quiet });
  const original = { model: fit.model, manifest: await saveModel(join(dir, 'models', 'original'), fit.model, fit.manifest) };
  log(`trained the original model in ${fit.seconds.toFixed(1)} s`);
  const shown = subjects.display(subject, o.revealSubjects);
  const forget = selectForgetSet(split.train, original.manifest.lineage.trainIds, { subjects: [subject] });
  log(`deletion request: sender ${shown} (${forget.forgetIdx.length} training emails)`);
  const comparison = await compareMethods(original, split, forget, o.methods ?? DEMO_METHODS, {
    seed,
    quiet: o.quiet,
    saveDir: join(dir, 'models'),
    request: { subjects: [subjects.display(subject)] },
    onMethod: (id) => log(`running ${id}…`),
  });
  log('running sisa…');
  await appendSisaRow(comparison, {
    split,
    spec: original.manifest.spec,
    recipe: original.manifest.recipe,
    forget,
    dir: join(dir, 'models'),
    seed,
    request: { subjects: [subjects.display(subject)] },
    displaySubject: (s) => subjects.display(s),
    log,
  });
  log('running certified…');
  const certifiedNotes = await appendCertifiedRows(comparison, { seed, forgetIds: forget.forgetIds, dir: join(dir, 'models'), log });
  const ctx: ReportContext = {
    title: 'Unlearn demo: forget one sender from a spam filter',
    dataset: { name: split.name, fingerprint: split.fingerprint, train: split.train.labels.length, test: split.test.labels.length },
    request: { description: `every email from sender ${shown}`, forgetSize: forget.forgetIdx.length, retainSize: forget.retainIdx.length, subjects: [shown] },
    original: { modelHash: original.manifest.modelHash, spec: original.manifest.spec, recipe: original.manifest.recipe, trainSeconds: fit.seconds },
    seed,
    backend,
    notes: [...comparison.warnings, ...certifiedNotes],
  };
  for (const w of comparison.warnings) log(w);
  const reportMd = comparisonMarkdown(ctx, comparison);
  const reportJson = JSON.stringify({ ...ctx, rows: comparison.rows, retrainSeconds: comparison.retrainSeconds, forgetIds: forget.forgetIds }, null, 1) + '\n';
  await writeTextAtomic(join(dir, 'report.md'), reportMd);
  await writeTextAtomic(join(dir, 'report.json'), reportJson);
  fit.model.dispose();
  return { comparison, table: comparisonTable(comparison), reportJson, reportMd };
}
