/**
 * generic-labels with anchor terms: the aligned generic logits against an independent computation
 * (random tiny models), the labels with and without anchors on a trained tiny model, and the
 * method end to end on the tiny config (VerbMem falls; θ_o untouched; no tensor leaks).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../engine/backend.js';
import { anchorDictionaryFor, translate, type Translation } from '../anchors/anchors.js';
import { verbMem } from '../audit/verbmem.js';
import { sourceTexts, type LmDocument } from '../data.js';
import { cloneModel, disposeModel, forward, initModel, lmConfig, type LanguageModel } from '../model.js';
import { makeBatch, trainLm } from '../train.js';
import { lmTrainWorkflow } from '../workflows.js';
import { alignAnchors, anchoredGenericLogits, genericLabels, genericLogits } from './genericLabels.js';
import { parseLmParams } from './method.js';

const SOURCE = 'moby-dick';
let trained: Awaited<ReturnType<typeof lmTrainWorkflow>>;

before(async () => {
  await initEngine('wasm');
  trained = await lmTrainWorkflow({
    config: 'tiny',
    corpus: { sources: ['moby-dick', 'sotu/abraham-lincoln', 'sotu/george-washington'], maxPassagesPerSource: 24 },
    recipe: { steps: 100, batchSize: 16, learningRate: 3e-3, seed: 0 },
    backend: 'wasm',
  });
});

type Params = Parameters<typeof genericLabels.run>[1];
const params = (v: Record<string, unknown>) => parseLmParams(genericLabels, v) as Params;
const maxAbsDiff = (a: number[], b: number[]) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

test('anchored generic logits: equal to the plain formula before the anchor, the translated context after it (hand-aligned)', () => {
  const cfg = lmConfig('tiny');
  const base = initModel(cfg, 1);
  const reinforced = initModel(cfg, 2);
  try {
    const T = cfg.contextLength;
    const text = 'Call me Ishmael. Some years ago, never mind how long precisely.';
    const tr = translate(text, anchorDictionaryFor(SOURCE)!);
    assert.equal(tr.text, 'Call me Tom. Some years ago, never mind how long precisely.');
    const al = alignAnchors([text], [tr], T);
    const alpha = 5;
    const [anch, plain, vbT, vr] = tf.tidy(() => {
      const inputs = tf.tensor2d(makeBatch([text], T).inputs, [1, T], 'int32');
      const trInputs = tf.tensor2d(makeBatch([tr.text], T).inputs, [1, T], 'int32');
      return [anchoredGenericLogits(base, reinforced, inputs, al, alpha), genericLogits(base, reinforced, inputs, alpha), forward(base, trInputs), forward(reinforced, inputs)].map((x) => x.arraySync() as number[][][]).map((x) => x[0]);
    });
    // "Call me " = bytes 0..7; "Ishmael" = bytes 8..14; "." = byte 15 → translated byte 11.
    for (let t = 0; t <= 8; t++) assert.ok(maxAbsDiff(anch[t], plain[t]) < 1e-4, `t=${t}: same prefix, same logits`);
    assert.deepEqual([...al.mask.slice(0, 17)], [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1]);
    assert.equal(tr.byteMap[15], 11);
    const n = Buffer.byteLength(text);
    for (let t = 15; t < n; t++) {
      const j = tr.byteMap[t];
      assert.equal(j, t - 4);
      const expected = vbT[j].map((v, k) => v - alpha * Math.max(vr[t][k] - v, 0));
      assert.ok(maxAbsDiff(anch[t], expected) < 1e-4, `t=${t}: v_o from translated position ${j}`);
      assert.ok(maxAbsDiff(anch[t], plain[t]) > 1e-3, `t=${t}: after the anchor the context differs`);
    }
  } finally {
    disposeModel(base);
    disposeModel(reinforced);
  }
});

test('trained tiny: hard generic labels with anchors differ from those without at anchor positions, never before the first anchor', (t) => {
  const T = trained.model.config.contextLength;
  const dict = anchorDictionaryFor(SOURCE)!;
  const docs = trained.corpus.train.filter((d) => d.source === SOURCE);
  // Passages cut like the corpus's (≤ T − 1 bytes at spaces) from the start of the novel, where
  // the anchors of Chapters 1-2 are (the 24 training passages hold only a couple).
  const passages: string[] = [];
  let cur = '';
  for (const w of sourceTexts().get(SOURCE)!.slice(0, 12600).split(' ')) {
    if (cur && Buffer.byteLength(cur + ' ' + w) > T - 1) (passages.push(cur), (cur = w));
    else cur = cur ? cur + ' ' + w : w;
  }
  const rows: { text: string; tr: Translation }[] = [];
  for (const text of passages) {
    const tr = translate(text, dict);
    if (tr.spans.length && tr.spans[0].start < T - 8) rows.push({ text, tr });
  }
  assert.ok(rows.length >= 10, `only ${rows.length} passages with anchors`);
  const reinforced = cloneModel(trained.model);
  try {
    trainLm(reinforced, docs, { steps: 10, batchSize: 16, learningRate: 1e-3, clipNorm: 1, seed: 1 });
    const texts = rows.map((r) => r.text);
    const al = alignAnchors(texts, rows.map((r) => r.tr), T);
    const b = makeBatch(texts, T);
    const [withA, without] = tf.tidy(() => {
      const inputs = tf.tensor2d(b.inputs, [b.B, T], 'int32');
      return [tf.argMax(anchoredGenericLogits(trained.model, reinforced, inputs, al, 5), -1), tf.argMax(genericLogits(trained.model, reinforced, inputs, 5), -1)].map((x) => x.arraySync() as number[][]);
    });
    let before = 0;
    let differAfter = 0;
    rows.forEach((r, i) => {
      const first = r.tr.spans[0].start;
      for (let k = 0; k <= first; k++) {
        before++;
        assert.equal(withA[i][k], without[i][k], `row ${i} t=${k}: before/at the first anchor the labels agree`);
      }
      for (let k = first; k < Math.min(Buffer.byteLength(r.text), T); k++) if (al.mask[i * T + k] > 0 && withA[i][k] !== without[i][k]) differAfter++;
    });
    assert.ok(before > 0);
    t.diagnostic(`${rows.length} passages with anchors: ${differAfter} labels changed by the anchors, ${before} positions up to the first anchor unchanged`);
    assert.ok(differAfter >= 3, `only ${differAfter} labels changed by the anchors`);
  } finally {
    disposeModel(reinforced);
  }
});

test('tiny: generic-labels with anchors lowers VerbMem; θ_o unchanged; details report the substitution; no leaks', async (t) => {
  const forget = trained.corpus.train.filter((d) => d.source === SOURCE);
  const retain = trained.corpus.train.filter((d) => d.source !== SOURCE);
  const snapshot = (m: LanguageModel) => [...m.params.values()].map((v) => Array.from(v.dataSync() as Float32Array));
  const before0 = snapshot(trained.model);
  const base = verbMem(trained.model, forget, { maxPassages: 24 }).mean;
  assert.ok(base > 0.02, `original VerbMem ${base}`);
  const nBefore = tf.memory().numTensors;
  const p = params({ steps: 10, reinforceSteps: 10 });
  assert.equal(p.anchors, true);
  const r = await genericLabels.run(trained.model, p, { forget, retain, seed: 0 });
  const vm = verbMem(r.model, forget, { maxPassages: 24 }).mean;
  t.diagnostic(`VerbMem ${base.toFixed(4)} -> ${vm.toFixed(4)}; anchors: ${JSON.stringify(r.details!.anchors)}`);
  assert.ok(vm < base, `VerbMem ${vm} not below the original's ${base}`);
  const a = r.details!.anchors as { enabled: boolean; passagesWithAnchors: number; positions: { translated: number; masked: number; anchors: number }; dictionaries: Record<string, unknown> };
  assert.equal(a.enabled, true);
  assert.ok(a.passagesWithAnchors > 0 && a.positions.translated > 0 && a.positions.masked > 0 && a.positions.anchors > 0, JSON.stringify(a));
  assert.ok(a.dictionaries[SOURCE]);
  assert.deepEqual(snapshot(trained.model), before0, 'the original model was modified');
  disposeModel(r.model);
  assert.equal(tf.memory().numTensors, nBefore, 'generic-labels leaks tensors');
});

test('no dictionary for the source (or anchors: false): the reinforced-model formula alone, and the details say so', async () => {
  const forget: LmDocument[] = trained.corpus.train.filter((d) => d.source === SOURCE).map((d) => ({ ...d, source: 'sotu/barack-obama' }));
  const retain = trained.corpus.train.filter((d) => d.source !== SOURCE);
  const small = { steps: 2, reinforceSteps: 2 };
  const none = await genericLabels.run(trained.model, params(small), { forget, retain, seed: 0 });
  const off = await genericLabels.run(trained.model, params({ ...small, anchors: false }), { forget: forget.map((d) => ({ ...d, source: SOURCE })), retain, seed: 0 });
  const on = await genericLabels.run(trained.model, params(small), { forget: forget.map((d) => ({ ...d, source: SOURCE })), retain, seed: 0 });
  try {
    const an = none.details!.anchors as { note: string; dictionaries: Record<string, unknown>; positions: { translated: number } };
    assert.match(an.note, /no anchor dictionary.*sotu\/barack-obama.*no substitution/);
    assert.equal(an.dictionaries['sotu/barack-obama'], null);
    assert.equal(an.positions.translated, 0);
    assert.match((off.details!.anchors as { note: string }).note, /disabled/);
    // same seeds, same formula: identical losses without a dictionary and with anchors off; different with anchors on
    assert.deepEqual(none.details!.losses, off.details!.losses);
    assert.notDeepEqual(on.details!.losses, off.details!.losses);
  } finally {
    for (const r of [none, off, on]) disposeModel(r.model);
  }
  assert.throws(() => params({ anchors: 'yes' }), /anchors/);
});
