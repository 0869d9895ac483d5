/**
 * The crash harness, small: a dozen requests, SIGKILLs during intake and inside jobs, restarts;
 * nothing acknowledged is lost, nothing runs twice, nothing is half-published, every
 * certificate and the log verify. (The larger run is bench/crash.ts.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCrashHarness } from './crash.js';
import { fixtureModels } from './testing.js';

test('SIGKILL at random points and once at every job probe point: 0 lost, 0 run twice, 0 half-published; certificates and log verify', { timeout: 240_000 }, async () => {
  const m = await fixtureModels();
  const dataRoot = mkdtempSync(join(tmpdir(), 'unlearn-crash-'));
  try {
    const r = await runCrashHarness({ dataRoot, models: { plain: m.plain }, subjects: Array.from({ length: 8 }, (_, i) => `cps/${100 + i}`), intakeKillP: 0.15, jobKillP: 0.1, killEveryPointOnce: true, concurrency: 3 });
    assert.deepEqual(r.pointsNotKilled, [], `every job probe point is killed at least once: ${JSON.stringify(r.kills)}`);
    assert.equal(r.acknowledged, 8);
    assert.equal(r.lost, 0);
    assert.equal(r.plannedTwice, 0);
    assert.equal(r.completedTwice, 0);
    assert.equal(r.publishedTwice, 0);
    assert.equal(r.halfPublished, 0);
    assert.equal(r.final.completed, 8, JSON.stringify(r));
    assert.equal(r.certificates.failed, 0);
    assert.equal(r.certificates.checked, 8);
    assert.ok(r.log.ok, JSON.stringify(r.log));
  } finally {
    rmSync(dataRoot, { recursive: true, force: true });
  }
});
