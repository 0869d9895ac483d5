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
import * as tfl from '@tensorflow/tfjs-layers';
import { backendDescription, initEngine } from '../src/engine/backend.js';
import { setTrainingFusionEnabled } from '../src/engine/fused.js';

const STEPS = Number(process.argv[2] ?? 200);
const BATCH = 128;

/** kernel name → [calls, ms] accumulated while `on`. */
let acc = new Map<string, [number, number]>();
let on = false;
let depth = 0;
/** PROFILE_DETAIL=1: one row per kernel and input shapes (and transposes). */
const detail = process.env.PROFILE_DETAIL === '1';

function describe(args: unknown): string {
  const { inputs, attrs } = args as { inputs: Record<string, tf.TensorInfo>; attrs?: Record<string, unknown> };
  const shapes = Object.values(inputs).filter((t) => t).map((t) => `[${t.shape.join(',')}]`).join(' ');
  const t = attrs && ('transposeA' in attrs || 'transposeB' in attrs) ? ` tA${attrs.transposeA ? 1 : 0} tB${attrs.transposeB ? 1 : 0}` : '';
  return shapes + t;
}

/** Wraps every wasm kernel with a timer (only the outermost kernel of nested calls counts). */
function instrument(): void {
  for (const k of tf.getKernelsForBackend('wasm')) {
    const f = k.kernelFunc;
    tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel({
      ...k,
      kernelFunc: ((args: unknown) => {
        if (!on || depth > 0) return (f as (a: unknown) => unknown)(args);
        depth++;
        const t0 = performance.now();
        try {
          return (f as (a: unknown) => unknown)(args);
        } finally {
          const dt = performance.now() - t0;
          depth--;
          const key = detail ? `${k.kernelName} ${describe(args)}` : k.kernelName;
          const e = acc.get(key) ?? [0, 0];
          e[0]++;
          e[1] += dt;
          acc.set(key, e);
        }
      }) as tf.KernelFunc,
    });
  }
}

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
type Tally = { acc: Map<string, [number, number]>; wall: number; cpu: number; steps: number };

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
      acc = t.acc;
      on = true;
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      for (let i = 0; i < block; i++) step();
      const c = process.cpuUsage(c0);
      t.wall += performance.now() - t0;
      t.cpu += (c.user + c.system) / 1000;
      t.steps += block;
      on = false;
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
instrument();
profile('MLP 784-256-10 train', mlp(), [784], STEPS);
profile('CNN (2 conv + dense) train', cnn(), [28, 28, 1], Math.max(10, Math.round(STEPS / 10)));
