import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../engine/backend.js';
import { isUnlearnError } from '../errors.js';
import { buildModel, weightsToHost } from './build.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';
import type { ModelSpec } from './spec.js';
import { canonicalNames, fromTorch, modelFromTorch, toTorch } from './torch.js';

before(async () => {
  await initEngine('cpu');
});

const CNN: ModelSpec = { kind: 'cnn', inputShape: [8, 6, 2], numClasses: 3, filters: [4, 5], kernelSize: 3, dense: 7 };
const MLP: ModelSpec = { kind: 'mlp', inputShape: [4, 3, 2], numClasses: 2, hidden: [5, 3], activation: 'tanh' };

test('toTorch then fromTorch gives back every weight exactly (CNN and MLP on 3-d input)', () => {
  for (const spec of [CNN, MLP]) {
    const m = buildModel(spec, 3);
    const back = modelFromTorch(readSafetensors(writeSafetensors(toTorch(m, spec))).tensors, spec);
    assert.deepEqual(weightsToHost(back), weightsToHost(m));
    m.dispose();
    back.dispose();
  }
});

test('Linear [out, in] is the transposed Dense kernel; Conv2d is OIHW of the HWIO kernel', () => {
  const m = buildModel(CNN, 1);
  const t = toTorch(m, CNN);
  const [conv] = m.getWeights();
  const hwio = conv.arraySync() as number[][][][];
  const oihw = t.get('0.weight')!;
  assert.deepEqual(oihw.shape, [4, 2, 3, 3]);
  const at = (o: number, i: number, y: number, x: number) => oihw.data[((o * 2 + i) * 3 + y) * 3 + x];
  assert.equal(at(3, 1, 2, 0), Math.fround(hwio[2][0][1][3]));
  assert.deepEqual(canonicalNames(CNN), ['0', '3', '7', '9']);
  assert.deepEqual(t.get('9.weight')!.shape, [3, 7]);
  m.dispose();
});

test('wrong tensor shapes and missing modules are SHAPE_MISMATCH naming the tensor', () => {
  const m = buildModel(MLP, 0);
  const t = toTorch(m, MLP);
  t.set('3.weight', { shape: [3, 4], data: new Float32Array(12) });
  assert.throws(() => fromTorch(t, MLP), (e) => isUnlearnError(e, 'SHAPE_MISMATCH') && /'3.weight' has shape \[3,4\], the spec needs \[3,5\]/.test(e.message));
  t.delete('3.weight');
  t.delete('3.bias');
  assert.throws(() => fromTorch(t, MLP), (e) => isUnlearnError(e, 'SHAPE_MISMATCH') && /has 2 weighted module\(s\)/.test(e.message));
  t.set('bn.running_mean', { shape: [3], data: new Float32Array(3) });
  assert.throws(() => fromTorch(t, MLP), (e) => isUnlearnError(e, 'SHAPE_MISMATCH') && /bn.running_mean/.test(e.message));
  m.dispose();
});

const torchAvailable = spawnSync('python3', ['-c', 'import torch, safetensors.torch'], { encoding: 'utf8' }).status === 0;

test('the canonical PyTorch module loaded from the exported safetensors computes the same logits', { skip: torchAvailable ? false : 'python3 with torch and safetensors not installed: PyTorch cross-check skipped' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'unlearn-torch-'));
  for (const [name, spec] of [['cnn', CNN], ['mlp', MLP]] as const) {
    const m = buildModel(spec, 5);
    writeFileSync(join(dir, `${name}.safetensors`), writeSafetensors(toTorch(m, spec)));
    const x = tf.randomUniform([4, ...spec.inputShape], -1, 1, 'float32', 9);
    const ours = (m.predict(x) as tf.Tensor).arraySync() as number[][];
    writeFileSync(join(dir, `${name}.x.json`), JSON.stringify(x.arraySync()));
    const py = `
import json, torch, torch.nn as nn
from safetensors.torch import load_file
kind = ${JSON.stringify(name)}
if kind == 'cnn':
    net = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 5, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(5 * 2 * 1, 7), nn.ReLU(), nn.Linear(7, 3))
else:
    net = nn.Sequential(nn.Flatten(), nn.Linear(24, 5), nn.Tanh(), nn.Linear(5, 3), nn.Tanh(), nn.Linear(3, 2))
net.load_state_dict(load_file(${JSON.stringify(join(dir, `${name}.safetensors`))}))
x = torch.tensor(json.load(open(${JSON.stringify(join(dir, `${name}.x.json`))})))
x = x.permute(0, 3, 1, 2)  # NHWC -> NCHW
print(json.dumps(net(x).tolist()))
`;
    const r = spawnSync('python3', ['-c', py], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const theirs = JSON.parse(r.stdout) as number[][];
    theirs.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - ours[i][j]) < 1e-5, `${name} logit [${i}][${j}]: torch ${v} vs ${ours[i][j]}`)));
    x.dispose();
    m.dispose();
  }
});
