import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../engine/backend.js';
import { isUnlearnError } from '../errors.js';
import { buildModel, weightsToHost } from '../models/build.js';
import { smallDigits } from '../testing/fixtures.js';
import { batchTensors, range } from './batches.js';
import { crossEntropy, distillKl, perExampleCrossEntropy } from './loss.js';
import { TrainRecipeSchema } from './recipe.js';
import { makeOptimizer, optimizeStep, trainableVariables } from './step.js';
import { trainModel } from './train.js';

before(async () => {
  await initEngine('wasm');
});

test('cross-entropy and distillation KL match hand-computed values', () => {
  const logits = tf.tensor2d([[0, 0], [Math.log(3), 0]]);
  const y = tf.tensor1d([0, 1], 'int32');
  // p = [0.5, 0.5] → −ln 0.5; p = [0.75, 0.25] → −ln 0.25
  const ce = perExampleCrossEntropy(logits, y).arraySync();
  assert.ok(Math.abs(ce[0] - Math.log(2)) < 1e-6 && Math.abs(ce[1] - Math.log(4)) < 1e-6);
  assert.ok(Math.abs(crossEntropy(logits, y).arraySync() - (Math.log(2) + Math.log(4)) / 2) < 1e-6);
  // KL([.75,.25] ‖ [.5,.5]) = .75 ln 1.5 + .25 ln .5, at T = 1; identical inputs give 0.
  const kl = distillKl(tf.tensor2d([[Math.log(3), 0]]), tf.tensor2d([[0, 0]]), 1).arraySync();
  assert.ok(Math.abs(kl - (0.75 * Math.log(1.5) + 0.25 * Math.log(0.5))) < 1e-6);
  assert.ok(Math.abs(distillKl(logits, logits, 4).arraySync()) < 1e-6);
});

test('training is deterministic and lowers the loss', async () => {
  const split = await smallDigits(600, 100);
  const recipe = TrainRecipeSchema.parse({ epochs: 3, batchSize: 64, seed: 11 });
  const spec = { kind: 'mlp' as const, inputShape: [784], numClasses: 10, hidden: [32], activation: 'relu' as const };
  const a = buildModel(spec, recipe.seed);
  const b = buildModel(spec, recipe.seed);
  const ra = await trainModel(a, split.train, range(600), recipe, { quiet: true });
  await trainModel(b, split.train, range(600), recipe, { quiet: true });
  assert.deepEqual(weightsToHost(a), weightsToHost(b), 'same recipe and seed → bit-identical weights');
  assert.ok(ra.epochLosses[2] < ra.epochLosses[0] * 0.8, `loss fell: ${ra.epochLosses}`);
  const c = buildModel(spec, recipe.seed);
  await trainModel(c, split.train, range(600), { ...recipe, seed: 12 }, { quiet: true });
  assert.notDeepEqual(weightsToHost(a)[0], weightsToHost(c)[0], 'another shuffling seed → other weights');
});

test('no tensor leaks across a training step (Adam and SGD with weight decay)', async () => {
  const split = await smallDigits(64, 10);
  for (const cfg of [{ optimizer: 'adam' as const, learningRate: 1e-3 }, { optimizer: 'sgd' as const, learningRate: 1e-2, momentum: 0.9 }]) {
    const model = buildModel({ kind: 'mlp', inputShape: [784], numClasses: 10, hidden: [16], activation: 'relu' }, 0);
    const opt = makeOptimizer(cfg);
    const vars = trainableVariables(model);
    const { x, y } = batchTensors(split.train, range(32));
    const step = () => optimizeStep(opt, vars, () => crossEntropy(model.apply(x) as tf.Tensor, y), { weightDecay: 5e-4 });
    step(); // creates the optimizer's slot variables
    const n = tf.memory().numTensors;
    step();
    step();
    assert.equal(tf.memory().numTensors, n);
    tf.dispose([x, y]);
    opt.dispose();
  }
});

test('a NaN loss stops training with NUMERIC_ERROR', async () => {
  const split = await smallDigits(64, 10);
  const bad = { ...split.train, features: split.train.features.slice() };
  bad.features[5] = NaN;
  const model = buildModel({ kind: 'logreg', inputShape: [784], numClasses: 10 }, 0);
  await assert.rejects(trainModel(model, bad, range(64), TrainRecipeSchema.parse({ epochs: 1 }), { quiet: true }), (e) => isUnlearnError(e, 'NUMERIC_ERROR'));
});

test('checkpoints: one LayersModel directory per epoch; the last equals the trained weights', async () => {
  const { mkdtemp, readFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const tfl = await import('@tensorflow/tfjs-layers');
  const split = await smallDigits(200, 10);
  const dir = await mkdtemp(join(tmpdir(), 'unlearn-ckpt-'));
  const model = buildModel({ kind: 'logreg', inputShape: [784], numClasses: 10 }, 0);
  await trainModel(model, split.train, range(200), TrainRecipeSchema.parse({ epochs: 2 }), { quiet: true, checkpointDir: dir });
  const load = async (k: number) => {
    const json = JSON.parse(await readFile(join(dir, `epoch-${k}`, 'model.json'), 'utf8'));
    const w = await readFile(join(dir, `epoch-${k}`, 'weights.bin'));
    const m = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength) }));
    return weightsToHost(m);
  };
  assert.deepEqual(await load(2), weightsToHost(model));
  assert.notDeepEqual((await load(1))[0], weightsToHost(model)[0]);
  assert.equal(JSON.parse(await readFile(join(dir, 'epoch-1', 'checkpoint.json'), 'utf8')).epoch, 1);
});
