/**
 * Knowledge probes: cloze questions about a source, each written in ≥ 3 wordings (the first is
 * the source's own wording, the others paraphrases). A wording is scored by ranking the right
 * answer among distractors by the model's mean log-likelihood per byte of the completion given the
 * prompt (length-normalised, as lm-evaluation-harness's byte-normalised accuracy). A probe is
 * *known* under a wording when the answer ranks first.
 *
 * Reworded-prompt auditing takes the best case for the attacker: a probe leaks when ANY wording —
 * the original or a paraphrase — ranks the answer first (max over wordings), as the audits of "Who's Harry Potter" found the
 * knowledge by rephrasing (Shi et al. 2024; Lynch et al. 2024).
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { UnlearnError } from '../../errors.js';
import { tokenLogProbs, type LanguageModel } from '../model.js';
import { BOS, encode } from '../tokenizer.js';

export const probeSchema = z.object({
  id: z.string(),
  source: z.string(),
  /** prompts[0]: the source's wording; prompts[1..]: paraphrases (≥ 2). */
  prompts: z.array(z.string().min(1)).min(3),
  /** The completion, with its leading space, e.g. " Ishmael". */
  answer: z.string().min(1),
  distractors: z.array(z.string().min(1)).min(1),
  note: z.string().optional(),
});
export type KnowledgeProbe = z.infer<typeof probeSchema>;

/**
 * Read a JSONL probe file (one probe per line; `#` lines and blank lines skipped).
 * @throws UnlearnError DATASET_MISSING when absent; DATASET_INVALID naming the bad line.
 */
export function loadProbes(path: string): KnowledgeProbe[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UnlearnError('DATASET_MISSING', `probe file ${path} not found`, 'pass a JSONL file of knowledge probes');
  }
  const out: KnowledgeProbe[] = [];
  text.split('\n').forEach((line, i) => {
    const s = line.trim();
    if (!s || s.startsWith('#')) return;
    let v: unknown;
    try {
      v = JSON.parse(s);
    } catch {
      throw new UnlearnError('DATASET_INVALID', `${path}:${i + 1}: not valid JSON`, 'one JSON object per line');
    }
    const p = probeSchema.safeParse(v);
    if (!p.success) throw new UnlearnError('DATASET_INVALID', `${path}:${i + 1}: ${p.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`, 'see src/lm/probes/README.md');
    out.push(p.data);
  });
  return out;
}

/**
 * Mean log-likelihood per byte (nats) of each completion given its prompt, for pairs of
 * (prompt, completion). Sequences longer than the context keep their last T tokens.
 */
export function completionLogLik(m: LanguageModel, pairs: [string, string][]): number[] {
  const T = m.config.contextLength;
  const res: number[] = [];
  const B = 32;
  for (let i = 0; i < pairs.length; i += B) {
    const chunk = pairs.slice(i, i + B);
    const inputs = new Int32Array(chunk.length * T).fill(BOS);
    const targets = new Int32Array(chunk.length * T);
    const weights = new Float32Array(chunk.length * T);
    chunk.forEach(([p, c], b) => {
      const pb = encode(p);
      const cb = encode(c);
      let seq = [BOS, ...pb, ...cb];
      if (seq.length > T + 1) seq = seq.slice(seq.length - (T + 1));
      const nComp = Math.min(cb.length, T);
      for (let t = 0; t < seq.length - 1; t++) {
        inputs[b * T + t] = seq[t];
        targets[b * T + t] = seq[t + 1];
        if (t >= seq.length - 1 - nComp) weights[b * T + t] = 1 / nComp;
      }
    });
    const r = tf.tidy(() => {
      const w = tf.tensor2d(weights, [chunk.length, T]);
      return tf.sum(tf.mul(tokenLogProbs(m, tf.tensor2d(inputs, [chunk.length, T], 'int32'), tf.tensor2d(targets, [chunk.length, T], 'int32')), w), 1);
    });
    res.push(...(r.dataSync() as Float32Array));
    r.dispose();
  }
  return res;
}

export interface ProbeScore {
  id: string;
  /** 1-based rank of the answer under each wording (1 = the model prefers the right answer). */
  ranks: number[];
  /** Known under the source's own wording (rank 1 for prompts[0]). */
  original: boolean;
  /** Known under at least one wording: the max over paraphrases. */
  anyWording: boolean;
  /** Known under at least one paraphrase (prompts[1..]). */
  anyParaphrase: boolean;
}

export interface KnowledgeResult {
  /** Fraction of probes known under the original wording. */
  original: number;
  /**
   * Fraction known under at least one wording, the original included: the max over all wordings
   * (worst case for the unlearning, best for the attacker), so never below `original`.
   */
  maxWording: number;
  /** Mean over probes of the fraction of paraphrases that rank the answer first. */
  paraphraseMean: number;
  /** Chance level: mean of 1/(1 + #distractors). */
  chance: number;
  perProbe: ProbeScore[];
}

/** Rank of the answer (index 0) among candidates by score; ties count against the answer. */
export function answerRank(scores: number[]): number {
  return 1 + scores.slice(1).filter((s) => s >= scores[0]).length;
}

/** Aggregate per-wording ranks into a result (max over all wordings, the original included; not the mean). */
export function aggregateProbes(ids: string[], ranks: number[][], numCandidates: number[]): KnowledgeResult {
  const perProbe: ProbeScore[] = ranks.map((r, i) => ({ id: ids[i], ranks: r, original: r[0] === 1, anyWording: r.some((x) => x === 1), anyParaphrase: r.slice(1).some((x) => x === 1) }));
  const n = perProbe.length || 1;
  return {
    original: perProbe.filter((p) => p.original).length / n,
    maxWording: perProbe.filter((p) => p.anyWording).length / n,
    paraphraseMean: ranks.reduce((s, r) => s + r.slice(1).filter((x) => x === 1).length / (r.length - 1), 0) / n,
    chance: numCandidates.reduce((s, k) => s + 1 / k, 0) / n,
    perProbe,
  };
}

/** Score probes: every wording × every candidate. */
export function knowledgeAudit(m: LanguageModel, probes: KnowledgeProbe[]): KnowledgeResult {
  const pairs: [string, string][] = [];
  for (const p of probes) for (const w of p.prompts) for (const c of [p.answer, ...p.distractors]) pairs.push([w, c]);
  const ll = completionLogLik(m, pairs);
  let k = 0;
  const ranks = probes.map((p) =>
    p.prompts.map(() => {
      const n = 1 + p.distractors.length;
      const s = ll.slice(k, k + n);
      k += n;
      return answerRank(s);
    }),
  );
  return aggregateProbes(probes.map((p) => p.id), ranks, probes.map((p) => 1 + p.distractors.length));
}
