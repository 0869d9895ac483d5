import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { threadCpuSeconds, withThreadCpu } from './cpuTime.js';

const linux = process.platform === 'linux';

test('thread CPU time grows with work on this thread, never faster than the wall clock, and not while sleeping', { skip: !linux && 'not Linux' }, async () => {
  // Busy until this thread's clock has advanced 0.1 s (however loaded the machine is).
  const t0 = performance.now();
  const busy = await withThreadCpu(async () => {
    const c0 = threadCpuSeconds()!;
    let x = 0;
    while (threadCpuSeconds()! - c0 < 0.1) {
      for (let i = 0; i < 1e5; i++) x += Math.sqrt(i);
      assert.ok(performance.now() - t0 < 30_000, 'the thread CPU clock did not advance while this thread was busy');
    }
    return x;
  });
  const wall = (performance.now() - t0) / 1000;
  assert.ok(busy.cpuSeconds! >= 0.1, `busy work counted ${busy.cpuSeconds} s`);
  assert.ok(busy.cpuSeconds! <= wall + 0.01, `CPU ${busy.cpuSeconds} s exceeds wall ${wall} s`);
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
