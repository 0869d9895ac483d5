import type { TaskPool } from '../engine/workerPool.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnlearnError } from '../errors.js';
import type { SubjectIndex } from '../data/pseudonym.js';
import type { ModelEvaluation } from '../eval/evaluate.js';
import type { ForgetSelector, ForgetSet } from '../data/forgetSet.js';
import type { ModelManifest } from './manifest.js';

/**
 * The fields every model version's manifest shares, whatever its format (a single network, a SISA
 * ensemble, a certified convex model): enough for the CLI to report a new version.
 */
export type VersionManifest = Pick<ModelManifest, 'modelHash' | 'parent' | 'method' | 'timings' | 'metrics' | 'dataset' | 'lineage' | 'seed'> & {
  format: string;
  removed?: ModelManifest['removed'];
};

/** Inputs of a deletion request on a stored model directory. */
export interface ForgetRequest {
  modelDir: string;
  selector: ForgetSelector;
  /** Method id; formats with a single removal procedure (SISA, certified) may ignore it or accept only their own. */
  method?: string;
  params?: Record<string, unknown>;
  seed?: number;
  out: string;
  quiet?: boolean;
  /** Formats that train in parallel (SISA) run their tasks on this pool (queue workers) when given. */
  pool?: TaskPool;
}

/** What a deletion produced: the new version's manifest, its evaluation, the resolved forget set. */
export interface ForgetOutcome {
  manifest: VersionManifest;
  evaluation: ModelEvaluation;
  forget: ForgetSet;
  subjectIndex: SubjectIndex;
  /** Lines worth printing (e.g. "retrained shard 3 from slice 2", "budget left 0.41"). */
  notes?: string[];
}

/** Evaluation of a stored model (and optionally a reference) on a forget set. */
export interface EvalOutcome {
  model: ModelEvaluation;
  reference?: ModelEvaluation;
  manifest: VersionManifest;
}

/**
 * A handler for one manifest `format` other than the single-network `unlearn-model/1` (which
 * src/workflows.ts handles itself). The CLI's forget and eval commands dispatch on the format.
 */
export interface ModelFormatHandler {
  format: string;
  forget(req: ForgetRequest): Promise<ForgetOutcome>;
  evaluate(o: { modelDir: string; referenceDir?: string; selector?: ForgetSelector }): Promise<EvalOutcome>;
}

const handlers = new Map<string, ModelFormatHandler>();

/** Register a handler. @throws Error when the format is taken. */
export function registerFormat(h: ModelFormatHandler): void {
  if (handlers.has(h.format)) throw new Error(`model format ${h.format} already registered`);
  handlers.set(h.format, h);
}

/**
 * The handler for the model directory's manifest format, or undefined for the single-network
 * format or when there is no manifest (the single-network loader then reports it missing).
 * @throws UnlearnError MODEL_CORRUPT when manifest.json exists but is not JSON.
 */
export async function formatHandlerFor(dir: string): Promise<ModelFormatHandler | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, 'manifest.json'), 'utf8');
  } catch {
    return undefined; // absent: the single-network loader reports MODEL_MISSING
  }
  let m: { format?: string };
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new UnlearnError('MODEL_CORRUPT', `model ${dir}: manifest.json is not valid JSON (${(e as Error).message})`, 'restore the directory from a backup or retrain it');
  }
  return m?.format ? handlers.get(m.format) : undefined;
}
