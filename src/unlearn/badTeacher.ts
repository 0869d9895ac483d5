import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Rng, deriveSeed } from '../engine/rng.js';
import { buildModel, cloneModel } from '../models/build.js';
import { batchIndices } from '../train/batches.js';
import { distillKl } from '../train/loss.js';
import { optimiseEpochs, optimizerParams, resolveOptimizer, teacherLogits } from './common.js';
import type { UnlearningMethod } from './method.js';

export const BadTeacherParams = z
  .object({
    /** Epochs over the mixed set. Paper default 1. */
    epochs: z.number().int().positive().default(1),
    /** Distillation temperature T (the KL is scaled by T²). Paper default 1. */
    temperature: z.number().positive().default(1),
    /** Fraction of D_r (seeded sample) mixed with D_f. Paper default 0.3. */
    retainFraction: z.number().gt(0).max(1).default(0.3),
    ...optimizerParams,
  })
  .strict();
export type BadTeacherParams = z.infer<typeof BadTeacherParams>;

/**
 * Bad Teacher (Chundawat, Tarun, Mandal, Kankanhalli, "Can Bad Teaching Induce Forgetting?
 * Unlearning in Deep Networks Using an Incompetent Teacher", AAAI 2023). Student starts at θ_o;
 * the competent teacher is θ_o (frozen), the incompetent teacher a randomly initialised network
 * of the same architecture. On a shuffled mixture of D_f and a `retainFraction` sample of D_r:
 *   min_θ  E_x KL_T( t(x) ‖ s_θ(x) ),   t(x) = incompetent(x) if x ∈ D_f, else θ_o(x),
 * with KL_T the T²-scaled distillation KL of softmax(·/T). Optimizer settings default to the
 * original recipe's (the paper: Adam, lr 1e-4).
 */
export const badTeacher: UnlearningMethod<BadTeacherParams> = {
  id: 'bad-teacher',
  guarantee: 'approximate',
  description: 'distil from the original on the retain set and from a random network on the forget set',
  reference: 'Chundawat, Tarun, Mandal, Kankanhalli, "Can Bad Teaching Induce Forgetting?...", AAAI 2023',
  paramsSchema: BadTeacherParams,
  async run(original, params, ctx) {
    const student = cloneModel(original, ctx.spec);
    const incompetent = buildModel(ctx.spec, deriveSeed(ctx.seed, 'bad-teacher/incompetent'));
    const opt = resolveOptimizer(params, ctx);
    const rng = new Rng(deriveSeed(ctx.seed, 'bad-teacher'));
    const isForget = new Uint8Array(ctx.split.train.labels.length);
    for (const i of ctx.forget.forgetIdx) isForget[i] = 1;
    const nRetain = Math.max(1, Math.round(params.retainFraction * ctx.forget.retainIdx.length));
    const retainSample = rng.shuffle(Int32Array.from(ctx.forget.retainIdx)).slice(0, nRetain);
    const mixed = Int32Array.from([...ctx.forget.forgetIdx, ...retainSample]);
    try {
      const epochLosses = optimiseEpochs(student, opt, {
        label: 'bad-teacher',
        epochs: params.epochs,
        quiet: ctx.quiet,
        plan: () => ({ ds: ctx.split.train, batches: batchIndices(mixed, opt.batchSize, rng) }),
        loss: (b) => {
          const f = tf.tensor2d(Float32Array.from(b.idx, (i) => isForget[i]), [b.idx.length, 1]);
          const t = tf.add(tf.mul(f, teacherLogits(incompetent, b.x)), tf.mul(tf.sub(1, f), teacherLogits(original, b.x)));
          return distillKl(t, student.apply(b.x, { training: true }) as tf.Tensor, params.temperature);
        },
      });
      return { model: student, details: { effective: opt, epochLosses, retainSampled: nRetain } };
    } finally {
      incompetent.dispose();
    }
  },
};
