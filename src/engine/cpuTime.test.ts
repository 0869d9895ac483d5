import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { threadCpuSeconds, withThreadCpu } from './cpuTime.js';

const linux = process.platform === 'linux';

test('thread CPU time grows with work on this thread and not with sleeping', { skip: !linux && 'not Linux' }, async () => {
  const busy = await withThreadCpu(async () => {
    const t0 = performance.now();
    let x = 0;
    while (performance.now() - t0 < 200) x += Math.sqrt(x + 1);
    return x;
  });
  assert.ok(busy.cpuSeconds! > 0.12, `busy 200 ms counted ${busy.cpuSeconds} s`);
  const idle = await withThreadCpu(() => new Promise((r) => setTimeout(r, 200)));
  assert.ok(idle.cpuSeconds! < 0.05, `sleeping 200 ms counted ${idle.cpuSeconds} s`);
});

test('a busy worker thread is not counted on the calling thread', { skip: !linux && 'not Linux' }, async () => {
  const before = threadCpuSeconds()!;
  const w = new Worker('const t0 = Date.now(); let x = 0; while (Date.now() - t0 < 300) x += Math.sqrt(x + 1); require("node:worker_threads").parentPort.postMessage(x);', { eval: true });
  await new Promise((r) => w.once('message', r));
  await w.terminate();
  assert.ok(threadCpuSeconds()! - before < 0.15, 'the worker\'s 300 ms of CPU leaked into this thread\'s clock');
});
