/** Render rows as a GitHub-flavoured Markdown table; numbers right-aligned. */
export function markdownTable(header: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map(String));
  const width = header.map((h, j) => Math.max(h.length, 3, ...cells.map((r) => r[j]?.length ?? 0)));
  const numeric = header.map((_, j) => rows.length > 0 && rows.every((r) => typeof r[j] === 'number' || /^([-+]?[\d.]+(e[-+]?\d+)?[%×]?|-|n\/a)$/.test(String(r[j]))));
  const pad = (s: string, j: number) => (numeric[j] ? s.padStart(width[j]) : s.padEnd(width[j]));
  const line = (r: string[]) => `| ${r.map(pad).join(' | ')} |`;
  const sep = `|${width.map((w, j) => (numeric[j] ? '-'.repeat(w + 1) + ':' : ':' + '-'.repeat(w + 1))).join('|')}|`;
  return [line(header), sep, ...cells.map(line)].join('\n');
}

/** Fixed-point percentage of a fraction in [0,1], e.g. 0.9731 → "97.31". */
export const pct = (x: number, digits = 2): string => (Number.isFinite(x) ? (100 * x).toFixed(digits) : 'n/a');
/** Signed fixed-point difference in percentage points, e.g. -0.012 → "-1.20". */
export const signedPct = (x: number, digits = 2): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(100 * x).toFixed(digits)}` : 'n/a');
