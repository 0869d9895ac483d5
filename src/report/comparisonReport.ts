import type { Comparison } from '../workflows/compare.js';
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
    Number.isFinite(r.miaAuc) ? r.miaAuc.toFixed(3) : 'n/a',
    r.seconds.toFixed(2),
    r.method === 'original' ? '-' : r.cost.toFixed(3),
    signedPct(r.gap.RA),
    signedPct(r.gap.FA),
    signedPct(r.gap.TA),
    Number.isFinite(r.gap.miaAuc) ? `${r.gap.miaAuc >= 0 ? '+' : ''}${r.gap.miaAuc.toFixed(3)}` : 'n/a',
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
    'the forget set (nats). MIA AUC: loss-threshold membership inference, forget set vs test set (balanced, 5-fold',
    'cross-validated logistic regression on the loss). It measures how distinguishable the forget set is from the',
    'test set, in either direction: the retrained model, which never saw the forget set, is the target, and can sit',
    'above 0.5 when the forgotten examples differ from the test set (one sender\'s mail does). With few forget',
    'examples it is noisy. Δ columns: value minus the retrained model\'s (accuracies in percentage points, MIA in',
    'AUC units); the goal is 0, not FA = 0. Time: wall seconds (for the original: its training time). Cost: the',
    'method\'s wall time divided by retrain\'s.',
    '',
    ...(ctx.notes?.length ? [...ctx.notes, ''] : []),
    '## Parameters',
    '',
    ...c.rows.filter((r) => r.method !== 'original').map((r) => `- \`${r.method}\` (${r.guarantee}): \`${JSON.stringify(r.params)}\`, model \`${r.modelHash.slice(0, 16)}…\``),
    '',
  ];
  return lines.join('\n');
}
