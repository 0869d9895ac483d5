/**
 * Reports of the series of forget requests: sustainability (MUSE's criterion 6: sources forgotten
 * one after another, audited after every step) and scale (criterion 5: forget sets of growing
 * size). One row per (step, model), the retrained reference of each step included, as a Markdown
 * table and a self-contained HTML page with a line plot per audit.
 */
import type { TopLevelSpec } from 'vega-lite';
import { renderSvg } from '../report/html.js';
import { markdownTable } from '../report/table.js';
import type { LmAudit } from './audit/index.js';
import type { LmReport } from './report.js';

/** One model after one step of the series. */
export interface LmSeriesRow {
  /** 1-based position in the series (the step, or the index of the forget set). */
  step: number;
  /** What the step removed: "forgot X (removed so far: …)" or "4 sources: …". */
  request: string;
  model: string;
  audit: LmAudit;
  seconds: number;
  costVsRetrain?: number;
}

export interface LmSeriesReport {
  kind: 'sustainability' | 'scale';
  model: LmReport['model'];
  rows: LmSeriesRow[];
  notes: string[];
}

const f = (x: number | undefined, d: number) => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(d));
const TITLE = { sustainability: 'Sustainability: sources forgotten one after another', scale: 'Scale: forget sets of growing size' } as const;

/** The series table: one row per step and model. */
export function lmSeriesTable(rows: LmSeriesRow[]): string {
  return markdownTable(
    ['step', 'request', 'model', 'VerbMem', 'know (orig)', 'know (max wording)', 'PrivLeak', 'int4 VerbMem', 'relearn VerbMem', 'retained ppl', 'retained know', 'time (s)', 'cost vs retrain'],
    rows.map((r) => [
      String(r.step),
      r.request,
      r.model,
      f(r.audit.forget.verbMem, 3),
      f(r.audit.forget.knowledge.original, 2),
      f(r.audit.forget.knowledge.maxWording, 2),
      f(r.audit.forget.privLeak, 3),
      f(r.audit.quantized?.find((q) => q.bits === 4)?.verbMem, 3),
      f(r.audit.relearned?.verbMem, 3),
      f(r.audit.retained.perplexity, 3),
      f(r.audit.retained.knowledge.original, 2),
      r.seconds.toFixed(1),
      f(r.costVsRetrain, 3),
    ]),
  );
}

/** Markdown of a series report. */
export function lmSeriesMarkdown(r: LmSeriesReport): string {
  return [`# ${TITLE[r.kind]}`, '', `Model \`${r.model.config}\` (${r.model.params.toLocaleString('en-US')} parameters), corpus ${r.model.corpusFingerprint.slice(0, 12)}, backend ${r.model.backend}.`, '', lmSeriesTable(r.rows), '', ...r.notes.map((n) => `- ${n}`), ''].join('\n');
}

/**
 * Vega-Lite spec of the series: per audit (VerbMem, knowledge under the best wording, retained
 * perplexity, PrivLeak), a line per model across the steps (independent y scales). n/a dropped.
 */
export function lmSeriesSpec(r: LmSeriesReport): TopLevelSpec {
  const metrics: [string, (a: LmAudit) => number | undefined][] = [
    ['VerbMem', (a) => a.forget.verbMem],
    ['knowledge (best wording)', (a) => a.forget.knowledge.maxWording],
    ['PrivLeak (loss)', (a) => a.forget.privLeak],
    ['retained perplexity', (a) => a.retained.perplexity],
  ];
  const values = r.rows.flatMap((row) => metrics.flatMap(([metric, get]) => {
    const v = get(row.audit);
    return v !== undefined && Number.isFinite(v) ? [{ step: row.step, model: row.model, metric, value: v }] : [];
  }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: TITLE[r.kind], subtitle: r.kind === 'sustainability' ? 'x: number of requests served so far' : 'x: index of the forget set (sizes in the table)', anchor: 'start' },
    data: { values },
    facet: { column: { field: 'metric', type: 'nominal', sort: metrics.map(([m]) => m), title: null } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 200,
      height: 200,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'step', type: 'ordinal', title: 'step' },
        y: { field: 'value', type: 'quantitative', scale: { zero: false }, title: null },
        color: { field: 'model', type: 'nominal', title: 'model' },
      },
    },
  };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Self-contained HTML page (inline CSS and SVG, no script) of a series report. */
export async function lmSeriesHtml(r: LmSeriesReport): Promise<string> {
  const lines = lmSeriesTable(r.rows).split('\n').filter((_, i) => i !== 1);
  const cells = (l: string) => l.split('|').slice(1, -1).map((c) => esc(c.trim()));
  const [head, ...body] = lines;
  const svg = await renderSvg(lmSeriesSpec(r));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(TITLE[r.kind])}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:nth-child(-n+3),th:nth-child(-n+3){text-align:left}</style></head><body>
<h1>${esc(TITLE[r.kind])}</h1>
<p>Model <code>${esc(r.model.config)}</code> (${r.model.params} parameters), corpus ${esc(r.model.corpusFingerprint.slice(0, 12))}, backend ${esc(r.model.backend)}.</p>
<table><thead><tr>${cells(head).map((c) => `<th>${c}</th>`).join('')}</tr></thead><tbody>${body.map((l) => `<tr>${cells(l).map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>
<ul>${r.notes.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>
<figure>${svg}</figure>
</body></html>
`;
}
