/**
 * Reports of the language-model unlearning audit: one row per model (original, retrained,
 * each method) as a Markdown table, JSON, and a self-contained HTML page. The page's plots are
 * rendered server-side (Vega-Lite → Vega → inline SVG, no script), as the classifier benchmark's.
 */
import type { TopLevelSpec } from 'vega-lite';
import { renderSvg } from '../report/html.js';
import { markdownTable } from '../report/table.js';
import type { LmAudit } from './audit/index.js';

/** One compared model. `seconds`: wall time of producing it (training or unlearning). */
export interface LmReportRow {
  name: string;
  guarantee: string;
  audit: LmAudit;
  seconds: number;
  /** seconds / retrain seconds. */
  costVsRetrain?: number;
}

/** A comparison for one forgotten source. */
export interface LmReport {
  source: string;
  model: { config: string; params: number; corpusFingerprint: string; backend: string };
  rows: LmReportRow[];
  notes: string[];
}

const f3 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(3));
const f2 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(2));

/** The comparison table: forget-source audits, relearning, utility, cost. */
export function lmTable(rows: LmReportRow[]): string {
  return markdownTable(
    ['model', 'guarantee', 'VerbMem', 'know (orig)', 'know (max wording)', 'MIA AUC', 'PrivLeak', 'relearn VerbMem', 'relearn know', 'retained ppl', 'retained VerbMem', 'retained know', 'time (s)', 'cost vs retrain'],
    rows.map((r) => [
      r.name,
      r.guarantee,
      f3(r.audit.forget.verbMem),
      f2(r.audit.forget.knowledge.original),
      f2(r.audit.forget.knowledge.maxWording),
      f3(r.audit.forget.mia.auc),
      f3(r.audit.forget.privLeak),
      f3(r.audit.relearned?.verbMem),
      f2(r.audit.relearned?.knowledge.original),
      f3(r.audit.retained.perplexity),
      f3(r.audit.retained.verbMem),
      f2(r.audit.retained.knowledge.original),
      r.seconds.toFixed(1),
      f3(r.costVsRetrain),
    ]),
  );
}

const LEGEND = [
  'VerbMem: mean ROUGE-L F1 of the greedy continuation of forget-source passage prefixes vs the true text (MUSE).',
  'know (orig): fraction of knowledge probes whose answer ranks first among distractors in the source\'s wording; know (max wording): fraction answered under at least one wording, the original or a paraphrase (the attacker\'s best case; never below know (orig)).',
  'Target: for VerbMem, both knowledge columns and MIA AUC the target is the retrained model\'s value (the `retrain` row), not 0 — a model that never saw the source still completes common phrases and answers some probes from the other sources.',
  'MIA AUC: loss attack, forget-source training vs held-out passages; PrivLeak = (AUC − AUC_retrained)/AUC_retrained (≈ 0 ideal).',
  'relearn: the same audits after fine-tuning on held-out passages of the forgotten source (relearning attack).',
  'retained ppl: perplexity per byte on the retained sources\' held-out passages; retained VerbMem / know: the audits on the retained sources.',
];

/** Markdown report. */
export function lmMarkdown(r: LmReport): string {
  return [
    `# Forgetting \`${r.source}\``,
    '',
    `Model \`${r.model.config}\` (${r.model.params.toLocaleString('en-US')} parameters), corpus ${r.model.corpusFingerprint.slice(0, 12)}, backend ${r.model.backend}.`,
    '',
    lmTable(r.rows),
    '',
    ...LEGEND.map((l) => `- ${l}`),
    ...(r.notes.length ? ['', ...r.notes.map((n) => `- ${n}`)] : []),
    '',
  ].join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Utility budget of the target: retained perplexity at most 5% above the original model's. */
export const PPL_BUDGET = 1.05;
/** Cost budget of the target: at most 20% of the retraining wall time. */
export const COST_BUDGET = 0.2;

const finite = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x);
const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/** The names of the plots of {@link lmReportSpecs}, in page order. */
export const LM_PLOTS = ['forgetting', 'tradeoff', 'privLeak'] as const;
export type LmPlot = (typeof LM_PLOTS)[number];

/**
 * The Vega-Lite specs (data inlined) of the report's plots; exported for tests and reuse.
 * - `forgetting`: per audit (VerbMem, knowledge in the source's wording, knowledge under the best
 *   paraphrase, VerbMem after the relearning attack), one bar per model, with the retrained model's
 *   value drawn as a dashed rule across the panel (the target).
 * - `tradeoff`: cost vs retrain (log x; rows without a cost are skipped) against retained perplexity
 *   relative to the original model's, labelled by model, with the budgets as rules
 *   (y = {@link PPL_BUDGET}, x = {@link COST_BUDGET}).
 * - `privLeak`: PrivLeak per model (bars around 0; 0 is the retrained model's).
 * Values that are n/a (NaN, ±∞, undefined) are dropped, as are non-positive costs (log scale).
 * The original is the row named `original`, the reference the row named `retrain` (else the first
 * with `costVsRetrain` = 1); without an original row the trade-off plot has no points.
 */
export function lmReportSpecs(r: LmReport): Record<LmPlot, TopLevelSpec> {
  const models = r.rows.map((row) => row.name);
  const color = { field: 'model', type: 'nominal' as const, scale: { domain: models }, title: 'model' };
  const ref = r.rows.find((row) => row.name === 'retrain') ?? r.rows.find((row) => row.costVsRetrain === 1);
  const orig = r.rows.find((row) => row.name === 'original');

  const metrics: [string, (a: LmAudit) => number | undefined][] = [
    ['VerbMem', (a) => a.forget.verbMem],
    ['knowledge (original wording)', (a) => a.forget.knowledge.original],
    ['knowledge (best wording)', (a) => a.forget.knowledge.maxWording],
    ['VerbMem after relearning', (a) => a.relearned?.verbMem],
  ];
  const forgetting = r.rows.flatMap((row) =>
    metrics.flatMap(([metric, get]) => {
      const value = get(row.audit);
      return finite(value) ? [{ model: row.name, metric, value, reference: row === ref }] : [];
    }),
  );

  const origPpl = orig?.audit.retained.perplexity;
  const tradeoff = r.rows.flatMap((row) => {
    const cost = row.costVsRetrain;
    const ratio = finite(origPpl) && origPpl > 0 ? row.audit.retained.perplexity / origPpl : NaN;
    return finite(cost) && cost > 0 && finite(ratio) ? [{ model: row.name, cost, pplRatio: ratio }] : [];
  });

  const privLeak = r.rows.flatMap((row) => (finite(row.audit.forget.privLeak) ? [{ model: row.name, privLeak: row.audit.forget.privLeak }] : []));

  const x = { field: 'cost', type: 'quantitative' as const, scale: { type: 'log' as const }, title: 'cost vs retrain (wall time ratio, log)' };
  const y = { field: 'pplRatio', type: 'quantitative' as const, scale: { zero: false }, title: 'retained perplexity / original' };
  return {
    forgetting: {
      $schema: SCHEMA,
      title: { text: 'Forgetting audits per model', subtitle: `${ref ? `dashed line: the retrained model (${ref.name}), the target` : 'no retrained reference in this report'}; no bar: n/a`, anchor: 'start' },
      data: { values: forgetting },
      facet: { column: { field: 'metric', type: 'nominal', sort: metrics.map(([m]) => m), title: null } },
      spec: {
        width: 150,
        height: 220,
        layer: [
          {
            mark: 'bar',
            encoding: {
              x: { field: 'model', type: 'nominal', sort: models, axis: { labelAngle: -40 }, title: null },
              y: { field: 'value', type: 'quantitative', scale: { domain: [0, 1] }, title: 'value (0–1)' },
              color,
              tooltip: [{ field: 'model' }, { field: 'value', format: '.3f' }],
            },
          },
          {
            transform: [{ filter: 'datum.reference' }],
            mark: { type: 'rule', strokeDash: [6, 4], color: 'black', strokeWidth: 1.5 },
            encoding: { y: { field: 'value', type: 'quantitative' } },
          },
        ],
      },
    },
    tradeoff: {
      $schema: SCHEMA,
      title: {
        text: 'Utility vs cost',
        anchor: 'start',
        subtitle: orig ? `dashed: budgets (perplexity ≤ ${PPL_BUDGET} × original, cost ≤ ${COST_BUDGET} × retrain); bottom-left meets both` : 'no original row: the perplexity ratio is unavailable',
      },
      width: 420,
      height: 300,
      layer: [
        { data: { values: tradeoff }, mark: { type: 'point', filled: true, size: 80 }, encoding: { x, y, color } },
        { data: { values: tradeoff }, mark: { type: 'text', dx: 7, align: 'left', baseline: 'middle' }, encoding: { x, y, text: { field: 'model' } } },
        { data: { values: [{ pplRatio: PPL_BUDGET }] }, mark: { type: 'rule', strokeDash: [6, 4], color: 'firebrick' }, encoding: { y } },
        { data: { values: [{ cost: COST_BUDGET }] }, mark: { type: 'rule', strokeDash: [6, 4], color: 'firebrick' }, encoding: { x } },
      ],
    },
    privLeak: {
      $schema: SCHEMA,
      title: { text: 'PrivLeak per model', subtitle: '(AUC − AUC_retrained)/AUC_retrained of the loss attack; ≈ 0 is ideal', anchor: 'start' },
      width: 320,
      height: 220,
      layer: [
        {
          data: { values: privLeak },
          mark: 'bar',
          encoding: {
            x: { field: 'model', type: 'nominal', sort: models, axis: { labelAngle: -40 }, title: null },
            y: { field: 'privLeak', type: 'quantitative', title: 'PrivLeak' },
            color,
          },
        },
        { data: { values: [{ privLeak: 0 }] }, mark: { type: 'rule', color: 'black' }, encoding: { y: { field: 'privLeak', type: 'quantitative' } } },
      ],
    },
  };
}

/**
 * Self-contained HTML page (inline CSS, no scripts) of the report: the header, `figures` (SVG
 * markup, e.g. from {@link lmHtmlWithPlots}; none by default), the table and the legend.
 * Synchronous and table-only unless figures are given; {@link lmHtmlWithPlots} adds the plots.
 */
export function lmHtml(r: LmReport, figures: string[] = []): string {
  const lines = lmTable(r.rows).split('\n').filter((_, i) => i !== 1);
  const cells = (l: string) => l.split('|').slice(1, -1).map((c) => esc(c.trim()));
  const [head, ...body] = lines;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Forgetting ${esc(r.source)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}${figures.length ? '.plots{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}figure{margin:0}' : ''}</style></head><body>
<h1>Forgetting <code>${esc(r.source)}</code></h1>
<p>Model <code>${esc(r.model.config)}</code> (${r.model.params} parameters), corpus ${esc(r.model.corpusFingerprint.slice(0, 12))}, backend ${esc(r.model.backend)}.</p>
<table><thead><tr>${cells(head).map((c) => `<th>${c}</th>`).join('')}</tr></thead><tbody>${body.map((l) => `<tr>${cells(l).map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>
<ul>${[...LEGEND, ...r.notes].map((l) => `<li>${esc(l)}</li>`).join('')}</ul>
${figures.length ? `<div class="plots">${figures.map((s) => `<figure>${s}</figure>`).join('\n')}</div>\n` : ''}</body></html>
`;
}

/**
 * The HTML page of {@link lmHtml} with the plots of {@link lmReportSpecs} rendered to inline SVG
 * (self-contained: inline CSS and SVG, no scripts).
 * @returns the HTML text (UTF-8).
 */
export async function lmHtmlWithPlots(r: LmReport): Promise<string> {
  const specs = lmReportSpecs(r);
  return lmHtml(r, await Promise.all(LM_PLOTS.map((k) => renderSvg(specs[k]))));
}
