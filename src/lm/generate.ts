/**
 * Sampling from a language model: greedy decoding, temperature sampling and top-k sampling
 * (Fan et al. 2018), batched over prompts of equal token length. Seeded.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { UnlearnError } from '../errors.js';
import { Rng } from '../engine/rng.js';
import { disposeKvCache, forwardCached, type KvCache, type LanguageModel } from './model.js';
import { BOS, NUM_BYTES, decode, decodeEscaped, encode } from './tokenizer.js';

export const sampleOptionsSchema = z.object({
  maxNewTokens: z.number().int().min(1).max(4096).default(64),
  /** `greedy` = argmax; `sample` = softmax(logits / temperature), restricted to the top-k when topK > 0. */
  strategy: z.enum(['greedy', 'sample']).default('greedy'),
  temperature: z.number().positive().default(1),
  topK: z.number().int().min(0).max(NUM_BYTES, `top-k is at most ${NUM_BYTES} (the byte vocabulary)`).default(0),
  seed: z.number().int().default(0),
});
export type SampleOptions = z.infer<typeof sampleOptionsSchema>;

/** Choose one token from a logits row (float32 [V]); BOS is never produced. */
export function pickToken(logits: Float32Array, o: SampleOptions, rng: Rng): number {
  const V = NUM_BYTES; // BOS excluded
  if (o.strategy === 'greedy') {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  let idx = Array.from({ length: V }, (_, i) => i);
  if (o.topK > 0 && o.topK < V) idx = idx.sort((a, b) => logits[b] - logits[a]).slice(0, o.topK);
  const mx = Math.max(...idx.map((i) => logits[i]));
  const w = idx.map((i) => Math.exp((logits[i] - mx) / o.temperature));
  let r = rng.next() * w.reduce((a, b) => a + b, 0);
  for (let j = 0; j < idx.length; j++) {
    r -= w[j];
    if (r <= 0) return idx[j];
  }
  return idx[idx.length - 1];
}

/**
 * Continue each token sequence (each starting with BOS) by `maxNewTokens` tokens. Sequences must
 * have equal length. When a sequence outgrows the context length, the last T tokens are used.
 * Returns the new tokens only, int arrays [N][maxNewTokens].
 */
export function continueTokens(m: LanguageModel, seqs: number[][], options: Partial<SampleOptions> = {}): number[][] {
  const o = sampleOptionsSchema.parse(options);
  if (!seqs.length) return [];
  const L0 = seqs[0].length;
  if (seqs.some((s) => s.length !== L0)) throw new UnlearnError('SHAPE_MISMATCH', 'prompts of a batch must have equal token length', 'group prompts by length');
  const rng = new Rng(`sample/${o.seed}`);
  const cur = seqs.map((s) => [...s]);
  const out: number[][] = seqs.map(() => []);
  const T = m.config.contextLength;
  const V = m.config.vocabSize;
  const N = seqs.length;
  // Keys/values of the positions seen so far are cached while the sequence fits the context;
  // beyond it the window slides, positions shift, and each step recomputes the last T tokens.
  let cache: KvCache | undefined;
  try {
    for (let step = 0; step < o.maxNewTokens; step++) {
      const len = cur[0].length;
      const fresh = cache && len <= T ? cur.map((s) => s.slice(cache!.length)) : cur.map((s) => s.slice(-T));
      const L = fresh[0].length;
      const past = len <= T ? cache : undefined;
      const [last, ...kv] = tf.tidy(() => {
        const f = forwardCached(m, tf.tensor2d(fresh.flat(), [N, L], 'int32'), past);
        return [tf.reshape(tf.slice(f.logits, [0, L - 1, 0], [N, 1, V]), [N, V]), ...f.cache.layers.flatMap((l) => [l.k, l.v])];
      });
      if (cache) disposeKvCache(cache);
      const next: KvCache = { layers: [], length: (past?.length ?? 0) + L };
      for (let i = 0; i < kv.length; i += 2) next.layers.push({ k: kv[i] as tf.Tensor4D, v: kv[i + 1] as tf.Tensor4D });
      cache = len < T ? next : undefined;
      if (!cache) disposeKvCache(next);
      const host = last.dataSync() as Float32Array;
      last.dispose();
      for (let i = 0; i < N; i++) {
        const t = pickToken(host.subarray(i * V, (i + 1) * V), o, rng);
        cur[i].push(t);
        out[i].push(t);
      }
    }
  } finally {
    if (cache) disposeKvCache(cache);
  }
  return out;
}

/**
 * Text continuations of text prompts (any lengths; batched by token length). `escape`: bytes that
 * are not valid UTF-8 are shown as `\xNN` ({@link decodeEscaped}) instead of U+FFFD — for display.
 */
export function generate(m: LanguageModel, prompts: string[], options: Partial<SampleOptions> = {}, escape = false): string[] {
  const seqs = prompts.map((p) => [BOS, ...encode(p)]);
  const res: string[] = new Array(prompts.length);
  const byLen = new Map<number, number[]>();
  seqs.forEach((s, i) => byLen.set(s.length, [...(byLen.get(s.length) ?? []), i]));
  for (const idx of byLen.values()) {
    const outs = continueTokens(m, idx.map((i) => seqs[i]), options);
    idx.forEach((i, j) => (res[i] = escape ? decodeEscaped(outs[j]) : decode(outs[j])));
  }
  return res;
}
