/**
 * Worker side of ./dataParallel.ts: builds one replica, then serves steps from the shared buffer
 * in a blocking loop (gradient of its shard → barrier → reduce its parameter slice → barrier →
 * optimizer update on the combined gradient → done).
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { adam } from './adam.js';
import { initEngine } from './backend.js';
import { CMD, CTL, type ParallelModel, type SharedLayout } from './dataParallel.js';

interface Data {
  index: number;
  count: number;
  backend: 'wasm' | 'cpu';
  module: string;
  fn: string;
  args: unknown;
  optimizer: { name: 'sgd' | 'adam'; learningRate: number };
  port: MessagePort;
}
const data = workerData as Data;
const port = data.port;
const W = data.index;
const N = data.count;
/** Extra command (main → worker, after start): post the replica's weights on the port. */
const CMD_WEIGHTS = CMD.weights;
/** Atomics.load polls before sleeping in Atomics.wait (a futex wake costs tens of µs). */
const SPIN = 4000;

let model: ParallelModel | undefined;

const sizeOf = (v: tf.Variable) => v.shape.reduce((a, b) => a * b, 1);
/** Bytes of the wasm heap (0 on cpu). */
const heapBytes = () => (tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.length ?? 0;
const weights = () => model!.variables.map((v) => Float32Array.from(v.dataSync() as Float32Array));

function waitWhile(ctl: Int32Array, i: number, value: number): void {
  for (let k = 0; k < SPIN; k++) if (Atomics.load(ctl, i) !== value) return;
  while (Atomics.load(ctl, i) === value) Atomics.wait(ctl, i, value);
}

function serve(sab: SharedArrayBuffer, L: SharedLayout): void {
  const m = model!;
  const ctl = new Int32Array(sab, L.ctl, 16);
  const x = new Float32Array(sab, L.x, L.maxBatch * L.xSize);
  const y = new Float32Array(sab, L.y, L.maxBatch * L.ySize);
  const slots = Array.from({ length: N }, (_, w) => new Float32Array(sab, L.grads + w * L.params * 4, L.params));
  const avg = new Float32Array(sab, L.avg, L.params);
  const loss = new Float64Array(sab, L.loss, N);
  const mine = slots[W];
  const offsets = L.sizes.map((_, i) => L.sizes.slice(0, i).reduce((a, b) => a + b, 0));
  const pLo = Math.floor((W * L.params) / N);
  const pHi = Math.floor(((W + 1) * L.params) / N);
  const opt = data.optimizer.name === 'adam' ? adam(data.optimizer.learningRate) : tf.train.sgd(data.optimizer.learningRate);
  const barrier = () => {
    const g = Atomics.load(ctl, CTL.barrierGen);
    if (Atomics.add(ctl, CTL.barrierCount, 1) === N - 1) {
      Atomics.store(ctl, CTL.barrierCount, 0);
      Atomics.add(ctl, CTL.barrierGen, 1);
      Atomics.notify(ctl, CTL.barrierGen);
    } else waitWhile(ctl, CTL.barrierGen, g);
  };
  const fail = (e: unknown) => {
    Atomics.store(ctl, CTL.failed, 1);
    port.postMessage({ ok: false, message: (e as Error).message });
  };
  let gen = 0; // a fresh buffer: commands posted before this loop starts are still seen
  for (;;) {
    waitWhile(ctl, CTL.gen, gen);
    gen = Atomics.load(ctl, CTL.gen);
    const cmd = Atomics.load(ctl, CTL.cmd);
    if (cmd === CMD.stop) break;
    if (cmd === CMD_WEIGHTS) {
      if (W === 0) port.postMessage({ ok: true, value: { weights: weights(), tensors: tf.memory().numTensors, heapBytes: heapBytes() } });
      continue;
    }
    const rows = Atomics.load(ctl, CTL.rows);
    const lo = Math.floor((W * rows) / N);
    const hi = Math.floor(((W + 1) * rows) / N);
    const scale = Math.fround((hi - lo) / rows);
    let ok = !Atomics.load(ctl, CTL.failed);
    if (ok) {
      try {
        tf.tidy(() => {
          const xs = tf.tensor(x.subarray(lo * L.xSize, hi * L.xSize), [hi - lo, ...m.xShape]);
          const ys = tf.tensor(y.subarray(lo * L.ySize, hi * L.ySize), [hi - lo, ...m.yShape]);
          const { value, grads } = tf.variableGrads(() => m.loss(xs, ys), m.variables);
          m.variables.forEach((v, i) => {
            const g = grads[v.name].dataSync() as Float32Array;
            const o = offsets[i];
            if (scale === 1) mine.set(g, o);
            else for (let j = 0; j < g.length; j++) mine[o + j] = g[j] * scale;
          });
          loss[W] = value.dataSync()[0] * scale;
        });
      } catch (e) {
        ok = false;
        fail(e);
      }
    }
    barrier();
    ok = ok && !Atomics.load(ctl, CTL.failed);
    if (ok) {
      // fixed order: worker 0's share first, float32 rounding after every add
      if (N === 1) avg.set(mine);
      else for (let j = pLo; j < pHi; j++) {
        let s = slots[0][j];
        for (let w = 1; w < N; w++) s = Math.fround(s + slots[w][j]);
        avg[j] = s;
      }
    }
    barrier();
    ok = ok && !Atomics.load(ctl, CTL.failed);
    if (ok) {
      try {
        tf.tidy(() => {
          opt.applyGradients(m.variables.map((v, i) => ({ name: v.name, tensor: tf.tensor(avg.subarray(offsets[i], offsets[i] + L.sizes[i]), v.shape) })));
        });
      } catch (e) {
        fail(e);
      }
    }
    Atomics.add(ctl, CTL.done, 1);
    Atomics.notify(ctl, CTL.done);
  }
  opt.dispose();
}

parentPort!.on('message', async (msg: { type: 'build' } | { type: 'getWeights' } | { type: 'start'; sab: SharedArrayBuffer; layout: SharedLayout; weights: Float32Array[] }) => {
  try {
    if (msg.type === 'build') {
      await initEngine(data.backend);
      const mod = (await import(data.module)) as Record<string, (a: unknown) => ParallelModel | Promise<ParallelModel>>;
      if (typeof mod[data.fn] !== 'function') throw new Error(`${data.module} exports no function ${data.fn}`);
      model = await mod[data.fn](data.args);
      const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);
      port.postMessage({ ok: true, value: { sizes: model.variables.map(sizeOf), xSize: prod(model.xShape), ySize: prod(model.yShape) } });
    } else if (msg.type === 'getWeights') {
      port.postMessage({ ok: true, value: weights() });
    } else {
      model!.variables.forEach((v, i) => v.assign(tf.tensor(msg.weights[i], v.shape)));
      port.postMessage({ ok: true });
      // leave the event loop to the blocking step loop once this handler returns
      setImmediate(() => serve(msg.sab, msg.layout));
    }
  } catch (e) {
    port.postMessage({ ok: false, message: (e as Error).message });
  }
});
