/**
 * The crash harness at size (src/service/crash.ts): ≥ 100 deletion requests against the service
 * on the CPS-wages fixture models (plain, SISA, certified), SIGKILLed at random during intake and
 * at every job probe (inside the planning transaction, mid-job, after training, after
 * verification, after the rename into place, inside publication), restarted each time. Prints
 * the counts (lost, planned twice, completed twice, published twice, half-published), the kills
 * per point, and the checks (certificates, log).
 *
 * Every probe point is also killed at the first time a job reaches it (`--every-point`, on by
 * default; `--no-every-point` leaves it to chance), so no point goes untested because the
 * requests batched into few jobs.
 *
 *   npm run bench:service-crash [-- --requests 100 --intake-kill 0.05 --job-kill 0.1]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCrashHarness } from '../src/service/crash.js';
import { fixtureModels } from '../src/service/testing.js';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '100' }, 'intake-kill': { type: 'string', default: '0.05' }, 'job-kill': { type: 'string', default: '0.1' }, 'every-point': { type: 'boolean', default: true }, 'no-every-point': { type: 'boolean', default: false } } });
const n = Number(values.requests);
const load0 = loadavg();
const m = await fixtureModels();
const dataRoot = mkdtempSync(join(tmpdir(), 'unlearn-crash-bench-'));
try {
  const r = await runCrashHarness({
    dataRoot,
    models: { plain: m.plain, sisa: m.sisa, certified: m.certified },
    subjects: Array.from({ length: n }, (_, i) => `cps/${i}`),
    intakeKillP: Number(values['intake-kill']),
    jobKillP: Number(values['job-kill']),
    killEveryPointOnce: values['every-point'] && !values['no-every-point'],
    concurrency: 4,
    timeoutMs: 3_600_000,
    log: (l) => console.error(l),
  });
  console.log(JSON.stringify(r, null, 1));
  const kills = r.kills.intake + Object.values(r.kills.job).reduce((a, b) => a + b, 0);
  console.log(`requests ${r.requests}, acknowledged ${r.acknowledged}, SIGKILLs ${kills} (intake ${r.kills.intake}, ${Object.entries(r.kills.job).map(([k, v]) => `${k} ${v}`).join(', ')}), restarts ${r.restarts}; points never killed at: ${r.pointsNotKilled.length ? r.pointsNotKilled.join(', ') : 'none'}`);
  console.log(`lost ${r.lost}, planned twice ${r.plannedTwice}, completed twice ${r.completedTwice}, published twice ${r.publishedTwice}, half-published ${r.halfPublished}; final ${JSON.stringify(r.final)}; certificates ${r.certificates.checked - r.certificates.failed}/${r.certificates.checked} verify; log ${r.log.ok ? 'verifies' : 'FAILS'} (${r.log.size} entries); ${r.seconds.toFixed(0)} s; load average ${load0.map((x) => x.toFixed(1)).join(' ')} → ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
} finally {
  rmSync(dataRoot, { recursive: true, force: true });
}
