import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initEngine } from '../engine/backend.js';
import { isUnlearnError } from '../errors.js';
import { importTable } from '../data/import/importTable.js';
import { loadDataset } from '../data/registry.js';
import { fitFromScratch, specFor } from '../train/fit.js';
import { loadModel, saveModel } from '../models/io.js';
import { writeSafetensors } from '../models/safetensors.js';
import { forgetWorkflow } from '../workflows.js';
import { exportModelWorkflow, importModelWorkflow } from './modelTransfer.js';

const dir = mkdtempSync(join(tmpdir(), 'unlearn-model-import-'));
const p = (...a: string[]) => join(dir, ...a);

/** 120 rows, 5 numeric features, 12 subjects; label from a fixed linear rule (learnable). */
function table(): string {
  let s = 12345;
  const r = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const rows = ['id,who,f1,f2,f3,f4,f5,label'];
  for (let i = 0; i < 120; i++) {
    const f = [r(), r(), r(), r(), r()];
    const y = f[0] + 0.5 * f[1] - f[3] > 0 ? 'pos' : 'neg';
    rows.push([`e${i}`, `person${i % 12}`, ...f.map((v) => v.toFixed(4)), y].join(','));
  }
  return rows.join('\n') + '\n';
}

before(async () => {
  await initEngine('cpu');
  process.env.UNLEARN_HOME = p('home');
  writeFileSync(p('t.csv'), table());
  await importTable({ name: 'people', file: p('t.csv'), idCol: 'id', subjectCol: 'who' });
});

/** Save like TensorFlow.js's file:// handler: model.json + group1-shard1of1.bin. */
function fileSaver(out: string): tf.io.IOHandler {
  return {
    save: async (a) => {
      mkdirSync(out, { recursive: true });
      const wd = a.weightData!;
      writeFileSync(join(out, 'group1-shard1of1.bin'), Buffer.from(Array.isArray(wd) ? tf.io.concatenateArrayBuffers(wd) : wd));
      writeFileSync(join(out, 'model.json'), JSON.stringify({ modelTopology: a.modelTopology, format: 'layers-model', generatedBy: 'TensorFlow.js tfjs-layers', convertedBy: null, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: a.weightSpecs }] }));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    },
  };
}

/** A classifier written with plain TensorFlow.js (Keras-style: dropout, softmax output, model.fit). */
async function plainTfjsModel(out: string, inputs = 5): Promise<void> {
  const split = await loadDataset('people');
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ inputShape: [inputs], units: 8, activation: 'relu' }));
  m.add(tfl.layers.dropout({ rate: 0.1 }));
  m.add(tfl.layers.dense({ units: 2, activation: 'softmax' }));
  m.compile({ optimizer: tf.train.adam(0.02), loss: 'categoricalCrossentropy' });
  const n = split.train.labels.length;
  const host = new Float32Array(n * inputs);
  for (let i = 0; i < n; i++) host.set(split.train.features.subarray(i * 5, i * 5 + 5), i * inputs);
  const x = tf.tensor2d(host, [n, inputs]);
  const y = tf.oneHot(tf.tensor1d(split.train.labels, 'int32'), 2);
  await m.fit(x, y, { epochs: 15, batchSize: 16, verbose: 0, shuffle: false });
  await m.save(fileSaver(out));
  tf.dispose([x, y]);
  m.dispose();
}

const logits = (model: tfl.LayersModel, split: Awaited<ReturnType<typeof loadDataset>>) => {
  const n = split.test.labels.length;
  const t = model.predict(tf.tensor2d(split.test.features, [n, split.test.shape[0]])) as tf.Tensor;
  const d = t.dataSync().slice();
  t.dispose();
  return d;
};

test('a LayersModel saved by plain TensorFlow.js imports with a declared lineage and unlearns a subject', async () => {
  await plainTfjsModel(p('plain'));
  const m = await importModelWorkflow({ tfjs: p('plain', 'model.json'), dataset: 'people', declaredBy: 'data-team', out: p('imported') });
  assert.equal(m.spec.kind, 'mlp');
  assert.equal(m.declared!.by, 'data-team');
  assert.equal(m.declared!.recipe, false);
  assert.equal(m.declared!.source.format, 'tfjs');
  assert.ok(m.declared!.notes.some((n) => /softmax was dropped/.test(n)));
  assert.ok((m.metrics.TA as number) > 0.6, `TA ${m.metrics.TA}`);
  const split = await loadDataset('people');
  const gone = split.train.ids.filter((_, i) => split.train.subjects[i] === 'person3');
  const r = await forgetWorkflow({ modelDir: p('imported'), selector: { subjects: ['person3'] }, method: 'finetune', params: { epochs: 1 }, out: p('forgot'), quiet: true });
  const after = (await loadModel(p('forgot'))).manifest;
  assert.deepEqual([...after.removed!.ids].sort(), [...gone].sort());
  assert.deepEqual(after.lineage.trainIds, m.lineage.trainIds.filter((id) => !gone.includes(id)));
  assert.equal(after.declared!.by, 'data-team', 'the declaration is carried to derived versions');
  assert.equal(r.forget.forgetIdx.length, gone.length);
  await assert.rejects(forgetWorkflow({ modelDir: p('imported'), selector: { subjects: ['person3'] }, method: 'retrain', out: p('retrained'), quiet: true }), (e) => isUnlearnError(e, 'INVALID_ARGS') && /imported without one.*approximate methods only: .*finetune/.test(e.message));
  assert.ok(!existsSync(p('retrained')));
});

test('a model trained here on an imported dataset, exported to safetensors (and tfjs) and imported again, predicts bit-identically', async () => {
  const split = await loadDataset('people');
  const fit = await fitFromScratch(split, specFor(split, 'mlp', { hidden: [6] }), { epochs: 3, batchSize: 16, seed: 1 }, { quiet: true });
  await saveModel(p('trained'), fit.model, fit.manifest);
  const want = logits(fit.model, split);
  await exportModelWorkflow({ modelDir: p('trained'), format: 'safetensors', out: p('trained.safetensors') });
  await exportModelWorkflow({ modelDir: p('trained'), format: 'tfjs', out: p('trained-tfjs') });
  const recipe = p('recipe.json');
  writeFileSync(recipe, JSON.stringify(fit.manifest.recipe));
  for (const [name, src] of [['st', { safetensors: p('trained.safetensors') }], ['tj', { tfjs: p('trained-tfjs', 'model.json') }]] as const) {
    const m = await importModelWorkflow({ ...src, dataset: 'people', recipe, out: p(`back-${name}`) });
    const back = await loadModel(p(`back-${name}`));
    assert.deepEqual(logits(back.model, split), want, `${name}: bit-identical logits`);
    assert.equal(m.declared!.recipe, true);
    back.model.dispose();
  }
  // With the recipe declared, exact retraining works and removes exactly the forget set.
  const r = await forgetWorkflow({ modelDir: p('back-st'), selector: { ids: ['e0', 'e1'].filter((id) => split.train.ids.includes(id)).concat(split.train.ids[5]) }, method: 'retrain', out: p('back-retrained'), quiet: true });
  assert.equal(r.manifest.method.guarantee, 'exact');
  fit.model.dispose();
});

test('--trained-on FILE declares a subset; an id not in the dataset is refused', async () => {
  const split = await loadDataset('people');
  await exportModelWorkflow({ modelDir: p('trained'), format: 'safetensors', out: p('sub.safetensors') });
  writeFileSync(p('ids.txt'), `# the rows we trained on\n${split.train.ids.slice(0, 40).join('\n')}\n`);
  const m = await importModelWorkflow({ safetensors: p('sub.safetensors'), dataset: 'people', trainedOn: p('ids.txt'), out: p('sub') });
  assert.deepEqual(m.lineage.trainIds, split.train.ids.slice(0, 40));
  writeFileSync(p('bad-ids.txt'), `${split.train.ids[0]}\nnobody\n`);
  await assert.rejects(importModelWorkflow({ safetensors: p('sub.safetensors'), dataset: 'people', trainedOn: p('bad-ids.txt'), out: p('sub-bad') }), (e) => isUnlearnError(e, 'SUBJECT_NOT_FOUND') && /id 'nobody' \(.*line 2\) is not in dataset people/.test(e.message));
  assert.ok(!existsSync(p('sub-bad')));
});

test('bad models: input size, missing weight files, tensor shape and dtype, truncated header; nothing written', async () => {
  await plainTfjsModel(p('wide'), 6);
  const cases: [string, Parameters<typeof importModelWorkflow>[0], string, RegExp][] = [
    ['input size', { tfjs: p('wide', 'model.json'), dataset: 'people', out: p('x1') }, 'SHAPE_MISMATCH', /takes input \[6\] \(6 values\), dataset people has 5 features/],
  ];
  mkdirSync(p('nofiles'));
  writeFileSync(p('nofiles', 'model.json'), readFileSync(p('wide', 'model.json')));
  cases.push(['missing weights', { tfjs: p('nofiles', 'model.json'), dataset: 'people', out: p('x2') }, 'MODEL_MISSING', /lists weight file group1-shard1of1.bin, which is not in/]);
  const spec = { spec: { kind: 'logreg', inputShape: [5], numClasses: 2 } };
  writeFileSync(p('spec.json'), JSON.stringify(spec));
  writeFileSync(p('shape.safetensors'), writeSafetensors({ '0.weight': { shape: [2, 4], data: new Float32Array(8) }, '0.bias': { shape: [2], data: new Float32Array(2) } }));
  cases.push(['tensor shape', { safetensors: p('shape.safetensors'), spec: p('spec.json'), dataset: 'people', out: p('x3') }, 'SHAPE_MISMATCH', /'0.weight' has shape \[2,4\], the spec needs \[2,5\]/]);
  const good = writeSafetensors({ '0.weight': { shape: [2, 5], data: new Float32Array(10) }, '0.bias': { shape: [2], data: new Float32Array(2) } });
  const header = JSON.parse(Buffer.from(good.subarray(8, 8 + Number(Buffer.from(good).readBigUInt64LE(0)))).toString());
  header['0.bias'].dtype = 'I32';
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  writeFileSync(p('dtype.safetensors'), Buffer.concat([len, h, good.subarray(8 + Number(Buffer.from(good).readBigUInt64LE(0)))]));
  cases.push(['dtype', { safetensors: p('dtype.safetensors'), spec: p('spec.json'), dataset: 'people', out: p('x4') }, 'MODEL_CORRUPT', /tensor '0.bias' has dtype I32/]);
  writeFileSync(p('trunc.safetensors'), good.subarray(0, 30));
  cases.push(['truncated header', { safetensors: p('trunc.safetensors'), spec: p('spec.json'), dataset: 'people', out: p('x5') }, 'MODEL_CORRUPT', /truncated header/]);
  for (const [what, o, code, re] of cases) {
    await assert.rejects(importModelWorkflow(o), (e) => {
      assert.ok(isUnlearnError(e), `${what}: ${e}`);
      assert.equal(e.code, code, `${what}: ${e.message}`);
      assert.match(e.message, re, what);
      return true;
    });
    assert.ok(!existsSync(o.out), `${what}: nothing written`);
  }
});
