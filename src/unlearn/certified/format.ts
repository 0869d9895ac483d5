/**
 * Certified models as model versions on disk: training (`unlearn train --certified`,
 * `--model ridge`), featurising, removal from a model in memory. The `unlearn-certified/1` format
 * handler (`unlearn forget` / `unlearn eval` on such a directory) is src/workflows/certifiedFormat.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hashIds, type DataSplit, type Dataset } from '../../data/dataset.js';
import { loadDataset, loadSplitFor } from '../../data/registry.js';
import { UnlearnError } from '../../errors.js';
import { accuracyOf, type Predictions, type Predictor } from '../../train/predict.js';
import { loadModel } from '../../models/io.js';
import { extractFeatures, penultimateExtractor } from './head.js';
import { designFrom } from './linalg.js';
import { logisticLogits, trainCertifiedLogistic, type CertifiedData, type CertifiedLogistic } from './logistic.js';
import { removeCertified } from './removal.js';
import { fitRidge, removeRidge, ridgePredict, type RidgeModel } from './ridge.js';
import { loadCertified, guaranteeOf, logregCertificate, saveCertified, type CertifiedManifest, type CertifiedModel, type StoredCertified } from './store.js';

/** Softmax cross-entropy predictions from per-example logits (n × K, float64). */
function fromLogits(logits: Float64Array[], labels: Int32Array): Predictions {
  const n = logits.length;
  const out: Predictions = { loss: new Float64Array(n), predicted: new Int32Array(n), labels: Int32Array.from(labels), pTrue: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    const z = logits[i];
    let mx = -Infinity;
    let arg = 0;
    for (let k = 0; k < z.length; k++) if (z[k] > mx) (mx = z[k]), (arg = k);
    let se = 0;
    for (let k = 0; k < z.length; k++) se += Math.exp(z[k] - mx);
    const loss = Math.log(se) + mx - z[labels[i]];
    out.loss[i] = loss;
    out.predicted[i] = arg;
    out.pTrue[i] = Math.exp(-loss);
  }
  return out;
}

/**
 * A {@link Predictor} for a certified model on (already featurised) examples.
 * - logreg: softmax cross-entropy of the logits of {@link logisticLogits} (binary: the logistic
 *   loss; one-vs-rest: the softmax of the K scores), argmax prediction.
 * - ridge: loss = ½(ŷ − y)² in squared target units, class = ŷ ≥ `labelThreshold` (the loader's
 *   `meta.labelThreshold`, in target units; NaN accuracies without one), pTrue = NaN.
 */
export function certifiedPredictor(model: CertifiedModel, labelThreshold?: number): Predictor {
  return (ds: Dataset, idx: Int32Array) => {
    const f = ds.shape.reduce((a, b) => a * b, 1);
    const row = (i: number) => ds.features.subarray(i * f, (i + 1) * f);
    if (model.kind === 'logreg') return fromLogits(Array.from(idx, (i) => logisticLogits(model, row(i))), Int32Array.from(idx, (i) => ds.labels[i]));
    if (!ds.targets) throw new UnlearnError('DATASET_INVALID', 'ridge regression needs a dataset with regression targets', 'use a regression dataset such as cps-wages');
    const n = idx.length;
    const out: Predictions = { loss: new Float64Array(n), predicted: new Int32Array(n), labels: Int32Array.from(idx, (i) => ds.labels[i]), pTrue: new Float64Array(n).fill(NaN) };
    idx.forEach((i, k) => {
      const yhat = ridgePredict(model, row(i));
      out.loss[k] = 0.5 * (yhat - ds.targets![i]) ** 2;
      out.predicted[k] = labelThreshold === undefined ? -1 : yhat >= labelThreshold ? 1 : 0;
    });
    return out;
  };
}

/** Rebuild a frozen extractor from stored LayersModel files. */
async function extractorFrom(files: { modelJson: Uint8Array; weights: Uint8Array }): Promise<tfl.LayersModel> {
  const json = JSON.parse(new TextDecoder().decode(files.modelJson)) as { modelTopology: object; weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] };
  const w = files.weights;
  const net = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData: w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength) as ArrayBuffer }));
  return penultimateExtractor(net);
}

/** The split with its features replaced by the extractor's (L2-normalised) penultimate features. */
export function featurise(split: DataSplit, extractor: tfl.LayersModel): DataSplit {
  return { ...split, train: extractFeatures(extractor, split.train), test: extractFeatures(extractor, split.test) };
}

/** Indices into split.train of the lineage ids, in train order. @throws UnlearnError DATASET_INVALID when an id is not in the split. */
export function lineageRows(split: DataSplit, ids: string[]): Int32Array {
  const want = new Set(ids);
  const rows: number[] = [];
  split.train.ids.forEach((id, i) => want.has(id) && rows.push(i));
  if (rows.length !== want.size) throw new UnlearnError('DATASET_INVALID', `${want.size - rows.length} lineage ids are not in dataset ${split.name}`, 'restore the data the model was trained on');
  return Int32Array.from(rows);
}

/** Options of {@link trainCertifiedWorkflow}. */
export interface CertifiedTrainOptions {
  dataset: string;
  dataOptions?: Record<string, unknown>;
  /** `logreg`: certified L2 logistic regression; `ridge`: ridge regression with exact removal. */
  kind: 'logreg' | 'ridge';
  /** Params of {@link CertifiedParamsSchema} (logreg) or {@link RidgeParamsSchema} (ridge). */
  params: Record<string, unknown>;
  seed?: number;
  /** Train a head on the penultimate features of this stored network (its dataset is used). */
  featuresFrom?: string;
  out: string;
}

/** Largest feature count (incl. bias) certified training accepts: a 4,097² float64 Hessian is 128 MiB. */
export const MAX_CERTIFIED_DIM = 4097;

/** Train a certified model on the whole train side and save it (format `unlearn-certified/1`). */
export async function trainCertifiedWorkflow(o: CertifiedTrainOptions): Promise<CertifiedManifest> {
  const seed = o.seed ?? 0;
  let split: DataSplit;
  let extractorFiles: { modelJson: Uint8Array; weights: Uint8Array } | undefined;
  let features: CertifiedManifest['features'];
  if (o.featuresFrom) {
    const src = await loadModel(o.featuresFrom);
    if (o.dataset && o.dataset !== src.manifest.dataset.name) {
      throw new UnlearnError('INVALID_ARGS', `--features-from ${o.featuresFrom} is a network trained on ${src.manifest.dataset.name}, not ${o.dataset}`, `pass --dataset ${src.manifest.dataset.name}, or a network trained on ${o.dataset}`);
    }
    split = await loadDataset(src.manifest.dataset.name, src.manifest.dataset.options);
    if (split.fingerprint !== src.manifest.dataset.fingerprint) throw new UnlearnError('DATASET_INVALID', `the network in ${o.featuresFrom} was trained on other data`, 'restore its dataset');
    extractorFiles = { modelJson: await readFile(join(o.featuresFrom, 'model.json')), weights: await readFile(join(o.featuresFrom, 'weights.bin')) };
    split = featurise(split, penultimateExtractor(src.model));
    src.model.dispose();
    features = { from: 'penultimate', sourceModelHash: src.manifest.modelHash, normalised: true };
  } else {
    split = await loadDataset(o.dataset, o.dataOptions ?? {});
  }
  const t0 = performance.now();
  const rows = Int32Array.from({ length: split.train.labels.length }, (_, i) => i);
  const d = split.train.shape.reduce((a, b) => a * b, 1) + 1;
  if (d > MAX_CERTIFIED_DIM) {
    throw new UnlearnError('INVALID_PARAMS', `${d} features: the d×d Hessian would need ${((8 * d * d) / 2 ** 30).toFixed(1)} GiB and O(d³) time`, `use at most ${MAX_CERTIFIED_DIM} features, e.g. --data-option dim=1024 for emails, or --features-from a network`);
  }
  const model = fitCertified(split, rows, o.kind, o.params, seed);
  const seconds = (performance.now() - t0) / 1000;
  const predict = certifiedPredictor(model, split.meta.labelThreshold as number | undefined);
  const tr = predict(split.train, rows);
  const te = predict(split.test, Int32Array.from({ length: split.test.labels.length }, (_, i) => i));
  const meanLoss = (p: Predictions) => p.loss.reduce((a, b) => a + b, 0) / Math.max(1, p.loss.length);
  const ids = split.train.ids;
  return saveCertified(
    o.out,
    model,
    {
      dataset: { name: split.name, options: split.options, fingerprint: split.fingerprint },
      lineage: { trainIds: [...ids], trainIdsSha256: hashIds(ids), numExamples: ids.length, numSubjects: new Set(split.train.subjects).size },
      seed,
      parent: null,
      method: { id: model.kind === 'ridge' ? 'ridge-fit' : 'certified-train', guarantee: model.kind === 'ridge' ? 'exact' : guaranteeOf(model), params: { ...model.params } },
      timings: { wallSeconds: seconds },
      metrics: { RA: accuracyOf(tr), TA: accuracyOf(te), trainLoss: meanLoss(tr), testLoss: meanLoss(te), ...(model.kind === 'ridge' && { note: RIDGE_NOTE }) },
      features,
      certificate: model.kind === 'ridge' ? { guarantee: 'exact', residualBound: 0, retrained: false } : logregCertificate(model, 0, false),
      backend: tf.getBackend(),
      createdAt: new Date().toISOString(),
    },
    extractorFiles,
  );
}

/** Fit a certified model of `kind` on rows of split.train. */
export function fitCertified(split: DataSplit, rows: Int32Array, kind: 'logreg' | 'ridge', params: Record<string, unknown>, seed: number): CertifiedModel {
  const bias = (params.bias as boolean | undefined) ?? true;
  const X = designFrom(split.train, rows, bias);
  if (kind === 'ridge') {
    if (!split.train.targets) throw new UnlearnError('INVALID_PARAMS', `dataset ${split.name} has no regression targets`, 'ridge needs a regression dataset, e.g. --dataset cps-wages');
    return fitRidge({ X, y: Float64Array.from(rows, (i) => split.train.targets![i]), active: new Uint8Array(rows.length).fill(1) }, params);
  }
  const data: CertifiedData = { X, labels: Int32Array.from(rows, (i) => split.train.labels[i]), numClasses: split.train.numClasses, active: new Uint8Array(rows.length).fill(1) };
  return trainCertifiedLogistic(data, params, seed);
}

/** The note certified ridge versions carry in their metrics (what their loss and accuracies mean). */
export const RIDGE_NOTE = 'loss = ½(ŷ − y)² (squared target units); accuracies of ŷ thresholded at the dataset label threshold';

/** A loaded certified version with its (featurised) split. */
export async function openCertified(dir: string): Promise<{ stored: StoredCertified; split: DataSplit }> {
  const stored = await loadCertified(dir);
  const m = stored.manifest;
  const extractor = stored.extractor;
  const split = await loadSplitFor(m.dataset, extractor ? async (s) => featurise(s, await extractorFrom(extractor)) : undefined);
  return { stored, split };
}

/**
 * Remove a forget set from a certified model held in memory (one Newton step or a budget-forced
 * retrain for logreg; exact downdates for ridge). `rows` = the model's current lineage (indices
 * into split.train, train order); `forget` indices must be among them.
 */
export function removeFromCertified(model: CertifiedModel, split: DataSplit, rows: Int32Array, forgetIdx: Int32Array, seed: number) {
  const pos = new Map(Array.from(rows, (r, k) => [r, k]));
  const local = Int32Array.from(forgetIdx, (i) => pos.get(i)!);
  const X = designFrom(split.train, rows, model.bias);
  const active = new Uint8Array(rows.length).fill(1);
  if (model.kind === 'ridge') {
    const r = removeRidge(model, { X, y: Float64Array.from(rows, (i) => split.train.targets![i]), active }, local);
    const notes = [`exact removal: ${r.downdates} Sherman–Morrison downdate(s)${r.recomputed ? '; inverse recomputed (ill-conditioned downdate, 1 − leverage < minPivot)' : ''}`];
    return { model: r.model as CertifiedModel, seconds: r.seconds, notes, certificate: { guarantee: 'exact' as const, residualBound: 0, retrained: false }, methodId: 'ridge-exact', guarantee: 'exact' as const };
  }
  const data: CertifiedData = { X, labels: Int32Array.from(rows, (i) => split.train.labels[i]), numClasses: split.train.numClasses, active };
  const r = removeCertified(model, data, local, seed);
  const m = r.model as CertifiedLogistic;
  const left = m.budget.total - m.budget.used;
  const guarantee = guaranteeOf(m);
  const notes = guarantee === 'exact'
    ? ['σ = 0: no loss-perturbation noise and no removal budget, so the removal retrained the model on the remaining data from scratch (exact)']
    : r.retrained
    ? [`removal budget exhausted (step bound ${r.bound.toExponential(3)} > budget left ${(model.budget.total - model.budget.used).toExponential(3)}): retrained from scratch on the remaining data with fresh noise; budget reset, left ${left.toExponential(3)} of ${m.budget.total.toExponential(3)}`]
    : [`certified (ε = ${m.params.epsilon}, δ = ${m.params.delta}) Newton step: residual bound ${r.bound.toExponential(3)}; budget left ${left.toExponential(3)} of ${m.budget.total.toExponential(3)} (${((100 * left) / m.budget.total).toFixed(1)}%)`];
  return { model: m as CertifiedModel, seconds: r.seconds, notes, certificate: logregCertificate(m, r.bound, r.retrained), methodId: r.retrained ? 'certified-retrain' : 'certified-newton', guarantee };
}

export type { RidgeModel };
