import { z } from 'zod';
import * as tf from '@tensorflow/tfjs-core';
import { UnlearnError } from '../../errors.js';
import { Rng, deriveSeed } from '../../engine/rng.js';
import { block, causalMask, type LanguageModel } from '../model.js';
import { optimizeFrom, optParams, type LmMethod } from './method.js';

/**
 * Defaults of Li et al. 2024 (WMDP, Zephyr-7B): steering coefficient c = 6.5, retain weight
 * α = 1200, and the MLP weights of layers ℓ−2, ℓ−1, ℓ updated. `layer` (ℓ, 0-based block index
 * whose output is steered) defaults to the second-to-last block, so that at least one block
 * after it stays frozen (tiny: block 0; small: block 2 with blocks 0–2 updated).
 */
const schema = z
  .object({
    ...optParams,
    layer: z.number().int().min(0).optional(),
    steeringCoeff: z.number().positive().default(6.5),
    alpha: z.number().min(0).default(1200),
    /** How many blocks up to and including ℓ are updated (3 = ℓ−2..ℓ, as in the paper). */
    updatedLayers: z.number().int().min(1).default(3),
  })
  .strict();

/**
 * The residual stream after block `layer` (0-based): tokens int32 [B, T] → float32 [B, T, d]
 * (token + position embeddings, then blocks 0..layer). Call inside tf.tidy / a gradient function.
 */
export function residualAt(m: LanguageModel, tokens: tf.Tensor2D, layer: number): tf.Tensor3D {
  const [, T] = tokens.shape;
  const P = (n: string) => m.params.get(n)!;
  let x = tf.add(tf.gather(P('wte'), tokens), tf.slice(P('wpe'), [0, 0], [T, m.config.dModel])) as tf.Tensor3D;
  const mask = causalMask(T);
  for (let l = 0; l <= layer; l++) x = block(m, l, x, mask);
  return x;
}

/** Masked mean over positions of the per-position MSE over the hidden axis: a, b [B, T, d] (b may broadcast), w [B, T]. */
function maskedMse(a: tf.Tensor, b: tf.Tensor, w: tf.Tensor2D): tf.Scalar {
  const perPos = tf.mean(tf.square(tf.sub(a, b)), -1); // [B, T]
  return tf.div(tf.sum(tf.mul(perPos, w)), tf.maximum(tf.sum(w), 1)) as tf.Scalar;
}

/**
 * RMU's loss (Li et al. 2024, WMDP, "Representation Misdirection for Unlearning"):
 * L = MSE(h_θ(x_f), c·u) + α·MSE(h_θ(x_r), h_θo(x_r)), each MSE the mean over real positions of
 * the mean squared difference over the d hidden units. hF, hR, hRFrozen: float32 [B, T, d];
 * wF, wR: float32 [B, T] (1 on real tokens, 0 on padding); u: float32 [d], a unit vector.
 */
export function rmuLoss(hF: tf.Tensor3D, wF: tf.Tensor2D, u: tf.Tensor1D, c: number, hR: tf.Tensor3D, hRFrozen: tf.Tensor3D, wR: tf.Tensor2D, alpha: number): tf.Scalar {
  return tf.add(maskedMse(hF, tf.mul(u, c), wF), tf.mul(maskedMse(hR, hRFrozen, wR), alpha)) as tf.Scalar;
}

/**
 * The fixed random direction u: d uniform [0, 1) draws (as WMDP's `torch.rand`), normalised to
 * unit L2 norm, from a seed. Same seed → same vector.
 */
export function randomUnitVector(d: number, seed: number): Float32Array {
  const rng = new Rng(deriveSeed(seed, 'rmu/u'));
  const v = Float32Array.from({ length: d }, () => rng.next());
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

/** Names of the parameters RMU updates: MLP weights and biases of blocks ℓ−k+1..ℓ. */
export function rmuTrainable(layer: number, k: number): (name: string) => boolean {
  const first = Math.max(0, layer - k + 1);
  return (name) => {
    const m = /^h(\d+)\.mlp\./.exec(name);
    return !!m && Number(m[1]) >= first && Number(m[1]) <= layer;
  };
}

/** RMU: steer forget activations at block ℓ to c·u, keep retain activations at θ_o's; update a few MLPs. */
export const rmu: LmMethod<z.infer<typeof schema>> = {
  id: 'rmu',
  guarantee: 'approximate',
  description: 'steer forget-set activations at block ℓ to c·u (random unit u, c = 6.5), keep retain activations (α = 1200); MLPs of ℓ−2..ℓ updated',
  reference: 'Li et al. 2024, "The WMDP Benchmark: Measuring and Reducing Malicious Use With Unlearning" (RMU)',
  paramsSchema: schema,
  async run(original, p, ctx) {
    const L = original.config.nLayers;
    const layer = p.layer ?? Math.max(0, L - 2);
    if (layer >= L) throw new UnlearnError('INVALID_PARAMS', `rmu layer ${layer} does not exist (the model has ${L} blocks)`, `pick layer 0..${L - 1}`);
    const u = tf.tensor1d(randomUnitVector(original.config.dModel, ctx.seed));
    try {
      const r = optimizeFrom(
        original,
        p,
        ctx,
        true,
        (m, f, rt) => {
          const frozen = tf.tidy(() => residualAt(original, rt!.inputs, layer)); // θ_o: no gradient
          return rmuLoss(residualAt(m, f.inputs, layer), f.weights, u, p.steeringCoeff, residualAt(m, rt!.inputs, layer), frozen, rt!.weights, p.alpha);
        },
        this.id,
        rmuTrainable(layer, p.updatedLayers),
      );
      return { model: r.model, details: { losses: r.losses, layer, updatedLayers: [Math.max(0, layer - p.updatedLayers + 1), layer] } };
    } finally {
      u.dispose();
    }
  },
};
