/**
 * Membership-inference statistics of MUSE (Shi et al. 2024) and OpenUnlearning, each a score per
 * passage where higher means "more likely a training member":
 * - loss: the mean token log-likelihood, (1/n)·Σ_t log p(x_t | x_<t) (= −mean NLL);
 * - zlib (Carlini et al. 2021): the mean log-likelihood divided by the zlib entropy of the text,
 *   the byte length of its zlib compression (level 6, as Python's `zlib.compress`);
 * - Min-K% (Shi et al. 2024, "Detecting Pretraining Data"): the mean of the lowest k% token
 *   log-likelihoods (⌊k·n⌋ of them, at least 1), k = 0.4 (OpenUnlearning's default);
 * - Min-K%++ (Zhang et al. 2024): per token z_t = (log p(x_t) − μ_t)/σ_t with μ_t = E_{z∼p(·|x_<t)} log p(z)
 *   and σ_t² = E[(log p(z))²] − μ_t², then the mean of the lowest k% of z_t, k = 0.4.
 * Each attack's AUC is of members (a source's training passages) against non-members (its
 * held-out passages), turned into PrivLeak against the retrained model's AUC of the same attack.
 */
import { deflateSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import { auc } from '../../eval/roc.js';
import type { LmDocument } from '../data.js';
import { forward, type LanguageModel } from '../model.js';
import { batchTensors, makeBatch } from '../train.js';

/** The statistics, in report order. */
export const MIA_STATS = ['loss', 'zlib', 'minK', 'minKpp'] as const;
export type MiaStat = (typeof MIA_STATS)[number];
/** k of Min-K% and Min-K%++. */
export const MIN_K = 0.4;

/** Per-token figures of one passage (its n real positions). */
export interface TokenStats {
  /** log p(x_t | x_<t), nats. */
  logp: Float32Array;
  /** μ_t = Σ_v p(v)·log p(v) (minus the entropy), nats. */
  mu: Float32Array;
  /** σ_t = √(Σ_v p(v)·log² p(v) − μ_t²), nats. */
  sigma: Float32Array;
}

/** zlib entropy: bytes of the zlib-compressed UTF-8 text (level 6). */
export function zlibEntropy(text: string): number {
  return deflateSync(Buffer.from(text, 'utf8'), { level: 6 }).length;
}

/** Mean of the lowest ⌊k·n⌋ (≥ 1) values. @returns NaN for an empty input. */
export function meanOfLowest(values: ArrayLike<number>, k: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const n = Math.max(1, Math.floor(sorted.length * k));
  let s = 0;
  for (let i = 0; i < n; i++) s += sorted[i];
  return s / n;
}

/** The four scores of one passage (higher = member). */
export function miaScores(t: TokenStats, text: string, k = MIN_K): Record<MiaStat, number> {
  const n = t.logp.length;
  const mean = n ? t.logp.reduce((a, b) => a + b, 0) / n : NaN;
  const z = t.logp.map((lp, i) => (lp - t.mu[i]) / Math.max(t.sigma[i], 1e-12));
  return { loss: mean, zlib: mean / zlibEntropy(text), minK: meanOfLowest(t.logp, k), minKpp: meanOfLowest(z, k) };
}

/** Per-token log p, μ and σ of each text (real positions only), in batches of `batchSize`. */
export function tokenStats(m: LanguageModel, texts: string[], batchSize = 32): TokenStats[] {
  const out: TokenStats[] = [];
  for (let i = 0; i < texts.length; i += batchSize) {
    const b = makeBatch(texts.slice(i, i + batchSize), m.config.contextLength);
    const [lp, mu, sd] = tf.tidy(() => {
      const t = batchTensors(b);
      const logp = tf.logSoftmax(forward(m, t.inputs)); // [B, T, V]
      const p = tf.exp(logp);
      const mu = tf.sum(tf.mul(p, logp), -1);
      const e2 = tf.sum(tf.mul(p, tf.square(logp)), -1);
      const sigma = tf.sqrt(tf.relu(tf.sub(e2, tf.square(mu))));
      const tok = tf.sum(tf.mul(logp, tf.oneHot(t.targets, m.config.vocabSize)), -1);
      return [tok, mu, sigma];
    });
    const [a, c, d] = [lp, mu, sd].map((x) => x.dataSync() as Float32Array);
    tf.dispose([lp, mu, sd]);
    for (let r = 0; r < b.B; r++) {
      const idx: number[] = [];
      for (let t = 0; t < b.T; t++) if (b.weights[r * b.T + t] > 0) idx.push(r * b.T + t);
      out.push({ logp: Float32Array.from(idx, (j) => a[j]), mu: Float32Array.from(idx, (j) => c[j]), sigma: Float32Array.from(idx, (j) => d[j]) });
    }
  }
  return out;
}

/** AUC of each statistic, members vs non-members (0.5 = no signal). */
export function membershipAucs(m: LanguageModel, members: LmDocument[], nonMembers: LmDocument[]): Record<MiaStat, number> {
  const score = (docs: LmDocument[]) => tokenStats(m, docs.map((d) => d.text)).map((t, i) => miaScores(t, docs[i].text));
  const a = score(members);
  const b = score(nonMembers);
  const labels = [...a.map(() => 1), ...b.map(() => 0)];
  return Object.fromEntries(MIA_STATS.map((s) => [s, auc([...a, ...b].map((x) => x[s]), labels)])) as Record<MiaStat, number>;
}
