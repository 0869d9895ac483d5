/**
 * Data-parallel overhead and scaling probe: MLP 784-256-10 and CNN training (batch 128, SGD,
 * random data) in this thread, with src/engine/dataParallel.ts on 1 worker (the cost of the
 * shared-buffer hand-off and gradient copy alone) and on 2 workers; interleaved 1.5 s slices,
 * best of 3, examples/s.
 *
 *   UNLEARN_NATIVE_THREADS=1 npx tsx bench/engine_dp.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../src/engine/backend.js';
import { DataParallelTrainer } from '../src/engine/dataParallel.js';
import { mlp, cnn } from './engine_models.js';
await initEngine('wasm');
const B = 128, POOL = 1024;
for (const kind of ['mlp', 'cnn'] as const) {
  const f = 784;
  const x = Float32Array.from({ length: POOL * f }, Math.random);
  const y = new Float32Array(POOL * 10);
  for (let i = 0; i < POOL; i++) y[i * 10 + Math.floor(Math.random() * 10)] = 1;
  const model = kind === 'mlp' ? mlp() : cnn();
  const shape = kind === 'mlp' ? [784] : [28, 28, 1];
  const opt = tf.train.sgd(0.01);
  const here = (i: number) => {
    const o = (i % 8) * B;
    tf.tidy(() => {
      const xb = tf.tensor(x.subarray(o * f, (o + B) * f), [B, ...shape]);
      const yb = tf.tensor2d(y.subarray(o * 10, (o + B) * 10), [B, 10]);
      opt.minimize(() => tf.losses.softmaxCrossEntropy(yb, model.apply(xb, { training: true }) as tf.Tensor), true)!.dataSync();
    });
  };
  const mk = (n: number) => DataParallelTrainer.create({ workers: n, module: new URL('./engine_models.ts', import.meta.url).href, fn: 'parallel', args: { kind }, optimizer: { name: 'sgd', learningRate: 0.01 }, maxBatch: B });
  const d1 = await mk(1), d2 = await mk(2);
  const cols: [string, (i: number) => void][] = [['in-process', here], ['dp 1 worker', (i) => d1.stepSync(x.subarray((i % 8) * B * f), y.subarray((i % 8) * B * 10), B)], ['dp 2 workers', (i) => d2.stepSync(x.subarray((i % 8) * B * f), y.subarray((i % 8) * B * 10), B)]];
  const best = new Map<string, number>();
  for (const [, s] of cols) s(0);
  for (let r = 0; r < 3; r++) for (const [name, s] of cols) {
    const t0 = performance.now(); let n = 0;
    while (performance.now() - t0 < 1500) s(n++);
    best.set(name, Math.max(best.get(name) ?? 0, (n * B) / ((performance.now() - t0) / 1000)));
  }
  console.log(kind, [...best].map(([k, v]) => `${k} ${Math.round(v)}`).join(' | '));
  await d1.close(); await d2.close();
}
process.exit(0);
