/** The package entry: a library user's flow, importing only from the package name. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  designFrom,
  exportModelWorkflow,
  fitFromScratch,
  fitRidge,
  forgetWorkflow,
  importModelWorkflow,
  importTable,
  initEngine,
  listDatasets,
  loadDataset,
  readSafetensors,
  removeRidge,
  saveModel,
  sisaTrainWorkflow,
  specFor,
  trainCertifiedWorkflow,
} from 'unlearn';

test('import a table, train, export to safetensors, import it back, forget; certified, ridge and SISA from the package entry', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'unlearn-pkg-'));
  await initEngine('cpu');
  const rows = ['id,owner,x1,x2,y'];
  for (let i = 0; i < 60; i++) rows.push(`r${i},o${i % 6},${Math.sin(i).toFixed(3)},${Math.cos(3 * i).toFixed(3)},${Math.sin(i) + Math.cos(3 * i) > 0 ? 'a' : 'b'}`);
  writeFileSync(join(dir, 't.csv'), rows.join('\n'));
  const root = join(dir, 'home');
  process.env.UNLEARN_HOME = root;
  const schema = await importTable({ name: 'lib', file: join(dir, 't.csv'), idCol: 'id', subjectCol: 'owner', labelCol: 'y' });
  assert.ok(listDatasets().some((d) => d.name === 'lib' && d.kind === 'imported'));
  const split = await loadDataset('lib');
  assert.equal(split.fingerprint, schema.fingerprint);
  const fit = await fitFromScratch(split, specFor(split, 'logreg'), { epochs: 2, batchSize: 8 }, { quiet: true });
  await saveModel(join(dir, 'm'), fit.model, fit.manifest);
  fit.model.dispose();
  await exportModelWorkflow({ modelDir: join(dir, 'm'), format: 'safetensors', out: join(dir, 'm.safetensors') });
  const { readFileSync } = await import('node:fs');
  assert.deepEqual([...readSafetensors(readFileSync(join(dir, 'm.safetensors'))).tensors.keys()].sort(), ['1.bias', '1.weight']);
  await importModelWorkflow({ safetensors: join(dir, 'm.safetensors'), dataset: 'lib', out: join(dir, 'imported') });
  const f = await forgetWorkflow({ modelDir: join(dir, 'imported'), selector: { subjects: ['o1'] }, method: 'finetune', params: { epochs: 1 }, out: join(dir, 'forgot'), quiet: true });
  assert.equal(f.forget.subjects[0], 'o1');
  const c = await trainCertifiedWorkflow({ dataset: 'lib', kind: 'logreg', params: {}, seed: 0, out: join(dir, 'cert') });
  assert.equal(c.certificate.guarantee, 'certified');
  await importTable({ name: 'lib-x2', file: join(dir, 't.csv'), idCol: 'id', subjectCol: 'owner', labelCol: 'x2', featureCols: ['x1'] });
  const num = await loadDataset('lib-x2');
  const n = num.train.labels.length;
  const data = { X: designFrom(num.train, Int32Array.from({ length: n }, (_, i) => i), true), y: Float64Array.from(num.train.targets!), active: new Uint8Array(n).fill(1) };
  const ridge = fitRidge(data, { lambda: 1 });
  const removal = removeRidge(ridge, data, [0, 1]);
  assert.equal(removal.model.w.length, 2);
  assert.notDeepEqual([...removal.model.w], [...ridge.w]);
  const s = await sisaTrainWorkflow({ dataset: 'lib', kind: 'logreg', recipe: { epochs: 1, batchSize: 8 }, sisa: { shards: 2, slices: 1, workers: 1 }, out: join(dir, 'sisa') });
  assert.equal(s.sisa.shards, 2);
});
