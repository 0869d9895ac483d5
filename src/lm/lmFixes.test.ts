/** Regressions of the language-model track (defect 10, issue 10 part 7). */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initEngine } from '../engine/backend.js';
import { disposeModel, initModel, type LmConfig } from './model.js';
import { decodeEscaped, VOCAB_SIZE } from './tokenizer.js';
import { lmForget, lmTrainWorkflow } from './workflows.js';

const cfg: LmConfig = { name: 'test', vocabSize: VOCAB_SIZE, contextLength: 16, dModel: 16, nLayers: 1, nHeads: 2, dMlp: 32, tiedHead: true };
const corpus = { sources: ['moby-dick', 'sotu/abraham-lincoln'], maxPassagesPerSource: 12 };

before(async () => {
  await initEngine('wasm');
});

test('defect 10: training reaches the last position embedding wpe[T−1]; retrain records the recipe it ran', async () => {
  const T = cfg.contextLength;
  const r = await lmTrainWorkflow({ config: cfg, corpus, recipe: { steps: 4, batchSize: 8, seed: 2 }, backend: 'wasm' });
  assert.ok(r.corpus.train.every((d) => Buffer.byteLength(d.text) <= T) && r.corpus.train.some((d) => Buffer.byteLength(d.text) > T - 1), 'passages of up to T bytes fill all T input positions');
  const init = initModel(cfg, 2);
  const row = (m: typeof init, t: number) => Array.from((m.params.get('wpe')!.dataSync() as Float32Array).subarray(t * cfg.dModel, (t + 1) * cfg.dModel));
  assert.notDeepEqual(row(r.model, T - 1), row(init, T - 1), 'wpe[T−1] is trained');
  assert.notDeepEqual(row(r.model, 0), row(init, 0));
  const f = await lmForget({ model: r.model, manifest: r.manifest, corpus: r.corpus, source: 'moby-dick', method: 'retrain', params: { steps: 3, learningRate: 1e-3 } });
  assert.equal(f.manifest.recipe.steps, 3, 'the manifest records the recipe actually used');
  assert.equal(f.manifest.recipe.learningRate, 1e-3);
  for (const m of [init, r.model, f.model]) disposeModel(m);
});

test('issue 10.7: sampled bytes that are not valid UTF-8 are shown escaped', () => {
  const bytes = [...Buffer.from('ok é '), 0xff, 0xc3, 0x41, ...Buffer.from('\\'), 0xe2, 0x82];
  assert.equal(decodeEscaped(bytes), 'ok é \\xff\\xc3A\\\\\\xe2\\x82');
});
