import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { renderHtmlReport } from '../report/html.js';
import { leaderboardJson, leaderboardMarkdown } from '../report/leaderboard.js';
import { runBenchmark, type BenchOptions } from './benchmark.js';

const dir = await mkdtemp(join(tmpdir(), 'unlearn-bench-'));
after(() => rm(dir, { recursive: true, force: true }));

test('a tiny benchmark scores every row, writes Markdown/JSON/HTML, and re-scores from the cache', async () => {
  const opts: BenchOptions = {
    source: { module: new URL('../testing/fixtures.ts', import.meta.url).href, fn: 'smallDigits', args: [240, 120] },
    methods: [{ id: 'retrain' }, { id: 'finetune', params: { epochs: 1 } }],
    models: 3,
    shadows: 2,
    forget: { randomFraction: 0.05 },
    hidden: [16],
    recipe: { epochs: 3, batchSize: 32, learningRate: 0.003 },
    cacheDir: dir,
    workers: 2,
    backend: 'wasm',
  };
  const b = await runBenchmark(opts);
  assert.deepEqual(b.rows.map((r) => r.method), ['original', 'retrain', 'finetune']);
  assert.equal(b.config.forgetSize, 12);
  assert.ok(b.config.liraNonMembers.count > 0 && b.config.liraNonMembers.count <= 120, 'LiRA contrasts with held-out examples of the forget classes');
  assert.equal(b.farm.jobs, 1 + 2 + 3 + 3 + 3 + 2 * 2);
  const orig = b.rows[0];
  assert.equal(orig.challenge.F, 0); // θ_o repeated N times: collapsed outputs, ε capped
  assert.equal(orig.challenge.collapsed, 12);
  for (const r of b.rows) {
    assert.equal(r.epsilon.length, 12);
    assert.ok(r.challenge.F >= 0 && r.challenge.F <= 1);
    for (const a of [r.lira.auc, r.liraOffline.auc, r.ulira.auc, r.lossMiaAuc]) assert.ok(a >= 0 && a <= 1);
  }
  assert.ok(b.rows[1].challenge.F > 0, 'independent retrained models overlap the reference ones');
  assert.ok(b.rows[2].cost > 0);
  if (process.platform === 'linux') {
    // Cost on the worker threads' CPU clock: every job measured it, and a retrain costs CPU time.
    for (const r of b.rows) assert.equal(r.costClock, 'cpu', `${r.method} cost on ${r.costClock} time`);
    assert.ok(b.rows[1].cpuSeconds! > 0 && b.rows[1].cpuSeconds! <= b.rows[1].seconds * 1.05 + 0.01, `retrain CPU ${b.rows[1].cpuSeconds} s vs wall ${b.rows[1].seconds} s`);
    assert.ok(b.rows[2].wallCost > 0);
  }
  const md = leaderboardMarkdown(b);
  assert.match(md, /retrain \(ceiling\)/);
  assert.match(md, /ln\(N − 1 − Nδ\) = 0\.693/);
  assert.deepEqual(JSON.parse(leaderboardJson(b)).rows.length, 3);
  const html = await renderHtmlReport(b);
  assert.equal(html.match(/<svg/g)?.length, 4);
  assert.ok(!/<script/i.test(html));

  const again = await runBenchmark(opts);
  assert.deepEqual(again.farm, { jobs: b.farm.jobs, computed: 0, cached: b.farm.jobs });
  assert.deepEqual(again.rows.map((r) => r.challenge.F), b.rows.map((r) => r.challenge.F));
});
