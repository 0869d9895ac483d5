import { z } from 'zod';
import * as tf from '@tensorflow/tfjs-core';
import { forward, type LanguageModel } from '../model.js';
import { nllLoss } from '../train.js';
import { optimizeFrom, optParams, type LmMethod } from './method.js';

const schema = z.object({ ...optParams, retainWeight: z.number().min(0).default(1) }).strict();

/**
 * Masked mean per-token KL(p_ref ‖ p_θ) (nats) over a batch: Σ_v p_ref(v)(log p_ref(v) − log p_θ(v)).
 * ref logits are computed without gradient. Call inside a gradient function.
 */
export function tokenKl(m: LanguageModel, ref: LanguageModel, t: { inputs: tf.Tensor2D; weights: tf.Tensor2D }): tf.Scalar {
  const refLogp = tf.logSoftmax(forward(ref, t.inputs)); // θ_o's variables are not differentiated
  const logp = tf.logSoftmax(forward(m, t.inputs));
  const kl = tf.sum(tf.mul(tf.exp(refLogp), tf.sub(refLogp, logp)), -1); // [B, T]
  return tf.div(tf.sum(tf.mul(kl, t.weights)), tf.maximum(tf.sum(t.weights), 1)) as tf.Scalar;
}

/** KL-regularised ascent: loss = −NLL(D_f) + λ·KL(p_θo ‖ p_θ) on D_r (θ_o frozen). */
export const klRegularized: LmMethod<z.infer<typeof schema>> = {
  id: 'kl',
  guarantee: 'approximate',
  description: 'ascent on the forget source + KL to the original model on the retained sources',
  reference: 'Maini et al. 2024 (TOFU, "KL minimisation"); Yao et al. 2023 (Large Language Model Unlearning)',
  paramsSchema: schema,
  async run(original, p, ctx) {
    const r = optimizeFrom(original, p, ctx, true, (m, f, rt) => tf.add(tf.neg(nllLoss(m, f)), tf.mul(tokenKl(m, original, rt!), p.retainWeight)), this.id);
    return { model: r.model, details: { losses: r.losses } };
  },
};
