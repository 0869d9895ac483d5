import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { isUnlearnError } from '../../errors.js';
import { loadDataset } from '../registry.js';
import { decodeImageInto } from './images.js';
import { importTable } from './importTable.js';

/** A w×h PNG whose left half is (r,g,b) and right half black. */
function png(w: number, h: number, rgb: [number, number, number]): Buffer {
  const p = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) p.data.set(x < w / 2 ? [...rgb, 255] : [0, 0, 0, 255], (y * w + x) * 4);
  return PNG.sync.write(p);
}

test('PNG and JPEG decode and resize bilinearly to the stated shape, channels-last in [0, 1]', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unlearn-img-'));
  writeFileSync(join(dir, 'a.png'), png(8, 4, [255, 0, 0]));
  const out = new Float32Array(2 * 4 * 3);
  decodeImageInto(join(dir, 'a.png'), [2, 4, 3], out);
  // Width 8 → 4: columns 0,1 red, 2,3 black (the half boundary falls between source pixels 3 and 4).
  assert.deepEqual([...out.subarray(0, 3)], [1, 0, 0]);
  assert.deepEqual([...out.subarray(9, 12)], [0, 0, 0]);
  const grey = new Float32Array(4);
  decodeImageInto(join(dir, 'a.png'), [1, 4, 1], grey);
  assert.ok(Math.abs(grey[0] - 0.299) < 1e-6, `luma ${grey[0]}`);
  const j = jpeg.encode({ width: 16, height: 16, data: Buffer.alloc(16 * 16 * 4, 200) }, 95);
  writeFileSync(join(dir, 'b.jpg'), j.data);
  const g = new Float32Array(4 * 4);
  decodeImageInto(join(dir, 'b.jpg'), [4, 4, 1], g);
  assert.ok(g.every((v) => Math.abs(v - 200 / 255) < 0.02));
  writeFileSync(join(dir, 'c.png'), 'not an image');
  assert.throws(() => decodeImageInto(join(dir, 'c.png'), [2, 2, 1], new Float32Array(4)), (e) => isUnlearnError(e, 'DATASET_INVALID'));
});

test('an image folder imports as a [H, W, C] dataset with class labels from the folders; a table can name image paths', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'unlearn-imgdir-'));
  const root = join(dir, 'home');
  for (const [c, rgb] of [['red', [255, 0, 0]], ['green', [0, 255, 0]]] as const) {
    mkdirSync(join(dir, 'imgs', c), { recursive: true });
    for (let k = 0; k < 5; k++) writeFileSync(join(dir, 'imgs', c, `${k}.png`), png(6 + k, 6, rgb as [number, number, number]));
  }
  const s = await importTable({ name: 'colours', file: '', imageDir: join(dir, 'imgs'), imageShape: [3, 3, 3], root, testFraction: 0.2 });
  assert.deepEqual(s.features.shape, [3, 3, 3]);
  assert.deepEqual(s.label.classNames, ['green', 'red']);
  assert.equal(s.counts.rows, 10);
  process.env.UNLEARN_HOME = root;
  const split = await loadDataset('colours');
  assert.deepEqual(split.train.shape, [3, 3, 3]);
  const k = split.train.ids.indexOf('red/0.png');
  assert.deepEqual([...split.train.features.subarray(k * 27, k * 27 + 3)], [1, 0, 0]);
  writeFileSync(join(dir, 'table.csv'), ['id,who,path,label', ...[0, 1, 2, 3].map((i) => `p${i},u${i % 2},imgs/${i % 2 ? 'red' : 'green'}/${i}.png,${i % 2 ? 'red' : 'green'}`)].join('\n'));
  const t = await importTable({ name: 'colours-table', file: join(dir, 'table.csv'), idCol: 'id', subjectCol: 'who', imageCol: 'path', imageShape: [2, 2, 1], root, testFraction: 0 });
  assert.deepEqual(t.features.shape, [2, 2, 1]);
  assert.equal(t.counts.subjects, 2);
});
