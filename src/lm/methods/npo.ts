import { z } from 'zod';
import * as tf from '@tensorflow/tfjs-core';
import { tokenLogProbs, type LanguageModel } from '../model.js';
import { nllLoss } from '../train.js';
import { optimizeFrom, optParams, type LmMethod } from './method.js';

const schema = z.object({ ...optParams, beta: z.number().positive().default(0.1), retainWeight: z.number().min(0).default(1) }).strict();

/** Sequence log-likelihood Σ_t w·log p(y_t | y_<t) per row: [B]. */
export function sequenceLogLik(m: LanguageModel, t: { inputs: tf.Tensor2D; targets: tf.Tensor2D; weights: tf.Tensor2D }): tf.Tensor1D {
  return tf.sum(tf.mul(tokenLogProbs(m, t.inputs, t.targets), t.weights), 1) as tf.Tensor1D;
}

/**
 * NPO loss (Zhang, Lin, Bai, Mei 2024, "Negative Preference Optimization"):
 * L = (2/β)·E_{y∈D_f}[ log(1 + (π_θ(y)/π_ref(y))^β) ] = (2/β)·E[softplus(β·(log π_θ(y) − log π_ref(y)))],
 * with sequence log-likelihoods and π_ref = θ_o frozen.
 */
export function npoLoss(m: LanguageModel, ref: LanguageModel, f: { inputs: tf.Tensor2D; targets: tf.Tensor2D; weights: tf.Tensor2D }, beta: number): tf.Scalar {
  const refLl = tf.tidy(() => sequenceLogLik(ref, f)); // constant: no gradient reaches θ_o's variables
  const ratio = tf.sub(sequenceLogLik(m, f), refLl);
  return tf.mul(tf.mean(tf.softplus(tf.mul(ratio, beta))), 2 / beta) as tf.Scalar;
}

/** NPO with a retain term (NPO+RT): L_NPO(D_f) + λ·NLL(D_r). */
export const npo: LmMethod<z.infer<typeof schema>> = {
  id: 'npo',
  guarantee: 'approximate',
  description: 'negative preference optimisation on the forget source (β = 0.1) + retain NLL',
  reference: 'Zhang, Lin, Bai, Mei 2024, "Negative Preference Optimization: From Catastrophic Collapse to Effective Unlearning"',
  paramsSchema: schema,
  async run(original, p, ctx) {
    const r = optimizeFrom(original, p, ctx, true, (m, f, rt) => tf.add(npoLoss(m, original, f, p.beta), tf.mul(nllLoss(m, rt!), p.retainWeight)), this.id);
    return { model: r.model, details: { losses: r.losses } };
  },
};
