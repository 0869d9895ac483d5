/**
 * Images for dataset import: PNG (pngjs) and JPEG (jpeg-js) decoded to 8-bit RGBA, resized
 * bilinearly (half-pixel centres, edge clamped) to a stated `[height, width, channels]` and scaled
 * to [0, 1]; channels 1 is the luma 0.299 R + 0.587 G + 0.114 B, channels 3 is RGB (alpha ignored).
 * Rows are channels-last (`(y·W + x)·C + c`), the layout of this project's CNNs.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { UnlearnError } from '../../errors.js';
import type { Cell, TableSource } from './sources.js';

const IMAGE_RE = /\.(png|jpe?g)$/i;

/** Parse `H,W,C` (C 1 or 3). @throws UnlearnError INVALID_ARGS otherwise. */
export function parseImageShape(s: string | number[]): [number, number, number] {
  const v = Array.isArray(s) ? s : s.split(/[,x×]/).map((x) => Number(x.trim()));
  if (v.length !== 3 || !v.every((x) => Number.isInteger(x) && x > 0) || (v[2] !== 1 && v[2] !== 3) || v[0] > 1024 || v[1] > 1024) {
    throw new UnlearnError('INVALID_ARGS', `--image-shape ${String(s)} is not H,W,C with C 1 or 3`, 'e.g. --image-shape 28,28,1 or 64,64,3');
  }
  return v as [number, number, number];
}

/**
 * Decode an image file and write it, resized, into `out` (length H·W·C, values in [0, 1]).
 * @throws UnlearnError DATASET_MISSING (no file), DATASET_INVALID (not a decodable PNG/JPEG).
 */
export function decodeImageInto(file: string, [H, W, C]: [number, number, number], out: Float32Array): void {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    throw new UnlearnError('DATASET_MISSING', `image ${file} not found`, 'image paths are relative to the table file (or the image folder)');
  }
  let w: number;
  let h: number;
  let px: Uint8Array;
  try {
    if (buf[0] === 0x89 && buf[1] === 0x50) {
      const png = PNG.sync.read(buf);
      [w, h, px] = [png.width, png.height, png.data];
    } else if (buf[0] === 0xff && buf[1] === 0xd8) {
      const j = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 512 });
      [w, h, px] = [j.width, j.height, j.data];
    } else throw new Error('neither PNG nor JPEG');
  } catch (e) {
    throw new UnlearnError('DATASET_INVALID', `image ${file} cannot be decoded (${(e as Error).message})`, 'use PNG or JPEG files');
  }
  const sx = w / W;
  const sy = h / H;
  const at = (x: number, y: number, c: number) => px[(y * w + x) * 4 + c];
  for (let y = 0; y < H; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), h - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, h - 1);
    const ty = fy - y0;
    for (let x = 0; x < W; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), w - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, w - 1);
      const tx = fx - x0;
      const rgb = [0, 1, 2].map((c) => (at(x0, y0, c) * (1 - tx) + at(x1, y0, c) * tx) * (1 - ty) + (at(x0, y1, c) * (1 - tx) + at(x1, y1, c) * tx) * ty);
      const o = (y * W + x) * C;
      if (C === 1) out[o] = (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) / 255;
      else for (let c = 0; c < 3; c++) out[o + c] = rgb[c] / 255;
    }
  }
}

/**
 * An image folder in the `DIR/<class>/<file>.png|jpg` layout as a table with columns `id`
 * (`<class>/<file>`), `label` (the class folder) and `image` (the path), sorted by id, and the
 * sha256 over every file's relative path and bytes.
 * @throws UnlearnError DATASET_MISSING (no folder), DATASET_INVALID (no class folder with images).
 */
export function imageFolderTable(dir: string): { table: TableSource; sha256: string; bytes: number } {
  let classes: string[];
  try {
    classes = readdirSync(dir).filter((c) => statSync(join(dir, c)).isDirectory()).sort();
  } catch {
    throw new UnlearnError('DATASET_MISSING', `image folder ${dir} not found`, 'pass a folder holding one sub-folder of images per class');
  }
  const rows: Cell[][] = [];
  const h = createHash('sha256');
  let bytes = 0;
  for (const c of classes) {
    for (const f of readdirSync(join(dir, c)).filter((x) => IMAGE_RE.test(x)).sort()) {
      const p = join(dir, c, f);
      const b = readFileSync(p);
      h.update(`${relative(dir, p)}\n`).update(b);
      bytes += b.byteLength;
      rows.push([`${c}/${f}`, c, p]);
    }
  }
  if (!rows.length) throw new UnlearnError('DATASET_INVALID', `${dir}: no PNG or JPEG image in a class sub-folder`, 'lay the folder out as DIR/<class>/<image>.png');
  async function* it(): AsyncGenerator<Cell[]> {
    yield* rows;
  }
  return { table: { columns: ['id', 'label', 'image'], rows: it() }, sha256: h.digest('hex'), bytes };
}
