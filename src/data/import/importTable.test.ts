import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parquetWriteFile } from 'hyparquet-writer';
import { isUnlearnError } from '../../errors.js';
import { loadDataset } from '../registry.js';
import { importTable, type ImportTableOptions } from './importTable.js';
import { datasetDir } from './store.js';

const HEADER = 'id,person,age,city,score,label';
const ROWS = [
  'a1,alice,30,paris,1.5,yes',
  'a2,alice,40,rome,2.5,no',
  'b1,bob,35,paris,3.5,yes',
  'b2,bob,28,oslo,0.5,no',
  'c1,carol,50,rome,1.0,yes',
  'c2,carol,45,paris,2.0,no',
  'd1,dan,33,oslo,2.2,yes',
  'd2,dan,38,rome,1.1,no',
  'e1,eve,29,paris,0.9,yes',
  'e2,eve,41,oslo,3.3,no',
];

function fresh(): { root: string; dir: string; file: (name: string, text: string | Buffer) => string } {
  const dir = mkdtempSync(join(tmpdir(), 'unlearn-import-'));
  const root = join(dir, 'home');
  return { root, dir, file: (name, text) => (writeFileSync(join(dir, name), text), join(dir, name)) };
}

const base = (root: string, file: string, extra: Partial<ImportTableOptions> = {}): ImportTableOptions => ({ name: 'people', file, root, idCol: 'id', subjectCol: 'person', ...extra });

test('a CSV imports with standardised numeric and one-hot categorical features from the train side only', async () => {
  const t = fresh();
  const file = t.file('t.csv', [HEADER, ...ROWS].join('\n') + '\n');
  const s = await importTable(base(t.root, file));
  assert.deepEqual(s.features.names, ['age', 'city=oslo', 'city=paris', 'city=rome', 'score']);
  assert.deepEqual(s.label.classNames, ['no', 'yes']);
  assert.equal(s.counts.rows, 10);
  assert.equal(s.counts.train + s.counts.test, 10);
  assert.equal(s.counts.subjects, 5);
  process.env.UNLEARN_HOME = t.root;
  const split = await loadDataset('people');
  const trainRows = split.train.ids.map((id) => ROWS.find((r) => r.startsWith(id + ','))!.split(','));
  const ages = trainRows.map((r) => Number(r[2]));
  const mean = ages.reduce((a, b) => a + b, 0) / ages.length;
  const std = Math.sqrt(ages.reduce((a, b) => a + (b - mean) ** 2, 0) / ages.length);
  assert.ok(Math.abs(s.columns.find((c) => c.name === 'age')!.mean! - mean) < 1e-9, 'mean over the train side');
  split.train.ids.forEach((id, k) => {
    const r = trainRows[k];
    const f = split.train.features.subarray(k * 5, k * 5 + 5);
    assert.ok(Math.abs(f[0] - (Number(r[2]) - mean) / std) < 1e-5, `standardised age of ${id}`);
    assert.deepEqual([...f.subarray(1, 4)], ['oslo', 'paris', 'rome'].map((c) => (c === r[3] ? 1 : 0)));
    assert.equal(split.train.subjects[k], r[1]);
    assert.equal(split.classNames[split.train.labels[k]], r[5]);
  });
  assert.equal(split.fingerprint, s.fingerprint);
});

test('the same file imported twice has the same fingerprint; any changed cell changes it', async () => {
  const t = fresh();
  const a = await importTable(base(t.root, t.file('a.csv', [HEADER, ...ROWS].join('\n'))));
  const b = await importTable(base(t.root, t.file('a.csv', [HEADER, ...ROWS].join('\n')), { force: true }));
  assert.equal(a.fingerprint, b.fingerprint);
  const changed = ROWS.slice();
  changed[3] = 'b2,bob,28,oslo,0.6,no';
  const c = await importTable(base(t.root, t.file('c.csv', [HEADER, ...changed].join('\n')), { force: true }));
  assert.notEqual(c.fingerprint, a.fingerprint);
  const subj = ROWS.slice();
  subj[3] = 'b2,bobby,28,oslo,0.5,no';
  const d = await importTable(base(t.root, t.file('d.csv', [HEADER, ...subj].join('\n')), { force: true }));
  assert.notEqual(d.fingerprint, a.fingerprint);
});

test('CSV, JSONL and Parquet files of the same table give the same features and fingerprint', async () => {
  const t = fresh();
  const cells = ROWS.map((r) => r.split(','));
  const csv = await importTable(base(t.root, t.file('t.csv', [HEADER, ...ROWS].join('\n')), { name: 'from-csv' }));
  const jsonl = cells.map((c) => JSON.stringify({ id: c[0], person: c[1], age: Number(c[2]), city: c[3], score: Number(c[4]), label: c[5] })).join('\n');
  const js = await importTable(base(t.root, t.file('t.jsonl', jsonl), { name: 'from-jsonl' }));
  const pq = join(t.dir, 't.parquet');
  parquetWriteFile({
    filename: pq,
    columnData: [
      { name: 'id', data: cells.map((c) => c[0]), type: 'STRING' },
      { name: 'person', data: cells.map((c) => c[1]), type: 'STRING' },
      { name: 'age', data: cells.map((c) => Number(c[2])), type: 'INT32' },
      { name: 'city', data: cells.map((c) => c[3]), type: 'STRING' },
      { name: 'score', data: cells.map((c) => Number(c[4])), type: 'DOUBLE' },
      { name: 'label', data: cells.map((c) => c[5]), type: 'STRING' },
    ],
  });
  const p = await importTable(base(t.root, pq, { name: 'from-parquet' }));
  for (const s of [js, p]) {
    assert.deepEqual(s.files, csv.files);
    assert.equal(s.fingerprint, csv.fingerprint);
  }
});

test('a numeric label becomes a regression target with the train median as class threshold; --impute fills gaps', async () => {
  const t = fresh();
  const rows = Array.from({ length: 40 }, (_, i) => `${i},${i % 3 === 0 ? '' : (i * 0.37).toFixed(2)},${(i * 1.25 + 0.1).toFixed(2)}`);
  await assert.rejects(importTable({ name: 'reg', file: t.file('r.csv', ['x,z,y', ...rows].join('\n')), root: t.root, labelCol: 'y' }), (e) => isUnlearnError(e, 'DATASET_INVALID') && /row 1, column 'z': missing value/.test(e.message));
  const s = await importTable({ name: 'reg', file: join(t.dir, 'r.csv'), root: t.root, labelCol: 'y', impute: 'mean' });
  assert.equal(s.label.type, 'numeric');
  assert.equal(s.columns.find((c) => c.name === 'z')!.missing, 14);
  process.env.UNLEARN_HOME = t.root;
  const split = await loadDataset('reg');
  assert.ok(split.train.targets && split.train.targets.length === s.counts.train);
  const k = split.train.ids.indexOf('row-1'); // x = 0, z missing → the train mean → 0 after standardising
  if (k >= 0) assert.equal(split.train.features[k * 2 + 1], 0);
  for (let i = 0; i < split.train.labels.length; i++) assert.equal(split.train.labels[i], split.train.targets[i] >= s.label.threshold! ? 1 : 0);
});

test('a data file changed after import is refused when read', async () => {
  const t = fresh();
  await importTable(base(t.root, t.file('t.csv', [HEADER, ...ROWS].join('\n'))));
  writeFileSync(join(datasetDir('people', t.root), 'train.features.f32'), Buffer.alloc(8 * 5 * 4));
  process.env.UNLEARN_HOME = t.root;
  const split = await loadDataset('people');
  assert.throws(() => split.train.features, (e) => isUnlearnError(e, 'DATASET_INVALID') && /train.features.f32 does not match/.test(e.message));
});

/** Each bad input: the error code and message, and nothing written under the data root. */
const BAD: { what: string; file: [string, string | Buffer]; opts?: Partial<ImportTableOptions>; code: string; re: RegExp; existing?: boolean }[] = [
  { what: 'missing label column', file: ['t.csv', [HEADER, ...ROWS].join('\n')], opts: { labelCol: 'target' }, code: 'INVALID_ARGS', re: /--label-col 'target' is not a column .*columns present: id, person, age, city, score, label/ },
  { what: 'missing id column', file: ['t.csv', [HEADER, ...ROWS].join('\n')], opts: { idCol: 'key' }, code: 'INVALID_ARGS', re: /--id-col 'key' is not a column .*columns present: id, person/ },
  { what: 'duplicate ids', file: ['t.csv', [HEADER, ...ROWS, 'b2,bob,1,oslo,1,no'].join('\n')], code: 'DUPLICATE_ID', re: /row 11 repeats id 'b2' of row 4/ },
  // Types come from the first 1000 rows: a non-number after them in a numeric column is an error.
  { what: 'non-numeric value in a numeric column', file: ['t.csv', [HEADER, ...Array.from({ length: 1100 }, (_, i) => `x${i},p${i % 7},${i === 1049 ? 'forty' : 20 + (i % 30)},oslo,1,${i % 2 ? 'yes' : 'no'}`)].join('\n')], code: 'DATASET_INVALID', re: /row 1050, column 'age': 'forty' is not a number/ },
  { what: 'ragged row', file: ['t.csv', [HEADER, ...ROWS.slice(0, 4), 'z9,zed,40,oslo,no'].join('\n')], code: 'DATASET_INVALID', re: /line 6: ragged row with 5 fields/ },
  { what: 'empty file', file: ['t.csv', ''], code: 'DATASET_INVALID', re: /the file is empty/ },
  { what: 'header only', file: ['t.csv', HEADER + '\n'], code: 'DATASET_INVALID', re: /no data rows/ },
  { what: 'invalid UTF-8', file: ['t.csv', Buffer.concat([Buffer.from([HEADER, ...ROWS.slice(0, 3)].join('\n') + '\nz9,z'), Buffer.from([0xc3, 0x28]), Buffer.from('d,40,oslo,1,no\n')])], code: 'DATASET_INVALID', re: /invalid UTF-8 at byte 1\d\d/ },
  { what: 'bad split value', file: ['t.csv', ['id,person,age,city,score,label,part', ...ROWS.map((r, i) => `${r},${i === 2 ? 'dev' : 'train'}`)].join('\n')], opts: { splitCol: 'part' }, code: 'DATASET_INVALID', re: /row 3, column 'part': split value 'dev'/ },
  { what: 'existing dataset name', file: ['t.csv', [HEADER, ...ROWS].join('\n')], code: 'INVALID_ARGS', re: /dataset 'people' already exists/, existing: true },
  { what: 'built-in dataset name', file: ['t.csv', [HEADER, ...ROWS].join('\n')], opts: { name: 'digits' }, code: 'INVALID_ARGS', re: /'digits' is a built-in dataset/ },
];

for (const b of BAD) {
  test(`bad input: ${b.what}`, async () => {
    const t = fresh();
    const file = t.file(...b.file);
    if (b.existing) await importTable(base(t.root, t.file('ok.csv', [HEADER, ...ROWS].join('\n'))));
    const before = existsSync(join(t.root, 'datasets')) ? readdirSync(join(t.root, 'datasets')) : [];
    await assert.rejects(importTable(base(t.root, file, b.opts)), (e) => {
      assert.ok(isUnlearnError(e), String(e));
      assert.equal(e.code, b.code, e.message);
      assert.match(e.message, b.re);
      assert.ok(!e.message.includes('\n'), 'one line');
      return true;
    });
    const after = existsSync(join(t.root, 'datasets')) ? readdirSync(join(t.root, 'datasets')) : [];
    assert.deepEqual(after, before, 'nothing written');
  });
}

test('bad input: a Parquet column of an unsupported type', async () => {
  const t = fresh();
  const pq = join(t.dir, 'ts.parquet');
  parquetWriteFile({
    filename: pq,
    columnData: [
      { name: 'when', data: [new Date(0), new Date(1000)], type: 'TIMESTAMP' },
      { name: 'label', data: ['a', 'b'], type: 'STRING' },
    ],
  });
  await assert.rejects(importTable({ name: 'ts', file: pq, root: t.root }), (e) => isUnlearnError(e, 'DATASET_INVALID') && /Parquet column 'when' has unsupported type INT64\/TIMESTAMP/.test(e.message));
  assert.ok(!existsSync(join(t.root, 'datasets', 'ts')));
});
