/**
 * Per-kernel time profile of one training step of bench/engine.ts's MLP 784-256-10 and CNN
 * (batch 128, SGD, random data) on the current backend (UNLEARN_NATIVE / UNLEARN_NATIVE_THREADS
 * choose the wasm kernel path). Every registered wasm kernel is wrapped with a timer; the step's
 * wall time minus the kernels' sum is the engine's own dispatch (tape, tidy, tensor bookkeeping,
 * gradient functions in JS). Each model is measured with the training fusion of
 * src/engine/fused.ts off and on, in alternating blocks of steps, and both tables are printed,
 * with wall and process CPU time per step (on a loaded machine, with one OpenBLAS thread, CPU
 * time is the steadier of the two).
 *
 *   npx tsx bench/engine_profile.ts [steps]     # prints a Markdown table per model
 */
import * as tf from '@tensorflow/tfjs-core';
import { instrumentWasmKernels, kernelTimer, type KernelTally } from './kernelTimer.js';
import * as tfl from '@tensorflow/tfjs-layers';
import { backendDescription, initEngine } from '../src/engine/backend.js';
import { setTrainingFusionEnabled } from '../src/engine/fused.js';

const STEPS = Number(process.argv[2] ?? 200);
const BATCH = 128;
/** PROFILE_DETAIL=1: one row per kernel and input shapes (and transposes). */
const detail = process.env.PROFILE_DETAIL === '1';

function mlp(): tfl.Sequential {
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ inputShape: [784], units: 256, activation: 'relu' }));
  m.add(tfl.layers.dense({ units: 10 }));
  return m;
}

function cnn(): tfl.Sequential {
  const m = tfl.sequential();
  m.add(tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 16, kernelSize: 3, activation: 'relu' }));
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tfl.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }));
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tfl.layers.flatten());
  m.add(tfl.layers.dense({ units: 10 }));
  return m;
}

/** Per-kernel [calls, ms] and wall ms of the steps run with the fusion on or off. */
type Tally = { acc: KernelTally; wall: number; cpu: number; steps: number };

function table(name: string, features: number, label: string, t: Tally): void {
  const wall = t.wall / t.steps;
  const rows = [...t.acc.entries()].map(([k, [n, ms]]) => ({ k, calls: n / t.steps, ms: ms / t.steps })).sort((a, b) => b.ms - a.ms);
  const kern = rows.reduce((s, r) => s + r.ms, 0);
  console.log(`\n### ${name}, ${label} (${features} features, batch ${BATCH}, ${backendDescription()})\n`);
  console.log(`step ${(wall * 1000).toFixed(0)} µs = ${((BATCH / wall) * 1000).toFixed(0)} examples/s; kernels ${(kern * 1000).toFixed(0)} µs (${((100 * kern) / wall).toFixed(0)} %), dispatch and JS ${((wall - kern) * 1000).toFixed(0)} µs (${((100 * (wall - kern)) / wall).toFixed(0)} %), ${rows.reduce((s, r) => s + r.calls, 0)} kernel calls\n`);
  console.log('| kernel | calls/step | µs/step | % of step |');
  console.log('|---|--:|--:|--:|');
  for (const r of rows) console.log(`| ${r.k} | ${r.calls} | ${(r.ms * 1000).toFixed(0)} | ${((100 * r.ms) / wall).toFixed(1)} |`);
}

/**
 * Profiles `steps` steps with the training fusion (src/engine/fused.ts) off and `steps` with it
 * on, in alternating blocks of PROFILE_BLOCK steps (default 10) so load changes hit both alike.
 */
function profile(name: string, model: tfl.Sequential, inShape: number[], steps: number): void {
  const features = inShape.reduce((a, b) => a * b, 1);
  const x = tf.randomUniform([BATCH, ...inShape]);
  const y = tf.cast(tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32'), 10), 'float32');
  const opt = tf.train.sgd(0.01);
  const step = () => {
    const cost = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor), true);
    cost?.dataSync();
    cost?.dispose();
  };
  const tallies = new Map<boolean, Tally>([false, true].map((f) => [f, { acc: new Map(), wall: 0, cpu: 0, steps: 0 }]));
  for (const fuse of [false, true]) {
    setTrainingFusionEnabled(fuse);
    for (let i = 0; i < 10; i++) step();
  }
  const block = Math.max(1, Number(process.env.PROFILE_BLOCK ?? 10));
  for (let done = 0; done < steps; done += block) {
    for (const fuse of [false, true]) {
      const t = tallies.get(fuse)!;
      setTrainingFusionEnabled(fuse);
      kernelTimer.acc = t.acc;
      kernelTimer.on = true;
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      for (let i = 0; i < block; i++) step();
      const c = process.cpuUsage(c0);
      t.wall += performance.now() - t0;
      t.cpu += (c.user + c.system) / 1000;
      t.steps += block;
      kernelTimer.on = false;
    }
  }
  setTrainingFusionEnabled(true);
  const off = tallies.get(false)!;
  const fused = tallies.get(true)!;
  table(name, features, 'unfused', off);
  table(name, features, 'fused', fused);
  const ms = (t: Tally) => `${(t.wall / t.steps).toFixed(3)} ms/step (process CPU ${(t.cpu / t.steps).toFixed(3)} ms/step)`;
  console.log(`\n${name}: unfused ${ms(off)} → fused ${ms(fused)}`);
  tf.dispose([x, y]);
  opt.dispose();
  model.dispose();
}

await initEngine('wasm');
instrumentWasmKernels(detail);
profile('MLP 784-256-10 train', mlp(), [784], STEPS);
profile('CNN (2 conv + dense) train', cnn(), [28, 28, 1], Math.max(10, Math.round(STEPS / 10)));
