import type { ModelSpec } from './spec.js';
import type { SoftwareVersions } from './seal.js';
import type { TrainRecipe } from '../train/recipe.js';

/** Guarantee levels of a model version (DESIGN.md §2). */
export type Guarantee = 'exact' | 'certified' | 'approximate';

/**
 * `manifest.json` of a model directory: everything needed to reproduce and audit the model.
 * Hashes are sha256 hex. Times are seconds. Ids are example ids of the dataset named by `dataset`.
 */
export interface ModelManifest {
  format: 'unlearn-model/1';
  /** sha256 of `model.json` bytes and `weights.bin` bytes joined (see io.ts modelHash). */
  modelHash: string;
  files: { 'model.json': { sha256: string; bytes: number }; 'weights.bin': { sha256: string; bytes: number } };
  spec: ModelSpec;
  dataset: { name: string; options: Record<string, unknown>; fingerprint: string };
  /** The training lineage: the example ids this model's weights have seen (after removals). */
  lineage: {
    trainIds: string[];
    /** sha256 of the sorted ids (hashIds). */
    trainIdsSha256: string;
    numExamples: number;
    numSubjects: number;
  };
  recipe: TrainRecipe;
  seed: number;
  /** modelHash of the model this one was derived from; null for a model trained from scratch. */
  parent: string | null;
  /** How this version was produced. */
  method: { id: string; guarantee: Guarantee; params: Record<string, unknown> };
  /** For unlearned versions: what was removed (cumulative over the chain of parents). */
  removed?: { ids: string[]; idsSha256: string; subjects: string[]; request: Record<string, unknown> };
  timings: { wallSeconds: number };
  metrics: Record<string, unknown>;
  backend: string;
  createdAt: string;
  /** Method- or model-kind-specific facts (e.g. SISA shards, certified budget). */
  extra?: Record<string, unknown>;
  /** Versions of the software that wrote this manifest (src/models/seal.ts). */
  software?: SoftwareVersions;
  /** sha256 of this manifest's canonical JSON without this field: any edit is detected on load (src/models/seal.ts). */
  manifestSha256?: string;
}
