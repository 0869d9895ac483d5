/**
 * Training and scoring of the language models from host arrays: batches of passages
 * (BOS + UTF-8 bytes, padded to the context length), the masked next-token cross-entropy,
 * one Adam step with global-norm gradient clipping, and the training loop.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { UnlearnError } from '../errors.js';
import { checkDivergence } from '../train/divergence.js';
import { Rng, deriveSeed } from '../engine/rng.js';
import type { LmDocument } from './data.js';
import { forward, tokenLogProbsFromLogits, variables, type LanguageModel } from './model.js';
import { BOS, encode } from './tokenizer.js';

/** A batch on the host: B sequences of T positions, row-major. */
export interface LmBatch {
  B: number;
  T: number;
  /** int32 [B·T]: BOS followed by the passage's bytes, padded with BOS. */
  inputs: Int32Array;
  /** int32 [B·T]: the next token at each position (0 where padded). */
  targets: Int32Array;
  /** float32 [B·T]: 1 where the target is a real token, 0 on padding. */
  weights: Float32Array;
  /** The texts of the rows, in row order (before truncation to T). */
  texts: string[];
}

/**
 * Build a batch from texts. Each row is BOS + bytes of the text, truncated to T + 1 tokens
 * (T = `contextLength`): inputs are tokens 0..T−1, targets tokens 1..T.
 */
export function makeBatch(texts: string[], contextLength: number): LmBatch {
  const B = texts.length;
  const T = contextLength;
  const inputs = new Int32Array(B * T).fill(BOS);
  const targets = new Int32Array(B * T);
  const weights = new Float32Array(B * T);
  texts.forEach((text, b) => {
    const bytes = encode(text);
    const seq = [BOS, ...bytes.subarray(0, T)];
    for (let t = 0; t < seq.length - 1; t++) {
      inputs[b * T + t] = seq[t];
      targets[b * T + t] = seq[t + 1];
      weights[b * T + t] = 1;
    }
  });
  return { B, T, inputs, targets, weights, texts: [...texts] };
}

/** The batch as tensors: inputs, targets int32 [B, T]; weights float32 [B, T]. Dispose after use. */
export function batchTensors(b: LmBatch): { inputs: tf.Tensor2D; targets: tf.Tensor2D; weights: tf.Tensor2D } {
  return {
    inputs: tf.tensor2d(b.inputs, [b.B, b.T], 'int32'),
    targets: tf.tensor2d(b.targets, [b.B, b.T], 'int32'),
    weights: tf.tensor2d(b.weights, [b.B, b.T], 'float32'),
  };
}

/**
 * Masked mean next-token cross-entropy (nats per token) of a batch: −Σ w·log p(target) / Σ w.
 * Call inside tf.tidy / a gradient function.
 */
export function nllLoss(m: LanguageModel, t: { inputs: tf.Tensor2D; targets: tf.Tensor2D; weights: tf.Tensor2D }): tf.Scalar {
  const lp = tokenLogProbsFromLogits(forward(m, t.inputs), t.targets);
  return tf.div(tf.neg(tf.sum(tf.mul(lp, t.weights))), tf.maximum(tf.sum(t.weights), 1)) as tf.Scalar;
}

/**
 * Per-sequence masked mean NLL (nats/token): float32 [B]. Call inside tf.tidy.
 */
export function sequenceNll(m: LanguageModel, t: { inputs: tf.Tensor2D; targets: tf.Tensor2D; weights: tf.Tensor2D }): tf.Tensor1D {
  const lp = tokenLogProbsFromLogits(forward(m, t.inputs), t.targets);
  return tf.div(tf.neg(tf.sum(tf.mul(lp, t.weights), 1)), tf.maximum(tf.sum(t.weights, 1), 1)) as tf.Tensor1D;
}

/**
 * One optimiser step on `lossFn` w.r.t. `vars`, with gradients rescaled so their global L2 norm
 * is at most `clipNorm` (Pascanu et al. 2013; 0 = no clipping). Returns the loss (host number).
 * Leaves no tensors behind.
 * @throws UnlearnError NUMERIC_ERROR on a NaN/∞ loss.
 */
export function lmStep(optimizer: tf.Optimizer, vars: tf.Variable[], lossFn: () => tf.Scalar, clipNorm = 1, where = ''): number {
  const value = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(lossFn, vars);
    if (clipNorm > 0) {
      const norm = tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
      const scale = tf.minimum(tf.div(clipNorm, tf.add(norm, 1e-6)), 1);
      for (const k of Object.keys(grads)) grads[k] = tf.mul(grads[k], scale);
    }
    optimizer.applyGradients(grads);
    return value;
  });
  const loss = value.dataSync()[0];
  value.dispose();
  if (!Number.isFinite(loss)) throw new UnlearnError('NUMERIC_ERROR', `loss became ${loss} ${where}`.trim(), 'lower the learning rate');
  return loss;
}

/** How a language model is trained. */
export const lmRecipeSchema = z.object({
  steps: z.number().int().min(1).default(300),
  batchSize: z.number().int().min(1).default(32),
  learningRate: z.number().positive().default(3e-3),
  clipNorm: z.number().min(0).default(1),
  seed: z.number().int().default(0),
});
export type LmRecipe = z.infer<typeof lmRecipeSchema>;

/** Parse a recipe (defaults filled in). @throws UnlearnError INVALID_PARAMS. */
export function parseRecipe(r: Partial<LmRecipe>): LmRecipe {
  const p = lmRecipeSchema.safeParse(r);
  if (!p.success) throw new UnlearnError('INVALID_PARAMS', `recipe: ${p.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, 'fix the training options');
  return p.data;
}

/**
 * Seeded stream of batches over `docs`: each epoch is a fresh permutation, cut into batches of
 * `batchSize` (the last partial batch of an epoch is merged into the next epoch's order).
 */
export class BatchStream {
  private order: Int32Array = new Int32Array(0);
  private pos = 0;
  private readonly rng: Rng;
  constructor(private readonly docs: LmDocument[], private readonly batchSize: number, seed: number, private readonly contextLength: number) {
    if (docs.length === 0) throw new UnlearnError('INVALID_PARAMS', 'no documents to train on', 'check the sources and corpus options');
    this.rng = new Rng(seed);
  }
  next(): LmBatch {
    const texts: string[] = [];
    while (texts.length < this.batchSize) {
      if (this.pos >= this.order.length) {
        this.order = this.rng.permutation(this.docs.length);
        this.pos = 0;
      }
      texts.push(this.docs[this.order[this.pos++]].text);
    }
    return makeBatch(texts, this.contextLength);
  }
}

/** Result of {@link trainLm}: per-step losses (nats/token) and wall time (seconds). */
export interface TrainResult {
  losses: number[];
  seconds: number;
}

/**
 * Train `m` in place with Adam on `docs` for `recipe.steps` steps (seeded batches).
 * `onStep(step, loss)` is called after each step.
 * @throws UnlearnError NUMERIC_ERROR when a step's loss is NaN/∞ or diverges (over 10× the starting
 *   loss, src/train/divergence.ts).
 */
export function trainLm(m: LanguageModel, docs: LmDocument[], recipe: LmRecipe, onStep?: (step: number, loss: number) => void): TrainResult {
  const t0 = performance.now();
  const stream = new BatchStream(docs, recipe.batchSize, deriveSeed(recipe.seed, 'lm-batches'), m.config.contextLength);
  const opt = tf.train.adam(recipe.learningRate);
  const vars = variables(m);
  const losses: number[] = [];
  // Starting loss: the first step's or that of a uniform byte model (ln V), whichever is larger.
  let reference = NaN;
  try {
    for (let s = 0; s < recipe.steps; s++) {
      const b = stream.next();
      const loss = lmStep(opt, vars, () => {
        const t = batchTensors(b);
        return nllLoss(m, t);
      }, recipe.clipNorm, `at step ${s}`);
      if (Number.isNaN(reference)) reference = Math.max(loss, Math.log(m.config.vocabSize));
      checkDivergence(loss, reference, `at step ${s}`, 'lower the learning rate (--lr, or learningRate in --params)');
      losses.push(loss);
      onStep?.(s, loss);
    }
  } finally {
    opt.dispose();
  }
  return { losses, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Mean NLL per passage (nats/token) and the token-weighted mean over all passages.
 * Perplexity = exp(meanNll).
 */
export function scoreDocs(m: LanguageModel, texts: string[], batchSize = 64): { perDoc: Float64Array; meanNll: number; perplexity: number; tokens: number } {
  const perDoc = new Float64Array(texts.length);
  let tot = 0;
  let n = 0;
  for (let i = 0; i < texts.length; i += batchSize) {
    const b = makeBatch(texts.slice(i, i + batchSize), m.config.contextLength);
    const r = tf.tidy(() => sequenceNll(m, batchTensors(b)));
    const v = r.dataSync() as Float32Array;
    r.dispose();
    for (let j = 0; j < b.B; j++) {
      perDoc[i + j] = v[j];
      let w = 0;
      for (let t = 0; t < b.T; t++) w += b.weights[j * b.T + t];
      tot += v[j] * w;
      n += w;
    }
  }
  const meanNll = n ? tot / n : NaN;
  return { perDoc, meanNll, perplexity: Math.exp(meanNll), tokens: n };
}
