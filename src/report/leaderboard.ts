/**
 * The method leaderboard of a benchmark (src/eval/benchmark.ts) as Markdown and JSON.
 */
import type { BenchResult, BenchRow } from '../workflows/benchmark.js';
import { specLine } from '../workflows/benchSetup.js';
import { markdownTable, pct } from './table.js';

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const f4 = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : 'n/a');

/** The leaderboard table: one row per model family (original, retrain ceiling, each method). */
export function leaderboardTable(rows: BenchRow[]): string {
  const header = ['method', 'guarantee', 'F', 'RA ratio', 'TA ratio', 'score', 'RA %', 'FA %', 'TA %', 'loss-MIA AUC', 'LiRA AUC', 'LiRA TPR@1%', 'LiRA TPR@0.1%', 'LiRA offline AUC', 'U-LiRA AUC', 'time (s)', 'CPU (s)', 'cost vs retrain', 'wall cost'];
  const body = rows.map((r) => [
    r.method === 'retrain' ? 'retrain (ceiling)' : r.method,
    r.guarantee,
    f4(r.challenge.F),
    f4(r.challenge.raRatio),
    f4(r.challenge.taRatio),
    f4(r.challenge.score),
    pct(r.RA),
    pct(r.FA),
    pct(r.TA),
    f3(r.lossMiaAuc),
    f3(r.lira.auc),
    pct(r.lira.tprAt1pct),
    pct(r.lira.tprAt01pct),
    f3(r.liraOffline.auc),
    f3(r.ulira.auc),
    r.seconds.toFixed(2),
    r.cpuSeconds === null || r.cpuSeconds === undefined ? '-' : r.cpuSeconds.toFixed(2),
    r.method === 'original' ? '-' : r.cost.toFixed(3),
    r.method === 'original' || r.wallCost === undefined ? '-' : r.wallCost.toFixed(3),
  ]);
  return markdownTable(header, body);
}

/** Markdown report: configuration, the table, and how to read it. */
export function leaderboardMarkdown(b: BenchResult): string {
  const c = b.config;
  const ch = b.rows[0].challenge;
  const spec = specLine(c.spec);
  return [
    `# Unlearning leaderboard: ${c.dataset}`,
    '',
    ...(c.note ? [c.note, ''] : []),
    `- data: \`${c.dataset}\` ${JSON.stringify(c.datasetOptions)}, fingerprint \`${c.fingerprint.slice(0, 16)}\``,
    `- model: ${spec}; recipe: ${c.recipe.optimizer} lr ${c.recipe.learningRate}, ${c.recipe.epochs} epochs, batch ${c.recipe.batchSize}, weight decay ${c.recipe.weightDecay}`,
    `- forget set: ${JSON.stringify(c.forget)} → ${c.forgetSize} examples (ids sha256 \`${c.forgetIdsSha256.slice(0, 16)}\`)`,
    `- N = ${c.models} unlearning runs per method and ${c.models} reference retrained models; K = ${c.shadows} shadow models; seed ${c.seed}`,
    `- challenge score: δ = ${ch.delta}, bins of 0.5 up to ⌈ln(N − 1)⌉ = ${ch.lastBinEdge}; the largest ε ${c.models} models can resolve is ln(N − 1 − Nδ) = ${ch.maxResolvableEpsilon.toFixed(3)}`,
    `- farm: ${b.farm.jobs} jobs (${b.farm.computed} trained, ${b.farm.cached} from the cache), ${c.workers} workers, backend ${c.backend}; wall time ${b.wallSeconds.toFixed(1)} s`,
    '',
    leaderboardTable(b.rows),
    '',
    'Params passed to each method (the rest are its defaults; "tuned" = chosen by `unlearn tune` on a validation forget set disjoint from the scored one):',
    '',
    ...b.rows.filter((r) => r.method !== 'original' && r.method !== 'retrain').map((r) => {
      const t = c.tuned?.find((x) => x.method === r.method);
      return `- ${r.method}: \`${JSON.stringify(r.params)}\`${t ? ` (tuned: trial ${t.trial} of ${t.from})` : c.tuned ? ' (defaults: not tuned or no trial within budget)' : ''}`;
    }),
    '',
    'How to read it: F is the NeurIPS 2023 challenge forgetting quality (organisers\' estimator) of the method\'s N runs against N',
    'retrained models; score = F × RA ratio × TA ratio. `retrain (ceiling)` is N further retrained models (other seeds) scored the same',
    'way: the best F attainable at this N (the estimator is biased at finite N, so it is well below 1). `original` repeats θ_o N times',
    '(its outputs collapse, so ε is capped and F = 0). Loss-MIA AUC is forget vs test (ideal: the retrained value); LiRA attacks each',
    'model with K shadow models (forget = members, test examples of the forget set\'s classes = non-members); U-LiRA tells the method\'s models from retrained ones on the',
    'forget set using shadows unlearned by the same method (ideal 0.5). Cost = mean method time / mean retrain time, on the worker',
    `threads' CPU clock where it was measured (${b.rows.every((r) => r.costClock === 'cpu') ? 'here: CPU time' : 'here: wall time, no CPU clock'}; it does not move with the machine's load, up to cache effects);`,
    '"wall cost" is the same ratio of wall times, which grows for jobs that ran while the machine was busier.',
    '',
  ].join('\n');
}

/** JSON of the whole benchmark result (config, rows with thinned ROC curves and per-example ε). */
export function leaderboardJson(b: BenchResult): string {
  return JSON.stringify(b, null, 1) + '\n';
}
