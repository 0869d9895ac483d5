/**
 * Verbatim memorisation (MUSE's VerbMem, Shi et al. 2024): prompt the model with the first
 * `prefixBytes` bytes of a training passage, decode greedily for as many bytes as the rest of the
 * passage has (up to the context length), and score the continuation against the true text with
 * ROUGE-L F1. The audit value is the mean over passages (0–1; higher = more reproduced).
 */
import type { LmDocument } from '../data.js';
import { continueTokens } from '../generate.js';
import type { LanguageModel } from '../model.js';
import { BOS, decode, encode } from '../tokenizer.js';
import { rougeL } from './rouge.js';

export interface VerbMemResult {
  /** Mean ROUGE-L F1 over passages, in [0, 1]. */
  mean: number;
  perPassage: { id: string; prompt: string; truth: string; output: string; f1: number }[];
}

/**
 * VerbMem of `docs` (at most `maxPassages`, in the given order). Passages shorter than
 * prefixBytes + 8 bytes are skipped.
 */
export function verbMem(m: LanguageModel, docs: LmDocument[], o: { prefixBytes?: number; maxPassages?: number } = {}): VerbMemResult {
  const P = o.prefixBytes ?? Math.floor(m.config.contextLength / 2);
  const maxNew = m.config.contextLength - 1 - P;
  const rows: { id: string; bytes: Uint8Array }[] = [];
  for (const d of docs) {
    const b = encode(d.text);
    if (b.length >= P + 8) rows.push({ id: d.id, bytes: b });
    if (rows.length >= (o.maxPassages ?? 64)) break;
  }
  if (!rows.length) return { mean: NaN, perPassage: [] };
  const outs = continueTokens(m, rows.map((r) => [BOS, ...r.bytes.subarray(0, P)]), { maxNewTokens: maxNew, strategy: 'greedy' });
  const perPassage = rows.map((r, i) => {
    const truthBytes = r.bytes.subarray(P, P + maxNew);
    const output = decode(outs[i].slice(0, truthBytes.length));
    const truth = decode(truthBytes);
    return { id: r.id, prompt: decode(r.bytes.subarray(0, P)), truth, output, f1: rougeL(output, truth).f1 };
  });
  return { mean: perPassage.reduce((s, r) => s + r.f1, 0) / perPassage.length, perPassage };
}
