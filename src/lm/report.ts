/**
 * Reports of the language-model unlearning audit: one row per model (original, retrained,
 * each method) as a Markdown table, JSON, and a self-contained HTML page.
 */
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
    ['model', 'guarantee', 'VerbMem', 'know (orig)', 'know (max para)', 'MIA AUC', 'PrivLeak', 'relearn VerbMem', 'relearn know', 'retained ppl', 'retained VerbMem', 'retained know', 'time (s)', 'cost vs retrain'],
    rows.map((r) => [
      r.name,
      r.guarantee,
      f3(r.audit.forget.verbMem),
      f2(r.audit.forget.knowledge.original),
      f2(r.audit.forget.knowledge.paraphraseMax),
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
  'know (orig): fraction of knowledge probes whose answer ranks first among distractors in the source\'s wording; know (max para): fraction answered under at least one paraphrase (worst case for the unlearning).',
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

/** Self-contained HTML page (inline CSS, no scripts) of the report. */
export function lmHtml(r: LmReport): string {
  const lines = lmTable(r.rows).split('\n').filter((_, i) => i !== 1);
  const cells = (l: string) => l.split('|').slice(1, -1).map((c) => esc(c.trim()));
  const [head, ...body] = lines;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Forgetting ${esc(r.source)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}</style></head><body>
<h1>Forgetting <code>${esc(r.source)}</code></h1>
<p>Model <code>${esc(r.model.config)}</code> (${r.model.params} parameters), corpus ${esc(r.model.corpusFingerprint.slice(0, 12))}, backend ${esc(r.model.backend)}.</p>
<table><thead><tr>${cells(head).map((c) => `<th>${c}</th>`).join('')}</tr></thead><tbody>${body.map((l) => `<tr>${cells(l).map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>
<ul>${[...LEGEND, ...r.notes].map((l) => `<li>${esc(l)}</li>`).join('')}</ul>
</body></html>
`;
}
