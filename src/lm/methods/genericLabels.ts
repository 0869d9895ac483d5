import { z } from 'zod';
import * as tf from '@tensorflow/tfjs-core';
import { deriveSeed } from '../../engine/rng.js';
import { cloneModel, disposeModel, forward, type LanguageModel } from '../model.js';
import { trainLm } from '../train.js';
import { optimizeFrom, optParams, type LmMethod } from './method.js';

const schema = z
  .object({
    ...optParams,
    /** α of the generic-prediction formula (the paper uses 5). */
    alpha: z.number().min(0).default(5),
    /** Steps of further training on D_f that produce the reinforced model. */
    reinforceSteps: z.number().int().min(1).default(40),
    reinforceLearningRate: z.number().positive().default(1e-3),
    /** `hard`: CE on argmax of the generic logits (the paper's labels); `soft`: CE on their softmax. */
    targets: z.enum(['hard', 'soft']).default('hard'),
  })
  .strict();

/** Generic logits v_base − α·ReLU(v_reinforced − v_base) for a batch: [B, T, V]. Call inside tidy. */
export function genericLogits(base: LanguageModel, reinforced: LanguageModel, inputs: tf.Tensor2D, alpha: number): tf.Tensor3D {
  const vb = forward(base, inputs);
  const vr = forward(reinforced, inputs);
  return tf.sub(vb, tf.mul(tf.relu(tf.sub(vr, vb)), alpha)) as tf.Tensor3D;
}

/**
 * "Who's Harry Potter?" (Eldan & Russinovich 2023): train a reinforced model θ_rf further on the
 * forget source; tokens that θ_rf boosts over θ_o are source-specific. Generic targets
 * v_g = v_o − α·ReLU(v_rf − v_o); fine-tune θ_o on the forget passages with the generic labels as
 * targets. (The paper's anchor-term substitution — replacing idiosyncratic names with generic
 * ones in the input — is not used: it needs a dictionary of the source's terms.)
 */
export const genericLabels: LmMethod<z.infer<typeof schema>> = {
  id: 'generic-labels',
  guarantee: 'approximate',
  description: "reinforced model + fine-tuning on generic-prediction labels (Who's Harry Potter)",
  reference: "Eldan & Russinovich 2023, \"Who's Harry Potter? Approximate Unlearning in LLMs\"",
  paramsSchema: schema,
  async run(original, p, ctx) {
    const reinforced = cloneModel(original);
    try {
      trainLm(reinforced, ctx.forget, { steps: p.reinforceSteps, batchSize: p.batchSize, learningRate: p.reinforceLearningRate, clipNorm: p.clipNorm, seed: deriveSeed(ctx.seed, 'reinforce') });
      const V = original.config.vocabSize;
      const r = optimizeFrom(original, p, ctx, false, (m, f) => {
        const target = tf.tidy(() => {
          const g = genericLogits(original, reinforced, f.inputs, p.alpha);
          return p.targets === 'hard' ? tf.cast(tf.oneHot(tf.argMax(g, -1), V), 'float32') : tf.softmax(g);
        });
        const logp = tf.logSoftmax(forward(m, f.inputs));
        const ce = tf.neg(tf.sum(tf.mul(target, logp), -1)); // [B, T]
        return tf.div(tf.sum(tf.mul(ce, f.weights)), tf.maximum(tf.sum(f.weights), 1)) as tf.Scalar;
      }, this.id);
      return { model: r.model, details: { losses: r.losses } };
    } finally {
      disposeModel(reinforced);
    }
  },
};
