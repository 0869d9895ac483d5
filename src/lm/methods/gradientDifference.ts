import { z } from 'zod';
import * as tf from '@tensorflow/tfjs-core';
import { nllLoss } from '../train.js';
import { optimizeFrom, optParams, type LmMethod } from './method.js';

const schema = z.object({ ...optParams, retainWeight: z.number().min(0).default(1) }).strict();

/** Gradient difference: loss = −NLL(D_f) + λ·NLL(D_r), λ = retainWeight. */
export const gradientDifference: LmMethod<z.infer<typeof schema>> = {
  id: 'gradient-difference',
  guarantee: 'approximate',
  description: 'ascent on the forget source + descent on the retained sources',
  reference: 'Liu et al., CoLLAs 2022; Maini et al. 2024 (TOFU)',
  paramsSchema: schema,
  async run(original, p, ctx) {
    const r = optimizeFrom(original, p, ctx, true, (m, f, rt) => tf.add(tf.neg(nllLoss(m, f)), tf.mul(nllLoss(m, rt!), p.retainWeight)), this.id);
    return { model: r.model, details: { losses: r.losses } };
  },
};
