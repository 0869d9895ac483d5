/**
 * Dataset import benchmark: a generated CSV of `rows` rows × `cols` columns (id, subject, label and
 * `cols − 3` numeric features) imported with `unlearn data import`'s streaming importer, in a child
 * process so its peak RSS is the importer's own.
 *
 *   npm run bench:import                      # 1,000,000 rows × 50 columns
 *   npm run bench:import -- --rows 100000
 *
 * Prints rows/s, the child's peak RSS (getrusage maxrss) and the binary size of the features
 * (rows × features × 4 bytes), and their ratio (the target: peak RSS ≤ 2× the feature bytes).
 */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Rng } from '../src/engine/rng.js';
import { importTable } from '../src/data/import/importTable.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, cols: { type: 'string', default: '50' }, child: { type: 'string' }, root: { type: 'string' }, keep: { type: 'boolean', default: false } } });

if (values.child) {
  const t0 = performance.now();
  const s = await importTable({ name: 'bench', file: values.child, root: values.root!, idCol: 'id', subjectCol: 'subject', labelCol: 'label' });
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024, rows: s.counts.rows, features: s.features.shape[0], featureBytes: s.files['train.features.f32'].bytes + s.files['test.features.f32'].bytes }) + '\n');
} else {
  const rows = Number(values.rows);
  const cols = Number(values.cols);
  const dir = mkdtempSync(join(tmpdir(), 'unlearn-bench-import-'));
  const file = join(dir, 'table.csv');
  const t0 = performance.now();
  const out = createWriteStream(file);
  const nf = cols - 3;
  const rng = new Rng(1);
  out.write(['id', 'subject', ...Array.from({ length: nf }, (_, j) => `f${j}`), 'label'].join(',') + '\n');
  for (let i = 0; i < rows; i++) {
    const f = Array.from({ length: nf }, () => (rng.next() * 200 - 100).toFixed(3));
    const line = `id${i},s${i % 50000},${f.join(',')},${Number(f[0]) + Number(f[1]) > 0 ? 'pos' : 'neg'}\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  const genSeconds = (performance.now() - t0) / 1000;
  const csvBytes = statSync(file).size;
  const r = spawnSync(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--child', file, '--root', join(dir, 'home')], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    process.exit(1);
  }
  const m = JSON.parse(r.stdout.trim().split('\n').pop()!);
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  console.log(`CSV: ${rows.toLocaleString('en')} rows × ${cols} columns, ${mb(csvBytes)} (generated in ${genSeconds.toFixed(1)} s)`);
  console.log(`import: ${m.seconds.toFixed(1)} s = ${Math.round(rows / m.seconds).toLocaleString('en')} rows/s`);
  console.log(`features: ${m.features} per row, ${mb(m.featureBytes)} binary (float32)`);
  console.log(`peak RSS of the import process: ${mb(m.maxRssBytes)} = ${(m.maxRssBytes / m.featureBytes).toFixed(2)}× the feature bytes (target ≤ 2×)`);
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}
