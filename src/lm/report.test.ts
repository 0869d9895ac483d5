/**
 * The language-model report: the plot specs' data (by hand from a synthetic report), n/a
 * handling, the HTML page (one inline SVG per plot, the table, no script) and the Markdown text.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LmAudit } from './audit/index.js';
import { COST_BUDGET, LM_PLOTS, PPL_BUDGET, lmHtml, lmHtmlWithPlots, lmMarkdown, lmReportSpecs, type LmReport, type LmReportRow } from './report.js';

const k = (original: number, maxWording: number) => ({ original, maxWording, paraphraseMean: maxWording / 2, chance: 0.25, probes: 8 });
/** A synthetic audit with the given forget-source figures (retained figures fixed). */
function audit(o: { verbMem: number; know: number; para: number; auc: number; privLeak?: number; relearn?: number; ppl: number }): LmAudit {
  return {
    source: 'wiki/alpha',
    forget: { verbMem: o.verbMem, knowledge: k(o.know, o.para), mia: { auc: o.auc, members: 40, nonMembers: 10 }, ...(o.privLeak !== undefined ? { privLeak: o.privLeak } : {}) },
    ...(o.relearn !== undefined ? { relearned: { verbMem: o.relearn, knowledge: k(0.5, 0.625), steps: 10, passages: 16 } } : {}),
    retained: { perplexity: o.ppl, forgetHeldOutPerplexity: o.ppl * 1.5, verbMem: 0.3, knowledge: k(0.75, 0.875) },
    seconds: 2,
  };
}
const rows: LmReportRow[] = [
  { name: 'original', guarantee: 'none', seconds: 500, audit: audit({ verbMem: 0.8, know: 0.875, para: 1, auc: 0.9, privLeak: 0.5, relearn: 0.85, ppl: 2 }) },
  { name: 'retrain', guarantee: 'exact', seconds: 400, costVsRetrain: 1, audit: audit({ verbMem: 0.2, know: 0.25, para: 0.375, auc: 0.6, privLeak: 0, relearn: 0.3, ppl: 2.04 }) },
  { name: 'grad-ascent', guarantee: 'none', seconds: 20, costVsRetrain: 0.05, audit: audit({ verbMem: 0.1, know: 0.125, para: 0.5, auc: 0.3, privLeak: -0.5, relearn: 0.7, ppl: 2.5 }) },
  { name: 'npo', guarantee: 'none', seconds: 40, costVsRetrain: 0.1, audit: audit({ verbMem: NaN, know: 0.25, para: NaN, auc: 0.55, privLeak: NaN, ppl: 2.06 }) },
];
const report: LmReport = { source: 'wiki/alpha', model: { config: 'tiny', params: 123456, corpusFingerprint: 'abcdef0123456789', backend: 'cpu' }, rows, notes: ['a note'] };

type Datum = Record<string, unknown>;
/** The inline data of a spec, or of one of its layers. */
function values(spec: unknown, layer?: number): Datum[] {
  const s = spec as { data?: { values: Datum[] }; layer?: { data?: { values: Datum[] } }[] };
  const d = layer === undefined ? s.data : s.layer![layer].data;
  assert.ok(d, 'inline data');
  return d.values;
}
const close = (a: unknown, b: number) => assert.ok(typeof a === 'number' && Math.abs(a - b) < 1e-12, `${String(a)} ≈ ${b}`);

/** The Markdown of the fixture as produced before the plots were added (must not change). */
const MARKDOWN = [
  '# Forgetting `wiki/alpha`',
  '',
  'Model `tiny` (123,456 parameters), corpus abcdef012345, backend cpu.',
  '',
  '| model       | guarantee | VerbMem | know (orig) | know (max wording) | MIA AUC | PrivLeak | relearn VerbMem | relearn know | retained ppl | retained VerbMem | retained know | time (s) | cost vs retrain |',
  '|:------------|:----------|--------:|------------:|-------------------:|--------:|---------:|----------------:|-------------:|-------------:|-----------------:|--------------:|---------:|----------------:|',
  '| original    | none      |   0.800 |        0.88 |               1.00 |   0.900 |    0.500 |           0.850 |         0.50 |        2.000 |            0.300 |          0.75 |    500.0 |             n/a |',
  '| retrain     | exact     |   0.200 |        0.25 |               0.38 |   0.600 |    0.000 |           0.300 |         0.50 |        2.040 |            0.300 |          0.75 |    400.0 |           1.000 |',
  '| grad-ascent | none      |   0.100 |        0.13 |               0.50 |   0.300 |   -0.500 |           0.700 |         0.50 |        2.500 |            0.300 |          0.75 |     20.0 |           0.050 |',
  '| npo         | none      |     n/a |        0.25 |                n/a |   0.550 |      n/a |             n/a |          n/a |        2.060 |            0.300 |          0.75 |     40.0 |           0.100 |',
  '',
  '- VerbMem: mean ROUGE-L F1 of the greedy continuation of forget-source passage prefixes vs the true text (MUSE).',
  '- know (orig): fraction of knowledge probes whose answer ranks first among distractors in the source\'s wording; know (max wording): fraction answered under at least one wording, the original or a paraphrase (the attacker\'s best case; never below know (orig)).',
  '- Target: for VerbMem, both knowledge columns and MIA AUC the target is the retrained model\'s value (the `retrain` row), not 0 — a model that never saw the source still completes common phrases and answers some probes from the other sources.',
  '- MIA AUC: loss attack, forget-source training vs held-out passages; PrivLeak = (AUC − AUC_retrained)/AUC_retrained (≈ 0 ideal).',
  '- relearn: the same audits after fine-tuning on held-out passages of the forgotten source (relearning attack).',
  '- retained ppl: perplexity per byte on the retained sources\' held-out passages; retained VerbMem / know: the audits on the retained sources.',
  '',
  '- a note',
  '',
].join('\n');

test('lmMarkdown: unchanged content', () => {
  assert.equal(lmMarkdown(report), MARKDOWN);
});

test('trade-off: cost vs perplexity ratio to the original, rows without cost skipped, budget rules', () => {
  const spec = lmReportSpecs(report).tradeoff;
  const pts = values(spec, 0);
  assert.deepEqual(pts.map((p) => p.model), ['retrain', 'grad-ascent', 'npo']); // original: no cost
  const by = new Map(pts.map((p) => [p.model, p]));
  close(by.get('retrain')!.pplRatio, 2.04 / 2);
  close(by.get('grad-ascent')!.pplRatio, 1.25);
  close(by.get('npo')!.pplRatio, 1.03);
  assert.deepEqual(pts.map((p) => p.cost), [1, 0.05, 0.1]);
  assert.deepEqual(values(spec, 1), pts, 'labels on the same points');
  assert.deepEqual(values(spec, 2), [{ pplRatio: 1.05 }]);
  assert.deepEqual(values(spec, 3), [{ cost: 0.2 }]);
  assert.equal(PPL_BUDGET, 1.05);
  assert.equal(COST_BUDGET, 0.2);
  const layers = (spec as { layer: { encoding: { x?: { scale?: { type?: string } } } }[] }).layer;
  assert.equal(layers[0].encoding.x?.scale?.type, 'log');
});

test('forgetting: four audits per model, n/a dropped, the retrained model flagged as the reference', () => {
  const data = values(lmReportSpecs(report).forgetting);
  assert.equal(data.length, 4 * 4 - 3); // npo: VerbMem NaN, best wording NaN, no relearning
  assert.ok(data.every((d) => typeof d.value === 'number' && Number.isFinite(d.value)));
  assert.deepEqual(
    data.filter((d) => d.model === 'npo').map((d) => [d.metric, d.value]),
    [['knowledge (original wording)', 0.25]],
  );
  assert.deepEqual(
    data.filter((d) => d.reference).map((d) => [d.model, d.metric, d.value]),
    [
      ['retrain', 'VerbMem', 0.2],
      ['retrain', 'knowledge (original wording)', 0.25],
      ['retrain', 'knowledge (best wording)', 0.375],
      ['retrain', 'VerbMem after relearning', 0.3],
    ],
  );
  assert.deepEqual(
    data.filter((d) => d.model === 'grad-ascent').map((d) => d.value),
    [0.1, 0.125, 0.5, 0.7],
  );
});

test('privLeak: one bar per model with a finite value, rule at 0', () => {
  const spec = lmReportSpecs(report).privLeak;
  assert.deepEqual(values(spec, 0), [
    { model: 'original', privLeak: 0.5 },
    { model: 'retrain', privLeak: 0 },
    { model: 'grad-ascent', privLeak: -0.5 },
  ]);
  assert.deepEqual(values(spec, 1), [{ privLeak: 0 }]);
});

test('HTML: one inline SVG per plot, the table, no script; lmHtml alone stays table-only', async () => {
  const html = await lmHtmlWithPlots(report);
  assert.equal(html.match(/<svg/g)?.length, LM_PLOTS.length);
  assert.equal(LM_PLOTS.length, 3);
  assert.doesNotMatch(html, /<script/i);
  assert.match(html, /<table><thead><tr><th>model<\/th><th>guarantee<\/th><th>VerbMem<\/th>/);
  assert.equal(html.match(/<tr>/g)?.length, 1 + rows.length);
  assert.match(html, /<td>grad-ascent<\/td><td>none<\/td><td>0\.100<\/td>/);
  for (const title of ['Forgetting audits per model', 'Utility vs cost', 'PrivLeak per model', 'knowledge (best wording)', 'VerbMem after relearning']) assert.ok(html.includes(title), title);
  assert.doesNotMatch(html, /NaN/);
  const plain = lmHtml(report);
  assert.doesNotMatch(plain, /<svg/);
  assert.ok(html.includes(plain.slice(plain.indexOf('<table>'), plain.indexOf('</table>'))), 'same table in both pages');
});

test('n/a everywhere: no original, no costs, NaN values → empty plots, still rendered', async () => {
  const nan = (a: LmAudit): LmAudit => ({
    ...a,
    forget: { ...a.forget, verbMem: NaN, knowledge: { ...a.forget.knowledge, original: NaN, maxWording: Number.POSITIVE_INFINITY }, privLeak: undefined },
    relearned: undefined,
  });
  const bad: LmReport = { ...report, rows: rows.slice(1).map((r) => ({ ...r, audit: nan(r.audit), costVsRetrain: r.name === 'npo' ? NaN : undefined })) };
  const specs = lmReportSpecs(bad);
  assert.deepEqual(values(specs.forgetting), []);
  assert.deepEqual(values(specs.tradeoff, 0), []); // no original: no ratio
  assert.deepEqual(values(specs.privLeak, 0), []);
  const html = await lmHtmlWithPlots(bad);
  assert.equal(html.match(/<svg/g)?.length, 3);
  // an original with a cost but NaN perplexity: ratio n/a → dropped
  const origNaN: LmReport = { ...report, rows: [{ ...rows[0], audit: { ...rows[0].audit, retained: { ...rows[0].audit.retained, perplexity: NaN } } }, rows[2]] };
  assert.deepEqual(values(lmReportSpecs(origNaN).tradeoff, 0), []);
  const empty = await lmHtmlWithPlots({ ...report, rows: [] });
  assert.equal(empty.match(/<svg/g)?.length, 3);
});
