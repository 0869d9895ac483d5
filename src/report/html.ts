/**
 * The HTML report of a benchmark: the leaderboard table and SVG plots rendered server-side with
 * Vega-Lite → Vega → SVG (no script in the page: it opens offline in any browser).
 * Plots: forgetting quality vs cost vs utility (the trade-off), the per-example ε histogram of
 * each method, and the ROC curves of LiRA and U-LiRA (log-log, the field's convention).
 */
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import type { BenchResult } from '../workflows/benchmark.js';
import { BIN_WIDTH } from '../eval/challengeScore.js';
import { leaderboardTable } from './leaderboard.js';

/**
 * Render a Vega-Lite spec to an SVG string (no browser, no canvas).
 * @param spec a Vega-Lite top-level spec (data inlined).
 */
export async function renderSvg(spec: vegaLite.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Markdown pipe table → HTML table (the leaderboard is built once, as Markdown). */
function tableHtml(md: string): string {
  const lines = md.trim().split('\n').filter((l, i) => i !== 1);
  const cells = (l: string) => l.split('|').slice(1, -1).map((c) => esc(c.trim()));
  const [head, ...body] = lines;
  return `<table><thead><tr>${cells(head).map((c) => `<th>${c}</th>`).join('')}</tr></thead><tbody>${body.map((l) => `<tr>${cells(l).map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

/** The Vega-Lite specs of the report's plots (exported for tests and reuse). */
export function reportSpecs(b: BenchResult): Record<'tradeoff' | 'epsilon' | 'lira' | 'ulira', vegaLite.TopLevelSpec> {
  const methods = b.rows.map((r) => r.method);
  const color = { field: 'method', type: 'nominal' as const, scale: { domain: methods } };
  const edge = b.rows[0].challenge.lastBinEdge;
  const tradeoff = b.rows
    .filter((r) => r.method !== 'original')
    .map((r) => ({ method: r.method, cost: Math.max(r.cost, 1e-3), F: r.challenge.F, utility: r.challenge.raRatio * r.challenge.taRatio, score: r.challenge.score }));
  const eps = b.rows.flatMap((r) => {
    const counts = new Map<number, number>();
    for (const e of r.epsilon) {
      const bin = Math.min(Math.floor(e / BIN_WIDTH) * BIN_WIDTH, edge);
      counts.set(bin, (counts.get(bin) ?? 0) + 1);
    }
    return [...counts].map(([bin, n]) => ({ method: r.method, bin: bin >= edge ? `≥ ${edge}` : `[${bin}, ${bin + BIN_WIDTH})`, order: bin, fraction: n / r.epsilon.length }));
  });
  const roc = (key: 'lira' | 'ulira') =>
    b.rows.flatMap((r) => r[key].roc.fpr.map((f, i) => ({ method: r.method, fpr: f, tpr: r[key].roc.tpr[i] })).filter((p) => p.fpr > 0 && p.tpr > 0));
  const rocSpec = (key: 'lira' | 'ulira', title: string): vegaLite.TopLevelSpec => ({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 380,
    height: 320,
    data: { values: roc(key) },
    mark: { type: 'line', interpolate: 'step-after' },
    encoding: {
      x: { field: 'fpr', type: 'quantitative', scale: { type: 'log', domain: [1e-4, 1] }, title: 'false positive rate' },
      y: { field: 'tpr', type: 'quantitative', scale: { type: 'log', domain: [1e-4, 1] }, title: 'true positive rate' },
      color,
      order: { field: 'fpr', type: 'quantitative' },
    },
  });
  return {
    tradeoff: {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: 'Forgetting quality vs cost (size: utility = RA ratio × TA ratio)',
      width: 420,
      height: 300,
      data: { values: tradeoff },
      layer: [
        {
          mark: { type: 'point', filled: true },
          encoding: {
            x: { field: 'cost', type: 'quantitative', scale: { type: 'log' }, title: b.rows.every((r) => r.costClock === 'cpu') ? 'cost vs retrain (CPU time ratio)' : 'cost vs retrain (wall time ratio)' },
            y: { field: 'F', type: 'quantitative', title: 'forgetting quality F' },
            size: { field: 'utility', type: 'quantitative', scale: { domain: [0.8, 1.05], range: [40, 400] } },
            color,
          },
        },
        { mark: { type: 'text', dx: 8, align: 'left' }, encoding: { x: { field: 'cost', type: 'quantitative', scale: { type: 'log' } }, y: { field: 'F', type: 'quantitative' }, text: { field: 'method' } } },
      ],
    },
    epsilon: {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: `Per-example ε (bins of ${BIN_WIDTH}; last: at or beyond ⌈ln(N − 1)⌉ = ${edge}, scored 0)`,
      width: 520,
      height: 260,
      data: { values: eps },
      mark: 'bar',
      encoding: {
        x: { field: 'bin', type: 'ordinal', sort: { field: 'order' }, title: 'ε bin' },
        xOffset: { field: 'method', type: 'nominal', scale: { domain: methods } },
        y: { field: 'fraction', type: 'quantitative', title: 'fraction of forget examples' },
        color,
      },
    },
    lira: rocSpec('lira', 'LiRA (online) ROC: forget vs same-class test examples under each method\'s models'),
    ulira: rocSpec('ulira', 'U-LiRA ROC: method\'s models vs retrained models on the forget set'),
  };
}

/**
 * A self-contained HTML report (inline SVG, inline CSS, no scripts) of a benchmark.
 * @returns the HTML text (UTF-8).
 */
export async function renderHtmlReport(b: BenchResult, markdownTableText = leaderboardTable(b.rows)): Promise<string> {
  const specs = reportSpecs(b);
  const svgs = await Promise.all([specs.tradeoff, specs.epsilon, specs.lira, specs.ulira].map(renderSvg));
  const c = b.config;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Unlearning leaderboard: ${esc(c.dataset)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td:first-child,th:first-child{text-align:left}.plots{display:flex;flex-wrap:wrap;gap:24px}</style>
</head><body>
<h1>Unlearning leaderboard: ${esc(c.dataset)}</h1>
<p>Forget set ${esc(JSON.stringify(c.forget))} (${c.forgetSize} examples); N = ${c.models} runs per method and retrained models; K = ${c.shadows} shadows;
model ${esc(JSON.stringify(c.spec))}; recipe ${esc(JSON.stringify(c.recipe))}; backend ${esc(c.backend)}, ${c.workers} workers; wall time ${b.wallSeconds.toFixed(1)} s.
Largest ε resolvable with N models: ${b.rows[0].challenge.maxResolvableEpsilon.toFixed(3)}; last bin edge ${b.rows[0].challenge.lastBinEdge}.</p>
${tableHtml(markdownTableText)}
<p><code>retrain (ceiling)</code>: N independent retrained models scored against the reference ones — the best F attainable at this N.</p>
<div class="plots">${svgs.map((s) => `<figure>${s}</figure>`).join('\n')}</div>
</body></html>
`;
}
