import { z } from 'zod';
import { nllLoss } from '../train.js';
import * as tf from '@tensorflow/tfjs-core';
import { optimizeFrom, optParams, type LmMethod } from './method.js';

const schema = z.object({ ...optParams }).strict();

/** Gradient ascent: maximise the next-token NLL of the forget source: loss = −NLL(D_f). */
export const gradientAscent: LmMethod<z.infer<typeof schema>> = {
  id: 'gradient-ascent',
  guarantee: 'approximate',
  description: 'maximise the LM loss on the forget source',
  reference: 'Jang et al., ACL 2023 (Knowledge Unlearning); Maini et al. 2024 (TOFU)',
  paramsSchema: schema,
  async run(original, p, ctx) {
    const r = optimizeFrom(original, p, ctx, false, (m, f) => tf.neg(nllLoss(m, f)), this.id);
    return { model: r.model, details: { losses: r.losses } };
  },
};
