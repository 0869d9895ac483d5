/**
 * ROUGE-L (Lin 2004) on words: longest common subsequence of the two token lists,
 * P = LCS/|candidate|, R = LCS/|reference|, F1 = 2PR/(P+R). Tokenisation follows the
 * `rouge_score` package's default (what MUSE uses): lower-case, every run of characters other than
 * a–z and 0–9 is a separator, no stemming.
 */

/** Words of a text as rouge_score's default tokenizer yields them. */
export function rougeTokens(text: string): string[] {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim().split(' ').filter(Boolean);
}

/** Length of the longest common subsequence of two sequences (O(|a|·|b|) time, O(|b|) memory). */
export function lcsLength<T>(a: T[], b: T[]): number {
  const row = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    let prev = 0; // row[j-1] of the previous i
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = a[i - 1] === b[j - 1] ? prev + 1 : Math.max(row[j], row[j - 1]);
      prev = tmp;
    }
  }
  return row[b.length];
}

/** ROUGE-L precision, recall and F1 of `candidate` against `reference` (all 0 when either is empty). */
export function rougeL(candidate: string, reference: string): { precision: number; recall: number; f1: number } {
  const c = rougeTokens(candidate);
  const r = rougeTokens(reference);
  if (!c.length || !r.length) return { precision: 0, recall: 0, f1: 0 };
  const l = lcsLength(c, r);
  const precision = l / c.length;
  const recall = l / r.length;
  return { precision, recall, f1: l === 0 ? 0 : (2 * precision * recall) / (precision + recall) };
}
