import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UnlearnError } from '../errors.js';

/**
 * Load a TensorFlow.js LayersModel from its files: `model.json` (topology + weightsManifest) and
 * the weight files it lists, relative to its directory (what `model.save('file://…')`, the
 * browser's `downloads://` and `tensorflowjs_converter --output_format tfjs_layers_model` write).
 * @returns the model and the sha256 over model.json and the weight files in manifest order.
 * @throws UnlearnError MODEL_MISSING (model.json or a listed weight file absent, naming it),
 *   MODEL_CORRUPT (not JSON, not a layers model, weight bytes not matching the manifest).
 */
export async function loadTfjsFiles(modelJsonPath: string): Promise<{ model: tfl.LayersModel; sha256: string }> {
  const corrupt = (m: string) => new UnlearnError('MODEL_CORRUPT', `${modelJsonPath}: ${m}`, 'export the model again (model.save or tensorflowjs_converter)');
  if (!existsSync(modelJsonPath)) throw new UnlearnError('MODEL_MISSING', `${modelJsonPath} not found`, 'pass the path of the model.json file');
  const text = await readFile(modelJsonPath);
  const h = createHash('sha256').update(text);
  let json: { modelTopology?: object; format?: string; weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  try {
    json = JSON.parse(text.toString('utf8'));
  } catch (e) {
    throw corrupt(`not valid JSON (${(e as Error).message})`);
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) throw corrupt(`not a TensorFlow.js layers model (${json.format ?? 'no modelTopology/weightsManifest'})`);
  const dir = dirname(modelJsonPath);
  const buffers: Buffer[] = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      const f = join(dir, p);
      if (!existsSync(f)) throw new UnlearnError('MODEL_MISSING', `${modelJsonPath} lists weight file ${p}, which is not in ${dir}`, 'copy every weight file next to model.json');
      const b = await readFile(f);
      h.update(b);
      buffers.push(b);
    }
  }
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  const need = weightSpecs.reduce((a, w) => a + w.shape.reduce((x, y) => x * y, 1) * (w.dtype === 'float32' || w.dtype === 'int32' || !w.dtype ? 4 : 1), 0);
  const all = Buffer.concat(buffers);
  if (!weightSpecs.some((w) => w.quantization) && all.byteLength !== need) throw corrupt(`the weight files hold ${all.byteLength} bytes, the manifest's weights need ${need} (truncated?)`);
  let model: tfl.LayersModel;
  try {
    model = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) }));
  } catch (e) {
    throw corrupt(`does not load as a LayersModel (${(e as Error).message.split('\n')[0]})`);
  }
  return { model, sha256: h.digest('hex') };
}
