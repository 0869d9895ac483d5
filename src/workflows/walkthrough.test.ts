/**
 * The README walkthrough's core on its real table: Gapminder (npm vega-datasets, data/gapminder.json;
 * 682 rows of 63 countries × 5-year steps 1955–2005; label `cluster`, the world region; subject =
 * country). Skipped with a message when the package is not installed.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../engine/backend.js';
import { importTable } from '../data/import/importTable.js';
import { loadDataset } from '../data/registry.js';
import { loadModel } from '../models/io.js';
import { forgetWorkflow, trainWorkflow } from '../workflows.js';
import { exportModelWorkflow, importModelWorkflow } from './modelTransfer.js';

let gapminder: string | undefined;
try {
  const f = join(dirname(createRequire(import.meta.url).resolve('vega-datasets')), '..', 'data', 'gapminder.json');
  if (existsSync(f)) gapminder = f;
} catch {
  /* not installed */
}
const skip = gapminder ? false : 'npm vega-datasets is not installed (npm install): walkthrough on Gapminder skipped';
const dir = mkdtempSync(join(tmpdir(), 'unlearn-walkthrough-'));
const p = (...a: string[]) => join(dir, ...a);

before(async () => {
  await initEngine('cpu');
  process.env.UNLEARN_HOME = p('home');
});

test('walkthrough: import Gapminder, train, forget a country, export to safetensors and back', { skip }, async () => {
  const s = await importTable({ name: 'gapminder', file: gapminder!, subjectCol: 'country', labelCol: 'cluster' });
  assert.equal(s.counts.rows, 682);
  assert.deepEqual(s.features.names, ['year', 'pop', 'life_expect', 'fertility']);
  assert.deepEqual(s.label.classNames, ['0', '1', '2', '3', '4', '5']);
  const split = await loadDataset('gapminder');
  const india = split.train.ids.filter((_, i) => split.train.subjects[i] === 'India');
  assert.equal(india.length, 11, 'every India row is on the train side with the default split');
  await trainWorkflow({ dataset: 'gapminder', kind: 'mlp', hidden: [16], recipe: { epochs: 20, learningRate: 0.01, batchSize: 32 }, out: p('v1'), quiet: true });
  const r = await forgetWorkflow({ modelDir: p('v1'), selector: { subjects: ['India'] }, method: 'retrain', out: p('v2'), quiet: true });
  assert.deepEqual([...r.manifest.removed!.ids].sort(), [...india].sort());
  assert.equal(r.evaluation.FA <= 1, true);
  await exportModelWorkflow({ modelDir: p('v2'), format: 'safetensors', out: p('v2.safetensors') });
  await importModelWorkflow({ safetensors: p('v2.safetensors'), dataset: 'gapminder', trainedOn: 'train', out: p('v3') });
  const [a, b] = [await loadModel(p('v2')), await loadModel(p('v3'))];
  const x = tf.tensor2d(split.test.features, [split.test.labels.length, 4]);
  assert.deepEqual((a.model.predict(x) as tf.Tensor).dataSync(), (b.model.predict(x) as tf.Tensor).dataSync());
  x.dispose();
});
