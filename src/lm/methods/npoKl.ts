import { z } from 'zod';
import * as tf from '@tensorflow/tfjs-core';
import { tokenKl } from './klRegularized.js';
import { npoLoss } from './npo.js';
import { optimizeFrom, optParams, type LmMethod } from './method.js';

const schema = z.object({ ...optParams, beta: z.number().positive().default(0.1), retainWeight: z.number().min(0).default(1) }).strict();

/**
 * NPO with a KL retain term (NPO+KL, Zhang et al. 2024 §5): L_NPO(D_f) + λ·KL(p_θo ‖ p_θ) on D_r,
 * per-token KL to the frozen original on the retained sources instead of their NLL, so the retain
 * term holds the original's predictive distribution (and its held-out perplexity) rather than
 * fitting the retained training passages further.
 */
export const npoKl: LmMethod<z.infer<typeof schema>> = {
  id: 'npo-kl',
  guarantee: 'approximate',
  description: 'negative preference optimisation on the forget source (β = 0.1) + KL to the original on the retained sources',
  reference: 'Zhang, Lin, Bai, Mei 2024, "Negative Preference Optimization" (NPO+KL)',
  paramsSchema: schema,
  async run(original, p, ctx) {
    const r = optimizeFrom(original, p, ctx, true, (m, f, rt) => tf.add(npoLoss(m, original, f, p.beta), tf.mul(tokenKl(m, original, rt!), p.retainWeight)), this.id);
    return { model: r.model, details: { losses: r.losses } };
  },
};
