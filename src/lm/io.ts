/**
 * Language-model directories: `model.json` (format, config, tokenizer, weight layout),
 * `weights.bin` (float32 little-endian, parameters in paramShapes order) and `manifest.json`
 * (lineage, recipe, method, hashes, metrics). Written atomically (src/models/io.ts
 * writeDirAtomic); loading verifies sizes and sha256 of both files.
 */
import { createHash } from 'node:crypto';
import { modelHash, readVerifiedModelDir, writeDirAtomic } from '../models/io.js';
import { sealManifest } from '../models/seal.js';
import type { CorpusOptions } from './data.js';
import { modelFromArrays, paramShapes, type LanguageModel, type LmConfig } from './model.js';
import { TOKENIZER_CONFIG, type TokenizerConfig } from './tokenizer.js';
import type { LmRecipe } from './train.js';

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** `manifest.json` of a language-model directory. Hashes sha256 hex; times seconds. */
export interface LmManifest {
  format: 'unlearn-lm/1';
  modelHash: string;
  files: { 'model.json': { sha256: string; bytes: number }; 'weights.bin': { sha256: string; bytes: number } };
  config: LmConfig;
  corpus: { name: 'lm-corpus'; options: CorpusOptions; fingerprint: string };
  /** Training lineage: the passages (ids) and sources this model's weights were trained on, after removals. */
  lineage: { sources: string[]; numPassages: number; passageIdsSha256: string };
  recipe: LmRecipe;
  seed: number;
  parent: string | null;
  method: { id: string; guarantee: 'exact' | 'approximate' | 'none'; params: Record<string, unknown> };
  /** Cumulative removals: sources and the sha256 of their passage ids. */
  removed?: { sources: string[]; numPassages: number; passageIdsSha256: string };
  timings: { wallSeconds: number };
  metrics: Record<string, unknown>;
  backend: string;
  createdAt: string;
}

/** Serialise a model: model.json text + weights.bin bytes. */
export function serializeLm(m: LanguageModel): { modelJson: string; weights: Uint8Array } {
  const shapes = paramShapes(m.config);
  const total = shapes.reduce((s, [, sh]) => s + sh.reduce((a, b) => a * b, 1), 0);
  const buf = new Float32Array(total);
  let off = 0;
  const layout: { name: string; shape: number[]; offset: number }[] = [];
  for (const [name, shape] of shapes) {
    const v = m.params.get(name)!.dataSync() as Float32Array;
    buf.set(v, off);
    layout.push({ name, shape, offset: off });
    off += v.length;
  }
  const modelJson = JSON.stringify({ format: 'unlearn-lm/1', config: m.config, tokenizer: TOKENIZER_CONFIG, dtype: 'float32', byteOrder: 'little-endian', weights: layout });
  return { modelJson, weights: new Uint8Array(buf.buffer) };
}

/** Hash of an in-memory model as {@link saveLm} would record it. */
export function lmHash(m: LanguageModel): string {
  const { modelJson, weights } = serializeLm(m);
  return modelHash(sha256(modelJson), sha256(weights));
}

/** Save atomically; fills `files` and `modelHash` and returns the full manifest. @throws UnlearnError IO_ERROR. */
export async function saveLm(dir: string, m: LanguageModel, manifest: Omit<LmManifest, 'files' | 'modelHash'>): Promise<LmManifest> {
  const { modelJson, weights } = serializeLm(m);
  const files = {
    'model.json': { sha256: sha256(modelJson), bytes: Buffer.byteLength(modelJson) },
    'weights.bin': { sha256: sha256(weights), bytes: weights.byteLength },
  };
  const full: LmManifest = sealManifest({ ...manifest, files, modelHash: modelHash(files['model.json'].sha256, files['weights.bin'].sha256) });
  await writeDirAtomic(dir, { 'model.json': modelJson, 'weights.bin': weights, 'manifest.json': JSON.stringify(full, null, 1) + '\n' });
  return full;
}

/**
 * Load a directory written by {@link saveLm}, verifying sizes and hashes.
 * @throws UnlearnError MODEL_MISSING (directory/file absent), MODEL_CORRUPT (bad JSON, size or hash
 *   mismatch, unknown tokenizer).
 */
export async function loadLm(dir: string): Promise<{ model: LanguageModel; manifest: LmManifest; tokenizer: TokenizerConfig }> {
  const { manifest, modelJson, weights, corrupt } = await readVerifiedModelDir<LmManifest>(dir, 'unlearn-lm/1', 'pass a directory written by `unlearn lm train` or `unlearn lm forget`');
  let json: { config: LmConfig; tokenizer: TokenizerConfig; weights: { name: string; shape: number[]; offset: number }[] };
  try {
    json = JSON.parse(modelJson.toString('utf8'));
  } catch {
    throw corrupt('model.json is not valid JSON');
  }
  if (json.tokenizer?.kind !== TOKENIZER_CONFIG.kind || json.tokenizer.vocabSize !== TOKENIZER_CONFIG.vocabSize) throw corrupt(`unsupported tokenizer ${JSON.stringify(json.tokenizer)}`);
  const all = new Float32Array(weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength));
  const arrays = new Map<string, Float32Array>();
  for (const w of json.weights) arrays.set(w.name, all.subarray(w.offset, w.offset + w.shape.reduce((a, b) => a * b, 1)));
  return { model: modelFromArrays(json.config, arrays), manifest, tokenizer: json.tokenizer };
}
