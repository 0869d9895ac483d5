/**
 * Per-kernel time profile of one training step of the `small` language model as bench/engine.ts
 * runs it (16 passages of 128 random bytes, the product's Adam, gradient clipping) on the current
 * backend (UNLEARN_NATIVE / UNLEARN_NATIVE_THREADS choose the wasm kernel path). Every registered
 * wasm kernel is wrapped with a wall and process-CPU timer (only the outermost of nested kernel calls counts); the
 * step's wall time minus the kernels' sum is the engine's own dispatch (tape, tidy, gradient
 * functions in JS). Prints wall and process CPU time per step and a Markdown table of kernels.
 *
 *   npx tsx bench/engine_profile_lm.ts [steps]        # default 20 steps after 3 warm-up steps
 *   PROFILE_DETAIL=1 npx tsx bench/engine_profile_lm.ts  # one row per kernel and input shapes
 */
import * as tf from '@tensorflow/tfjs-core';
import { instrumentWasmKernels, kernelTimer } from './kernelTimer.js';
import { adam } from '../src/engine/adam.js';
import { backendDescription, initEngine } from '../src/engine/backend.js';
import { disposeModel, initModel, lmConfig, variables } from '../src/lm/model.js';
import { batchTensors, lmStep, makeBatch, nllLoss } from '../src/lm/train.js';

const STEPS = Number(process.argv[2] ?? 20);
const BATCH = 16;
const detail = process.env.PROFILE_DETAIL === '1';

await initEngine('wasm');
const m = initModel(lmConfig('small'), 0);
const texts = Array.from({ length: 128 }, (_, i) => String.fromCharCode(...Array.from({ length: 127 }, (_, j) => 97 + ((i * 7 + j * 13) % 26))));
const opt = adam(1e-3);
const vars = variables(m);
const step = (i: number) => {
  const o = (i * BATCH) % (texts.length - BATCH);
  const b = makeBatch(texts.slice(o, o + BATCH), 128);
  return lmStep(opt, vars, () => nllLoss(m, batchTensors(b)));
};
step(0); // registers the fused Adam kernel, so it is instrumented too
instrumentWasmKernels(detail);
for (let i = 0; i < 3; i++) step(i);
const before = tf.memory().numTensors;
kernelTimer.on = true;
kernelTimer.acc = new Map();
const t0 = performance.now();
const c0 = process.cpuUsage();
for (let i = 0; i < STEPS; i++) step(i);
const c = process.cpuUsage(c0);
const wall = (performance.now() - t0) / STEPS;
const cpu = (c.user + c.system) / 1000 / STEPS;
kernelTimer.on = false;
const rows = [...kernelTimer.acc.entries()].map(([k, [n, ms, cms]]) => ({ k, calls: n / STEPS, ms: ms / STEPS, cpu: cms / STEPS })).sort((a, b) => b.cpu - a.cpu);
const kern = rows.reduce((s, r) => s + r.ms, 0);
const kernCpu = rows.reduce((s, r) => s + r.cpu, 0);
console.log(`\n### LM small train step (batch ${BATCH}, ${backendDescription()})\n`);
console.log(`step ${wall.toFixed(1)} ms wall = ${((BATCH / wall) * 1000).toFixed(1)} passages/s, process CPU ${cpu.toFixed(1)} ms/step; kernels ${kern.toFixed(1)} ms wall (${((100 * kern) / wall).toFixed(0)} %), ${kernCpu.toFixed(1)} ms CPU (${((100 * kernCpu) / cpu).toFixed(0)} % of CPU); outside kernels ${(wall - kern).toFixed(1)} ms wall, ${(cpu - kernCpu).toFixed(1)} ms CPU; ${rows.reduce((s, r) => s + r.calls, 0)} kernel calls\n`);
console.log('| kernel | calls/step | wall ms/step | CPU ms/step | % of step CPU |');
console.log('|---|--:|--:|--:|--:|');
for (const r of rows) console.log(`| ${r.k} | ${r.calls} | ${r.ms.toFixed(2)} | ${r.cpu.toFixed(2)} | ${((100 * r.cpu) / cpu).toFixed(1)} |`);
console.log(`\nleaked tensors: ${tf.memory().numTensors - before}`);
opt.dispose();
disposeModel(m);
