import type { Comparison } from '../eval/compare.js';
import { markdownTable, pct, signedPct } from './table.js';

/** The comparison table: one row per model, columns RA, FA, TA, MIA AUC, time (s), cost vs retrain, gaps to retrain. */
export function comparisonTable(c: Comparison): string {
  const header = ['method', 'guarantee', 'RA %', 'FA %', 'TA %', 'forget loss', 'MIA AUC', 'time (s)', 'cost vs retrain', 'ΔRA', 'ΔFA', 'ΔTA', 'ΔMIA'];
  const rows = c.rows.map((r) => [
    r.method,
    r.guarantee,
    pct(r.RA),
    pct(r.FA),
    pct(r.TA),
    r.forgetLoss.toFixed(4),
    r.miaAuc.toFixed(3),
    r.seconds.toFixed(2),
    r.method === 'original' ? '-' : r.cost.toFixed(3),
    signedPct(r.gap.RA),
    signedPct(r.gap.FA),
    signedPct(r.gap.TA),
    `${r.gap.miaAuc >= 0 ? '+' : ''}${r.gap.miaAuc.toFixed(3)}`,
  ]);
  return markdownTable(header, rows);
}

/** Facts a report states above its table. */
export interface ReportContext {
  title: string;
  dataset: { name: string; fingerprint: string; train: number; test: number; meta?: Record<string, unknown> };
  request: { description: string; forgetSize: number; retainSize: number; subjects: string[] };
  original: { modelHash: string; spec: unknown; recipe: unknown; trainSeconds: number };
  seed: number;
  backend: string;
  /** Extra lines printed under the table (e.g. what a row's gaps are measured against). */
  notes?: string[];
}

/** A readable Markdown report of a comparison. Subjects must already be pseudonymised unless revealed by the caller. */
export function comparisonMarkdown(ctx: ReportContext, c: Comparison): string {
  const lines = [
    `# ${ctx.title}`,
    '',
    `- dataset: **${ctx.dataset.name}** (${ctx.dataset.train} train / ${ctx.dataset.test} test examples), fingerprint \`${ctx.dataset.fingerprint.slice(0, 16)}…\``,
    `- deletion request: ${ctx.request.description} — forget set ${ctx.request.forgetSize} examples, retain set ${ctx.request.retainSize}`,
    `- original model \`${ctx.original.modelHash.slice(0, 16)}…\`, trained in ${ctx.original.trainSeconds.toFixed(2)} s; seed ${ctx.seed}; backend ${ctx.backend}`,
    '',
    comparisonTable(c),
    '',
    'RA / FA / TA: accuracy on the retain set, the forget set and the test set. Forget loss: mean cross-entropy on',
    'the forget set (nats). MIA AUC: loss-threshold membership',
    'inference, forget set vs test set (balanced, 5-fold cross-validated logistic regression on the loss; 0.5 = no',
    'signal). Δ columns: difference to the model retrained from scratch without the forget set (percentage points; the',
    'goal is 0, not FA = 0). Cost: the method\'s wall time divided by retrain\'s.',
    '',
    ...(ctx.notes?.length ? [...ctx.notes, ''] : []),
    '## Parameters',
    '',
    ...c.rows.filter((r) => r.method !== 'original').map((r) => `- \`${r.method}\` (${r.guarantee}): \`${JSON.stringify(r.params)}\`, model \`${r.modelHash.slice(0, 16)}…\``),
    '',
  ];
  return lines.join('\n');
}
