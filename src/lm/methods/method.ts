/**
 * Language-model unlearning methods: interface, registry and the shared optimisation loop.
 * Every method receives the original model θ_o (never mutated), the forget source's training
 * passages D_f and the retained sources' training passages D_r, and returns a new model.
 */
import * as tf from '@tensorflow/tfjs-core';
import { adam } from '../../engine/adam.js';
import { z } from 'zod';
import { UnlearnError } from '../../errors.js';
import { deriveSeed } from '../../engine/rng.js';
import type { LmDocument } from '../data.js';
import { cloneModel, variables, type LanguageModel } from '../model.js';
import { BatchStream, batchTensors, lmStep, type LmBatch } from '../train.js';

/** What a method may use besides θ_o. */
export interface LmUnlearnContext {
  forget: LmDocument[];
  retain: LmDocument[];
  /** Seed of the run; methods derive their randomness from it. */
  seed: number;
  /** Called after every step with its loss and, from the shared loop, the model being updated (read it, do not keep it). */
  onStep?: (step: number, loss: number, model?: LanguageModel) => void;
}

/** An LM unlearning method. `run` must not mutate `original`; params are validated by the caller. */
export interface LmMethod<P extends Record<string, unknown> = Record<string, unknown>> {
  id: string;
  guarantee: 'exact' | 'approximate';
  description: string;
  reference: string;
  paramsSchema: z.ZodType<P>;
  run(original: LanguageModel, params: P, ctx: LmUnlearnContext): Promise<{ model: LanguageModel; details?: Record<string, unknown> }>;
}

/** Optimiser settings shared by the gradient-based methods (Adam). */
export const optParams = {
  steps: z.number().int().min(1).default(40),
  batchSize: z.number().int().min(1).default(16),
  learningRate: z.number().positive().default(1e-3),
  clipNorm: z.number().min(0).default(1),
};

const registry = new Map<string, LmMethod<any>>();

/** Register a method. @throws UnlearnError DUPLICATE_ID. */
export function registerLmMethod(m: LmMethod<any>): void {
  if (registry.has(m.id)) throw new UnlearnError('DUPLICATE_ID', `language-model method "${m.id}" is already registered`);
  registry.set(m.id, m);
}

/** The LM method registered under `id`. @throws UnlearnError UNKNOWN_METHOD listing the known ids. */
export function getLmMethod(id: string): LmMethod<any> {
  const m = registry.get(id);
  if (!m) throw new UnlearnError('UNKNOWN_METHOD', `unknown language-model unlearning method "${id}"`, `known: ${[...registry.keys()].join(', ')}`);
  return m;
}

/** All registered LM methods, in registration order. */
export function listLmMethods(): LmMethod<any>[] {
  return [...registry.values()];
}

/** Validate params against a method's schema. @throws UnlearnError INVALID_PARAMS. */
export function parseLmParams(m: LmMethod<any>, params: unknown): Record<string, unknown> {
  const p = m.paramsSchema.safeParse(params ?? {});
  if (!p.success) throw new UnlearnError('INVALID_PARAMS', `${m.id} params: ${p.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`, 'see `unlearn lm methods`');
  return p.data as Record<string, unknown>;
}

type Tensors = ReturnType<typeof batchTensors>;

/**
 * The shared loop: clone θ_o, then for `steps` steps draw a forget batch (and a retain batch when
 * `useRetain`) and take an Adam step on `loss(model, forgetTensors, retainTensors, forgetBatch)`
 * (the host batch, with its texts, for methods that need them). `trainable` (default: every
 * parameter) names the parameters the step updates; the others keep θ_o's values.
 */
export function optimizeFrom(
  original: LanguageModel,
  p: { steps: number; batchSize: number; learningRate: number; clipNorm: number },
  ctx: LmUnlearnContext,
  useRetain: boolean,
  loss: (m: LanguageModel, f: Tensors, r: Tensors | null, forgetBatch: LmBatch) => tf.Scalar,
  label: string,
  trainable?: (name: string) => boolean,
): { model: LanguageModel; losses: number[] } {
  if (ctx.forget.length === 0) throw new UnlearnError('INVALID_PARAMS', 'the forget source has no training passages', 'pick a source the model was trained on');
  const T = original.config.contextLength;
  const fs = new BatchStream(ctx.forget, p.batchSize, deriveSeed(ctx.seed, `${label}/forget`), T);
  const rs = useRetain ? new BatchStream(ctx.retain, p.batchSize, deriveSeed(ctx.seed, `${label}/retain`), T) : null;
  const model = cloneModel(original);
  const opt = adam(p.learningRate);
  const vars = trainable ? [...model.params].filter(([n]) => trainable(n)).map(([, v]) => v) : variables(model);
  if (vars.length === 0) throw new UnlearnError('INVALID_PARAMS', `${label}: no parameter is selected for update`, 'check the layers to update');
  const losses: number[] = [];
  try {
    for (let s = 0; s < p.steps; s++) {
      const fb: LmBatch = fs.next();
      const rb: LmBatch | null = rs ? rs.next() : null;
      const l = lmStep(opt, vars, () => loss(model, batchTensors(fb), rb ? batchTensors(rb) : null, fb), p.clipNorm, `in ${label} step ${s}`);
      losses.push(l);
      ctx.onStep?.(s, l, model);
    }
  } finally {
    opt.dispose();
  }
  return { model, losses };
}
