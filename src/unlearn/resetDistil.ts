import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Rng, deriveSeed } from '../engine/rng.js';
import { buildModel, cloneModel } from '../models/build.js';
import { batchIndices } from '../train/batches.js';
import { crossEntropy, distillKl } from '../train/loss.js';
import { trainableVariables } from '../train/step.js';
import { optimiseEpochs, optimizerParams, resolveOptimizer, teacherLogits } from './common.js';
import type { UnlearningMethod } from './method.js';

export const ResetDistilParams = z
  .object({
    /**
     * What is re-initialised: `layers` = the last ⌈fraction·L⌉ of the L weighted layers (kernel and
     * bias; counted from the output, as the challenge entries reset the classifier head first);
     * `weights` = a seeded random ⌈fraction⌉ share of the entries of every weight tensor.
     */
    scope: z.enum(['layers', 'weights']).default('weights'),
    fraction: z.number().gt(0).max(1).default(0.3),
    /** Std of Gaussian noise added to every weight after the reset (weight units); 0 = none. */
    noise: z.number().min(0).default(0),
    /** Distillation epochs over D_r. */
    epochs: z.number().int().positive().default(2),
    /** Distillation temperature T. */
    temperature: z.number().positive().default(4),
    /** Weight of the retain cross-entropy added to the distillation KL (0 = pure distillation). */
    ceWeight: z.number().min(0).default(0),
    ...optimizerParams,
  })
  .strict();
export type ResetDistilParams = z.infer<typeof ResetDistilParams>;

/**
 * Reset-and-distil, the "erase, then repair" recipe of top entries of the NeurIPS 2023 Machine
 * Unlearning challenge (Triantafillou, Pedregosa et al., 2023; e.g. the re-initialise-and-repair
 * solutions described in the challenge report): (1) erase — replace a chosen share of θ_o by fresh
 * initial values (Glorot-uniform kernels, zero biases, from a seed derived from the run's) and
 * optionally add N(0, noise²) to every weight; (2) repair — distil from the frozen θ_o on D_r only,
 *   min_θ KL_T(θ_o(x) ‖ s_θ(x)) + ceWeight·CE(s_θ(x), y),  x ∈ D_r,
 * so the student relearns what θ_o knows about the retain set but gets no signal on D_f.
 */
export const resetDistil: UnlearningMethod<ResetDistilParams> = {
  id: 'reset-distil',
  guarantee: 'approximate',
  description: 're-initialise a share of the layers or weights (optional noise), then distil from the original on the retain set',
  reference: 'NeurIPS 2023 Machine Unlearning challenge (Triantafillou, Pedregosa et al.): "erase, then repair" entries',
  paramsSchema: ResetDistilParams,
  async run(original, params, ctx) {
    const student = cloneModel(original, ctx.spec);
    const fresh = buildModel(ctx.spec, deriveSeed(ctx.seed, 'reset-distil/init'));
    const rng = new Rng(deriveSeed(ctx.seed, 'reset-distil'));
    const vars = trainableVariables(student);
    const init = trainableVariables(fresh).map((v) => v.dataSync() as Float32Array);
    fresh.dispose();
    // Weighted layers: kernels have rank ≥ 2; each is followed by its bias in model order.
    const layerOf: number[] = [];
    let layer = -1;
    vars.forEach((v) => layerOf.push(v.shape.length >= 2 ? ++layer : layer));
    const nLayers = layer + 1;
    const firstReset = nLayers - Math.ceil(params.fraction * nLayers);
    let reset = 0;
    vars.forEach((v, i) => {
      const w = new Float32Array(v.dataSync());
      for (let k = 0; k < w.length; k++) {
        if (params.scope === 'layers' ? layerOf[i] >= firstReset : rng.next() < params.fraction) ((w[k] = init[i][k]), reset++);
        if (params.noise > 0) w[k] += params.noise * rng.normal();
      }
      const t = tf.tensor(w, v.shape, 'float32');
      v.assign(t);
      t.dispose();
    });
    const opt = resolveOptimizer(params, ctx);
    const epochLosses = optimiseEpochs(student, opt, {
      label: 'reset-distil',
      epochs: params.epochs,
      quiet: ctx.quiet,
      plan: () => ({ ds: ctx.split.train, batches: batchIndices(ctx.forget.retainIdx, opt.batchSize, rng) }),
      loss: (b) => {
        const s = student.apply(b.x, { training: true }) as tf.Tensor;
        const kl = distillKl(teacherLogits(original, b.x), s, params.temperature);
        return (params.ceWeight > 0 ? tf.add(kl, tf.mul(crossEntropy(s, b.y), params.ceWeight)) : kl) as tf.Scalar;
      },
    });
    return { model: student, details: { effective: opt, epochLosses, reinitialised: reset } };
  },
};
