import { z } from 'zod';
import * as tf from '@tensorflow/tfjs-core';
import type { LanguageModel } from '../model.js';
import { nllLoss } from '../train.js';
import { sequenceLogLik } from './npo.js';
import { optimizeFrom, optParams, type LmMethod } from './method.js';

/**
 * Defaults of Fan et al. 2024 ("Simplicity Prevails: Rethinking Negative Preference Optimization
 * for LLM Unlearning"), TOFU setting: β = 2.5, margin γ = 0 (the paper finds γ = 0 best there).
 * The retain weight λ is tuned per benchmark in the paper; 1 here, as for the other methods.
 */
const schema = z
  .object({ ...optParams, beta: z.number().positive().default(2.5), gamma: z.number().min(0).default(0), retainWeight: z.number().min(0).default(1) })
  .strict();

/**
 * SimNPO's forget term from per-sequence log-likelihoods:
 * L_f = −(2/β)·mean_y log σ(−(β/|y|)·log π_θ(y) − γ) = (2/β)·mean_y softplus((β/|y|)·log π_θ(y) + γ).
 * logLik: float32 [B] (Σ_t log p(y_t | y_<t), nats); lengths: float32 [B] (|y| in tokens, ≥ 1).
 * No reference model: the length-normalised likelihood replaces NPO's ratio to π_ref.
 */
export function simnpoForgetLoss(logLik: tf.Tensor1D, lengths: tf.Tensor1D, beta: number, gamma: number): tf.Scalar {
  const z = tf.add(tf.mul(tf.div(logLik, tf.maximum(lengths, 1)), beta), gamma);
  return tf.mul(tf.mean(tf.softplus(z)), 2 / beta) as tf.Scalar;
}

/** {@link simnpoForgetLoss} of a model on a forget batch (padding excluded from |y|). */
export function simnpoLoss(m: LanguageModel, f: { inputs: tf.Tensor2D; targets: tf.Tensor2D; weights: tf.Tensor2D }, beta: number, gamma: number): tf.Scalar {
  return simnpoForgetLoss(sequenceLogLik(m, f), tf.sum(f.weights, 1) as tf.Tensor1D, beta, gamma);
}

/** SimNPO + retain NLL: L = L_f(D_f) + λ·NLL(D_r). */
export const simnpo: LmMethod<z.infer<typeof schema>> = {
  id: 'simnpo',
  guarantee: 'approximate',
  description: 'NPO without the reference model: length-normalised likelihood, margin γ (β = 2.5, γ = 0) + retain NLL',
  reference: 'Fan, Liu, Lin, Jia, Zhang, Mei, Liu 2024, "Simplicity Prevails: Rethinking Negative Preference Optimization for LLM Unlearning"',
  paramsSchema: schema,
  async run(original, p, ctx) {
    const r = optimizeFrom(original, p, ctx, true, (m, f, rt) => tf.add(simnpoLoss(m, f, p.beta, p.gamma), tf.mul(nllLoss(m, rt!), p.retainWeight)), this.id);
    return { model: r.model, details: { losses: r.losses } };
  },
};
