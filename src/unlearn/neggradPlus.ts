import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Rng, deriveSeed } from '../engine/rng.js';
import { cloneModel } from '../models/build.js';
import { batchTensors } from '../train/batches.js';
import { crossEntropy } from '../train/loss.js';
import { createProgress } from '../train/progress.js';
import { makeOptimizer, optimizeStep, trainableVariables } from '../train/step.js';
import { optimizerParams, pairedBatches, resolveOptimizer } from './common.js';
import type { UnlearningMethod } from './method.js';

export const NegGradPlusParams = z
  .object({
    /** Weight of the retain loss; the forget loss gets −(1 − alpha). docs/methods.md: 0.95–0.999. */
    alpha: z.number().gt(0).lt(1).default(0.99),
    epochs: z.number().int().positive().default(2),
    ...optimizerParams,
  })
  .strict();
export type NegGradPlusParams = z.infer<typeof NegGradPlusParams>;

/**
 * NegGrad+ (Kurmanji et al., NeurIPS 2023): from θ_o, minimise
 * α·CE(D_r batch) − (1−α)·CE(D_f batch) over (retain, cycled forget) batch pairs.
 */
export const neggradPlus: UnlearningMethod<NegGradPlusParams> = {
  id: 'neggrad-plus',
  guarantee: 'approximate',
  description: 'descend on the retain loss while ascending on the forget loss (weighted by alpha)',
  reference: 'Kurmanji, Triantafillou, Hayes, Triantafillou, "Towards Unbounded Machine Unlearning", NeurIPS 2023',
  paramsSchema: NegGradPlusParams,
  async run(original, params, ctx) {
    const model = cloneModel(original, ctx.spec);
    const opt = resolveOptimizer(params, ctx);
    const optimizer = makeOptimizer(opt);
    const vars = trainableVariables(model);
    const train = ctx.split.train;
    const rng = new Rng(deriveSeed(ctx.seed, 'neggrad-plus'));
    const steps = Math.ceil(ctx.forget.retainIdx.length / opt.batchSize);
    const progress = createProgress('neggrad-plus', steps * params.epochs, ctx.quiet);
    const epochLosses: number[] = [];
    try {
      for (let epoch = 1; epoch <= params.epochs; epoch++) {
        let sum = 0;
        const pairs = pairedBatches(ctx.forget.retainIdx, ctx.forget.forgetIdx, opt.batchSize, opt.batchSize, rng);
        for (const [r, f] of pairs) {
          const br = batchTensors(train, r);
          const bf = batchTensors(train, f);
          try {
            const loss = optimizeStep(
              optimizer,
              vars,
              () => {
                const lr = crossEntropy(model.apply(br.x, { training: true }) as tf.Tensor, br.y);
                const lf = crossEntropy(model.apply(bf.x, { training: true }) as tf.Tensor, bf.y);
                return tf.sub(tf.mul(lr, params.alpha), tf.mul(lf, 1 - params.alpha)) as tf.Scalar;
              },
              { weightDecay: opt.weightDecay, where: `in neggrad-plus epoch ${epoch}` },
            );
            sum += loss;
            progress.tick({ loss });
          } finally {
            tf.dispose([br.x, br.y, bf.x, bf.y]);
          }
        }
        epochLosses.push(sum / pairs.length);
      }
    } finally {
      progress.stop();
      optimizer.dispose();
    }
    return { model, details: { effective: opt, epochLosses } };
  },
};
