/**
 * Unlearn — the library API. The CLI (src/cli) is a thin layer over these functions.
 *
 * Typical flow: `initEngine()` → `loadDataset('emails')` → `fitFromScratch(...)` → `saveModel` →
 * `unlearn(stored, split, { subjects: [...] }, 'scrub')` → `evaluateModel` / `compareMethods`.
 */
export { initEngine, type BackendName } from './engine/backend.js';
export { Rng, deriveSeed } from './engine/rng.js';
export { UnlearnError, EXIT_CODES, type ErrorCode } from './errors.js';
export type { Dataset, DataSplit } from './data/dataset.js';
export { loadDataset, listDatasets } from './data/registry.js';
export { SubjectIndex, pseudonymise } from './data/pseudonym.js';
export { ModelSpecSchema, type ModelSpec } from './models/spec.js';
export { buildModel, cloneModel } from './models/build.js';
export { saveModel, loadModel, type StoredModel } from './models/io.js';
export type { ModelManifest, Guarantee } from './models/manifest.js';
export { TrainRecipeSchema, type TrainRecipe } from './train/recipe.js';
export { trainModel } from './train/train.js';
export { fitFromScratch, specFor } from './train/fit.js';
export { unlearn, getMethod, listMethods, registerMethod, selectForgetSet, type ForgetSelector, type ForgetSet, type UnlearningMethod } from './unlearn/index.js';
export { evaluateModel, type ModelEvaluation } from './eval/evaluate.js';
export { compareMethods, type Comparison, type ComparisonRow } from './workflows/compare.js';
export { lossMembershipInference } from './eval/lossMia.js';
export { auc, rocCurve, tprAtFpr } from './eval/roc.js';
export { runDemo, trainWorkflow, forgetWorkflow, evalWorkflow } from './workflows.js';
export { trainSisa, sisaForget, pruneCheckpoints, ensemblePredictor, partitionSisa, readSisaManifest, sisaTrainWorkflow, SISA_FORMAT, type SisaManifest, type SisaOptions, type Aggregate } from './unlearn/sisa/index.js';
export * as lm from './lm/index.js';
