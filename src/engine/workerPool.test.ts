import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { isUnlearnError } from '../errors.js';
import { buildModel, weightsToHost } from '../models/build.js';
import { initEngine } from './backend.js';
import { WorkerPool } from './workerPool.js';

const pool = new WorkerPool({ size: 2, backend: 'wasm' });
const fixture = new URL('./workerPool.fixture.ts', import.meta.url).href;
after(() => pool.close());

test('workers run tasks on their own wasm backend and give the in-process result', async () => {
  await initEngine('wasm');
  const results = await Promise.all([1, 2, 3].map((seed) => pool.run<{ backend: string; weights: Float32Array[] }>(fixture, 'initWeights', { seed })));
  results.forEach((r, i) => {
    assert.equal(r.backend, 'wasm');
    assert.deepEqual(r.weights, weightsToHost(buildModel({ kind: 'mlp', inputShape: [8], numClasses: 3, hidden: [4], activation: 'relu' }, i + 1)));
  });
});

test("a task's UnlearnError reaches the caller with its code and hint", async () => {
  await assert.rejects(pool.run(fixture, 'fails', {}), (e) => isUnlearnError(e, 'SUBJECT_NOT_FOUND') && (e as { hint?: string }).hint === 'hint from worker');
  await assert.rejects(pool.run(fixture, 'nope', {}), /exports no function nope/);
});
