import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { selectForgetSet } from '../data/forgetSet.js';
import { initEngine } from '../engine/backend.js';
import { smallDigits } from '../testing/fixtures.js';
import { listMethods } from '../unlearn/index.js';
import { SEARCH_SPACES, runTune, sampleTrials, tuneMarkdown, validationForgetSet, type TuneOptions } from './tune.js';

const dir = await mkdtemp(join(tmpdir(), 'unlearn-tune-'));
after(() => rm(dir, { recursive: true, force: true }));

test('every approximate method has a search space whose points its schema accepts', () => {
  for (const m of listMethods().filter((x) => x.guarantee === 'approximate')) {
    assert.ok(SEARCH_SPACES[m.id], `${m.id} has a search space`);
    for (const p of sampleTrials(SEARCH_SPACES[m.id], 1000, 0)) assert.ok(m.paramsSchema.safeParse(p).success, `${m.id}: ${JSON.stringify(p)}`);
  }
});

test('sampleTrials: defaults first, then distinct grid points, seeded', () => {
  const space = { a: [1, 2, 3], b: ['x', 'y'] };
  const t = sampleTrials(space, 4, 7);
  assert.deepEqual(t[0], {});
  assert.equal(new Set(t.map((p) => JSON.stringify(p))).size, 4);
  assert.deepEqual(sampleTrials(space, 4, 7), t);
  assert.equal(sampleTrials(space, 100, 7).length, 7, 'at most the whole grid plus the defaults');
});

test('validation forget sets are disjoint from the scored one and of the same kind and size', async () => {
  const split = await smallDigits(300, 50);
  const random = selectForgetSet(split.train, split.train.ids, { randomFraction: 0.1 }, { seed: 0 });
  const v = validationForgetSet(split, random, { randomFraction: 0.1 }, 0).forget;
  assert.equal(v.forgetIdx.length, random.forgetIdx.length);
  assert.ok(!v.forgetIdx.some((i) => random.forgetIdx.includes(i)));
  const cls = selectForgetSet(split.train, split.train.ids, { classes: [9] });
  const vc = validationForgetSet(split, cls, { classes: [9] }, 0);
  assert.ok(Array.from(vc.forget.forgetIdx).every((i) => split.train.labels[i] === 0), vc.rule);
});

test('runTune scores each trial by the challenge score on the validation set and keeps only trials within budget', async () => {
  await initEngine('wasm');
  const o: TuneOptions = {
    source: { module: new URL('../testing/fixtures.ts', import.meta.url).href, fn: 'smallDigits', args: [240, 120] },
    method: 'finetune',
    budget: 100,
    forget: { randomFraction: 0.05 },
    models: 2,
    trials: 2,
    hidden: [16],
    recipe: { epochs: 3, batchSize: 32, learningRate: 0.003 },
    cacheDir: join(dir, 'cache'),
    workers: 0,
  };
  const r = await runTune(o);
  assert.equal(r.table.length, 2);
  assert.deepEqual(r.table[0].params, { epochs: 2 }, 'trial 0 = the defaults, filled in');
  assert.equal(r.validationForget.size, r.scoredForget.size);
  assert.notEqual(r.validationForget.idsSha256, r.scoredForget.idsSha256);
  for (const t of r.table) assert.ok(t.F >= 0 && t.F <= 1 && t.cost > 0 && t.withinBudget);
  const best = [...r.table].sort((a, b) => b.score - a.score || a.cost - b.cost)[0];
  assert.deepEqual(r.chosen, { trial: best.trial, params: best.params });
  assert.match(tuneMarkdown(r), /Chosen: trial/);
  // The same search with a budget nothing fits: every trial is recorded, none chosen (all from the cache).
  const tight = await runTune({ ...o, budget: 1e-9 });
  assert.equal(tight.chosen, null);
  assert.ok(tight.table.every((t) => !t.withinBudget));
  assert.equal(tight.farm.computed, 0);
  assert.match(tuneMarkdown(tight), /No trial fits/);
});
