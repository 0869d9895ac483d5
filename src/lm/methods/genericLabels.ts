import { basename } from 'node:path';
import { z } from 'zod';
import * as tf from '@tensorflow/tfjs-core';
import { deriveSeed } from '../../engine/rng.js';
import { anchorDictionaryFor, ROLE_ANCHOR_REST, translate, type AnchorDictionary, type Translation } from '../anchors/anchors.js';
import { cloneModel, disposeModel, forward, type LanguageModel } from '../model.js';
import { encode } from '../tokenizer.js';
import { makeBatch, trainLm } from '../train.js';
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
    /**
     * Anchor-term substitution: the baseline's logits come from the forget passages translated
     * with the source's anchor dictionary (`src/lm/anchors/dictionaries/`). No effect for a source
     * without a dictionary (the result details say so).
     */
    anchors: z.boolean().default(true),
  })
  .strict();

/** Generic logits v_base − α·ReLU(v_reinforced − v_base) for a batch: [B, T, V]. Call inside tidy. */
export function genericLogits(base: LanguageModel, reinforced: LanguageModel, inputs: tf.Tensor2D, alpha: number): tf.Tensor3D {
  const vb = forward(base, inputs);
  const vr = forward(reinforced, inputs);
  return tf.sub(vb, tf.mul(tf.relu(tf.sub(vr, vb)), alpha)) as tf.Tensor3D;
}

/**
 * Host-side alignment of a batch of original passages with their anchor translations
 * (see {@link genericLabels} for the rule). All arrays are row-major over [B, T].
 */
export interface AnchorAlignment {
  B: number;
  T: number;
  /** int32 [B·T]: BOS + the translated passage's bytes, truncated to T, padded with BOS (as makeBatch). */
  translatedInputs: Int32Array;
  /**
   * int32 [B·T]: for each original position, the row of the stacked baseline logits
   * [original (B·T rows); translated (B·T rows)] that supplies v_base there.
   */
  baseRow: Int32Array;
  /** float32 [B·T]: 0 at the later bytes of an anchor term (no label there), 1 elsewhere. */
  mask: Float32Array;
  /** Counts over real (non-padding) positions of the batch. */
  counts: { translated: number; fallback: number; masked: number; anchors: number };
}

/**
 * Align original passages with their translations for a context length T.
 *
 * Original position t of row b (input token t, target = original byte t) gets its baseline logits
 * from translated position j = byteMap[t] (input token j, target = translated byte j) when byte t
 * is copied or is the first byte of an anchor term and j < T; from the original position t when
 * j ≥ T (the translation ran past the window: truncated consistently with makeBatch, which keeps
 * BOS + the first T bytes) or when the row has no translation. Later bytes of an anchor term get
 * mask 0. `texts[b]` must be the text whose first T bytes make row b of the original batch.
 *
 * @param translations per row: the translation of `texts[b]`, or null for no substitution.
 * @throws Error when a translation's original differs from `texts[b]` (a caller bug).
 */
export function alignAnchors(texts: string[], translations: (Translation | null)[], T: number): AnchorAlignment {
  const B = texts.length;
  const translatedInputs = makeBatch(texts.map((s, b) => translations[b]?.text ?? s), T).inputs;
  const baseRow = new Int32Array(B * T);
  const mask = new Float32Array(B * T).fill(1);
  const counts = { translated: 0, fallback: 0, masked: 0, anchors: 0 };
  for (let b = 0; b < B; b++) {
    const tr = translations[b];
    const n = Math.min(encode(texts[b]).length, T);
    for (let t = 0; t < T; t++) baseRow[b * T + t] = b * T + t;
    if (!tr) continue;
    if (tr.byteMap.length !== encode(texts[b]).length) throw new Error(`alignAnchors: translation of row ${b} does not belong to its text`);
    for (let t = 0; t < n; t++) {
      if (tr.role[t] === ROLE_ANCHOR_REST) {
        mask[b * T + t] = 0;
        counts.masked++;
        continue;
      }
      if (tr.role[t] !== 0) counts.anchors++;
      const j = tr.byteMap[t];
      if (j < T) {
        baseRow[b * T + t] = B * T + b * T + j;
        counts.translated++;
      } else counts.fallback++;
    }
  }
  return { B, T, translatedInputs, baseRow, mask, counts };
}

/**
 * Generic logits with anchor terms, [B, T, V] float32:
 * v_g = v_b − α·ReLU(v_rf − v_b), with v_rf = θ_rf's logits on the original inputs and v_b = θ_o's
 * logits taken, per position, from the original or the translated batch as `al.baseRow` says.
 * Without translations (baseRow = identity) this equals {@link genericLogits}. Call inside tidy.
 *
 * @param inputs int32 [B, T], the original batch's inputs (BOS + bytes).
 */
export function anchoredGenericLogits(base: LanguageModel, reinforced: LanguageModel, inputs: tf.Tensor2D, al: AnchorAlignment, alpha: number): tf.Tensor3D {
  const { B, T } = al;
  const V = base.config.vocabSize;
  const vbO = tf.reshape(forward(base, inputs), [B * T, V]);
  const vbT = tf.reshape(forward(base, tf.tensor2d(al.translatedInputs, [B, T], 'int32')), [B * T, V]);
  const vb = tf.reshape(tf.gather(tf.concat([vbO, vbT], 0), tf.tensor1d(al.baseRow, 'int32')), [B, T, V]);
  const vr = forward(reinforced, inputs);
  return tf.sub(vb, tf.mul(tf.relu(tf.sub(vr, vb)), alpha)) as tf.Tensor3D;
}

/**
 * "Who's Harry Potter?" (Eldan & Russinovich 2023, "Approximate Unlearning in LLMs"), both parts:
 *
 * 1. Reinforced model: θ_rf = θ_o trained further on the forget source; tokens θ_rf boosts over
 *    θ_o are source-specific.
 * 2. Anchor terms (`anchors`, default on): the source's idiosyncratic expressions are mapped to
 *    generic translations (`src/lm/anchors/dictionaries/<source>.json`, e.g. Ahab → the captain);
 *    each forget passage is translated with that dictionary and θ_o's next-token logits on the
 *    *translated* passage stand for what a model that never met the source would predict.
 * 3. Combination, per position: v_g = v_o(translated, aligned) − α·ReLU(v_rf(original) − v_o(translated, aligned)),
 *    label = argmax v_g (`targets: 'hard'`, the paper's) or softmax v_g (`soft`); θ_o is
 *    fine-tuned on the *original* passages towards these labels.
 *
 * Alignment (byte-level tokens, so an anchor spans several positions and a translation shifts
 * what follows). Original position t predicts original byte t:
 * - byte t outside any anchor term: v_o from the translated position that predicts the same byte
 *   after the length shift of the replacements before it (one-to-one);
 * - byte t the first byte of an anchor term: v_o from the translated position that predicts the
 *   first byte of its generic replacement — the label says what a generic text would put there;
 * - bytes t inside an anchor term after its first: weight 0 (no label). They have no counterpart
 *   in the translated text, and once a name has begun in the input, its completion is spelling,
 *   not knowledge: labels there would either keep the name (no effect) or teach misspellings that
 *   damage the model's language. The knowledge sits in choosing the name (first byte) and in what
 *   the text says after it (positions after the term, whose v_o comes from the translated context);
 * - a translated position beyond the context window (translations that lengthen a passage push its
 *   tail past T; the translated row is cut like every batch, BOS + first T bytes): v_o from the
 *   original position, i.e. the reinforced-model formula alone.
 * Positions before the first anchor of a passage see the same prefix in both texts, so their
 * labels equal the formula without anchors. A source without a dictionary, or `anchors: false`,
 * gives exactly the reinforced-model formula on the original text; the result details say which.
 */
export const genericLabels: LmMethod<z.infer<typeof schema>> = {
  id: 'generic-labels',
  guarantee: 'approximate',
  description: "reinforced model + anchor-term substitution + fine-tuning on generic-prediction labels (Who's Harry Potter)",
  reference: "Eldan & Russinovich 2023, \"Who's Harry Potter? Approximate Unlearning in LLMs\"",
  paramsSchema: schema,
  async run(original, p, ctx) {
    const T = original.config.contextLength;
    // Anchor translations of the forget passages, keyed by their text.
    const dicts = new Map<string, AnchorDictionary | null>();
    for (const d of ctx.forget) if (!dicts.has(d.source)) dicts.set(d.source, p.anchors ? anchorDictionaryFor(d.source) : null);
    const byText = new Map<string, Translation | null>();
    let passagesWithAnchors = 0;
    for (const doc of ctx.forget) {
      const dict = dicts.get(doc.source);
      const tr = dict ? translate(doc.text, dict) : null;
      if (!byText.has(doc.text)) byText.set(doc.text, tr && tr.spans.length ? tr : null);
      if (tr?.spans.length) passagesWithAnchors++;
    }
    const useAnchors = [...byText.values()].some((tr) => tr);
    const counts = { translated: 0, fallback: 0, masked: 0, anchors: 0 };

    const reinforced = cloneModel(original);
    try {
      trainLm(reinforced, ctx.forget, { steps: p.reinforceSteps, batchSize: p.batchSize, learningRate: p.reinforceLearningRate, clipNorm: p.clipNorm, seed: deriveSeed(ctx.seed, 'reinforce') });
      const V = original.config.vocabSize;
      const r = optimizeFrom(original, p, ctx, false, (m, f, _r, fb) => {
        let al: AnchorAlignment | null = null;
        if (useAnchors) {
          al = alignAnchors(fb.texts, fb.texts.map((t) => byText.get(t) ?? null), T);
          for (const k of Object.keys(counts) as (keyof typeof counts)[]) counts[k] += al.counts[k];
        }
        const target = tf.tidy(() => {
          const g = al ? anchoredGenericLogits(original, reinforced, f.inputs, al, p.alpha) : genericLogits(original, reinforced, f.inputs, p.alpha);
          return p.targets === 'hard' ? tf.cast(tf.oneHot(tf.argMax(g, -1), V), 'float32') : tf.softmax(g);
        });
        const weights = al ? tf.mul(f.weights, tf.tensor2d(al.mask, [al.B, al.T], 'float32')) : f.weights;
        const logp = tf.logSoftmax(forward(m, f.inputs));
        const ce = tf.neg(tf.sum(tf.mul(target, logp), -1)); // [B, T]
        return tf.div(tf.sum(tf.mul(ce, weights)), tf.maximum(tf.sum(weights), 1)) as tf.Scalar;
      }, this.id);
      const anchors = {
        enabled: p.anchors,
        dictionaries: Object.fromEntries([...dicts].map(([s, d]) => [s, d ? { file: d.file ? basename(d.file) : null, entries: d.entries.length } : null])),
        passagesWithAnchors,
        /** Real positions of passages holding anchors, over all fine-tuning steps, by how their baseline logits were obtained. */
        positions: counts,
        note: !p.anchors
          ? 'anchor-term substitution disabled (anchors: false): reinforced-model formula only'
          : useAnchors
            ? 'baseline logits from anchor-translated passages, aligned to the original positions'
            : `no anchor dictionary (or no anchor term in the passages) for ${[...dicts.keys()].join(', ')}: reinforced-model formula only, no substitution`,
      };
      return { model: r.model, details: { losses: r.losses, anchors, notes: [`generic-labels: ${anchors.note}`] } };
    } finally {
      disposeModel(reinforced);
    }
  },
};
