/**
 * Unlearn — the library API. The CLI (src/cli) is a thin layer over these functions.
 *
 * Typical flow: `initEngine()` → `loadDataset('emails')` → `fitFromScratch(...)` → `saveModel` →
 * `unlearn(stored, split, { subjects: [...] }, 'scrub')` → `evaluateModel` / `compareMethods`.
 *
 * Your own data and model: `importTable({ name, file, idCol, subjectCol, labelCol })` → `loadDataset(name)`;
 * `importModelWorkflow({ tfjs | safetensors, dataset, out })` → `forgetWorkflow(...)` →
 * `exportModelWorkflow({ modelDir, format: 'safetensors', out })`.
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
export { fingerprintSplit, hashIds, subset, validateDataset, featureSize } from './data/dataset.js';
export { importTable, type ImportTableOptions } from './data/import/importTable.js';
export { dataRoot, listImported, readSchema, type DatasetSchema, type ColumnSchema } from './data/import/store.js';
export { openTable, type TableFormat } from './data/import/sources.js';
export { readSafetensors, writeSafetensors, type NamedTensor, type Safetensors } from './models/safetensors.js';
export { toTorch, fromTorch, modelFromTorch, canonicalNames, type FlattenOrder } from './models/torch.js';
export { recogniseModel, adoptModel } from './models/architecture.js';
export { loadTfjsFiles } from './models/tfjsFiles.js';
export { importModelWorkflow, exportModelWorkflow, TorchSpecSchema, type ImportModelOptions, type ExportModelOptions, type TorchSpec } from './workflows/modelTransfer.js';
export {
  CERTIFIED_FORMAT,
  trainCertifiedWorkflow,
  fitCertified,
  removeFromCertified,
  certifiedPredictor,
  trainCertifiedLogistic,
  removeCertified,
  CertifiedParamsSchema,
  fitRidge,
  removeRidge,
  RidgeParamsSchema,
  loadCertified,
  saveCertified,
  type CertifiedTrainOptions,
  type CertifiedLogistic,
  type CertifiedParams,
  type CertifiedManifest,
  type Certificate,
  type RidgeModel,
} from './unlearn/certified/index.js';
export { designFrom, type Design } from './unlearn/certified/linalg.js';
