/** Everything downstream on an imported table: forget selectors, eval, SISA, certified logistic (one-vs-rest) and ridge. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { initEngine } from '../engine/backend.js';
import { importTable } from '../data/import/importTable.js';
import { loadDataset } from '../data/registry.js';
import { trainCertifiedWorkflow } from '../unlearn/certified/index.js';
import { sisaTrainWorkflow } from '../unlearn/sisa/index.js';
import { evalWorkflow, forgetWorkflow, trainWorkflow } from '../workflows.js';

const dir = mkdtempSync(join(tmpdir(), 'unlearn-imported-'));
const p = (...a: string[]) => join(dir, ...a);

before(async () => {
  await initEngine('cpu');
  process.env.UNLEARN_HOME = p('home');
  let s = 7;
  const r = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const rows = ['key,shop,a,b,c,colour,kind,price'];
  for (let i = 0; i < 150; i++) {
    const f = [r(), r(), r()];
    const colour = ['red', 'green', 'blue'][i % 3];
    const kind = f[0] > 0.3 ? 'tool' : f[1] > 0 ? 'toy' : 'food';
    rows.push([`k${i}`, `shop${i % 10}`, ...f.map((v) => v.toFixed(3)), colour, kind, (10 + 3 * f[0] - 2 * f[2] + (i % 3)).toFixed(2)].join(','));
  }
  writeFileSync(p('shop.csv'), rows.join('\n') + '\n');
  await importTable({ name: 'shop', file: p('shop.csv'), idCol: 'key', subjectCol: 'shop', labelCol: 'kind', featureCols: ['a', 'b', 'c', 'colour'] });
  await importTable({ name: 'shop-price', file: p('shop.csv'), idCol: 'key', subjectCol: 'shop', labelCol: 'price', featureCols: ['a', 'b', 'c', 'colour'] });
});

const subjectIds = async (name: string, subject: string) => {
  const split = await loadDataset(name);
  return split.train.ids.filter((_, i) => split.train.subjects[i] === subject).sort();
};

test('forget by subject, id, class and random fraction on an imported table; eval of the result', async () => {
  await trainWorkflow({ dataset: 'shop', kind: 'mlp', hidden: [8], recipe: { epochs: 3, batchSize: 16 }, out: p('mlp'), quiet: true });
  const bySubject = await forgetWorkflow({ modelDir: p('mlp'), selector: { subjects: ['shop4'] }, method: 'retrain', out: p('f-subject'), quiet: true });
  assert.deepEqual([...bySubject.manifest.removed!.ids].sort(), await subjectIds('shop', 'shop4'));
  const split = await loadDataset('shop');
  const byId = await forgetWorkflow({ modelDir: p('mlp'), selector: { ids: [split.train.ids[2]] }, method: 'finetune', params: { epochs: 1 }, out: p('f-id'), quiet: true });
  assert.deepEqual(byId.manifest.removed!.ids, [split.train.ids[2]]);
  const byClass = await forgetWorkflow({ modelDir: p('mlp'), selector: { classes: [split.classNames.indexOf('toy')] }, method: 'neggrad-plus', params: { epochs: 1 }, out: p('f-class'), quiet: true });
  assert.equal(byClass.forget.forgetIdx.length, [...split.train.labels].filter((y) => split.classNames[y] === 'toy').length);
  const byRandom = await forgetWorkflow({ modelDir: p('mlp'), selector: { randomFraction: 0.1 }, method: 'scrub', params: { epochs: 1 }, out: p('f-random'), quiet: true });
  assert.equal(byRandom.forget.forgetIdx.length, Math.round(0.1 * split.train.labels.length));
  const ev = await evalWorkflow({ modelDir: p('f-subject') });
  assert.ok(ev.model.TA >= 0 && ev.model.TA <= 1);
});

test('SISA and certified one-vs-rest logistic regression on an imported table remove exactly a subject', async () => {
  const gone = await subjectIds('shop', 'shop7');
  await sisaTrainWorkflow({ dataset: 'shop', kind: 'mlp', hidden: [8], recipe: { epochs: 2, batchSize: 16 }, sisa: { shards: 2, slices: 2, workers: 1 }, out: p('sisa') });
  const s = await forgetWorkflow({ modelDir: p('sisa'), selector: { subjects: ['shop7'] }, out: p('sisa-f'), quiet: true });
  assert.equal(s.manifest.method.guarantee, 'exact');
  assert.deepEqual([...s.manifest.removed!.ids].sort(), gone);
  const c = await trainCertifiedWorkflow({ dataset: 'shop', kind: 'logreg', params: {}, seed: 0, out: p('cert') });
  assert.equal(c.certificate.guarantee, 'certified');
  const f = await forgetWorkflow({ modelDir: p('cert'), selector: { subjects: ['shop7'] }, out: p('cert-f'), quiet: true });
  assert.deepEqual([...f.manifest.removed!.ids].sort(), gone);
});

test('ridge regression on an imported numeric label: exact removal of a subject', async () => {
  const split = await loadDataset('shop-price');
  assert.ok(split.train.targets, 'numeric label → regression targets');
  await trainCertifiedWorkflow({ dataset: 'shop-price', kind: 'ridge', params: {}, seed: 0, out: p('ridge') });
  const f = await forgetWorkflow({ modelDir: p('ridge'), selector: { subjects: ['shop2'] }, out: p('ridge-f'), quiet: true });
  assert.equal(f.manifest.method.guarantee, 'exact');
  assert.deepEqual([...f.manifest.removed!.ids].sort(), await subjectIds('shop-price', 'shop2'));
  assert.ok(f.evaluation.TA > 0.6, `TA ${f.evaluation.TA} (class = price >= train median)`);
});
