/**
 * The crash harness at size (src/service/crash.ts): ≥ 100 deletion requests against the service
 * on the plain CPS-wages model, SIGKILLed at random during intake and inside jobs,
 * restarted each time. Prints the counts (lost, run twice, half-published) and the checks.
 *
 *   npm run bench:service-crash [-- --requests 100 --intake-kill 0.05 --job-kill 0.1]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCrashHarness } from '../src/service/crash.js';
import { fixtureModels } from '../src/service/testing.js';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '100' }, 'intake-kill': { type: 'string', default: '0.05' }, 'job-kill': { type: 'string', default: '0.1' } } });
const n = Number(values.requests);
const m = await fixtureModels();
const dataRoot = mkdtempSync(join(tmpdir(), 'unlearn-crash-bench-'));
try {
  const r = await runCrashHarness({
    dataRoot,
    models: { plain: m.plain },
    subjects: Array.from({ length: n }, (_, i) => `cps/${i}`),
    intakeKillP: Number(values['intake-kill']),
    jobKillP: Number(values['job-kill']),
    concurrency: 4,
    timeoutMs: 3_600_000,
    log: (l) => console.error(l),
  });
  console.log(JSON.stringify(r, null, 1));
  const kills = r.kills.intake + Object.values(r.kills.job).reduce((a, b) => a + b, 0);
  console.log(`requests ${r.requests}, acknowledged ${r.acknowledged}, SIGKILLs ${kills} (intake ${r.kills.intake}, jobs ${JSON.stringify(r.kills.job)}), restarts ${r.restarts}`);
  console.log(`lost ${r.lost}, completed twice ${r.completedTwice}, published twice ${r.publishedTwice}, half-published ${r.halfPublished}; final ${JSON.stringify(r.final)}; certificates ${r.certificates.checked - r.certificates.failed}/${r.certificates.checked} verify; log ${r.log.ok ? 'verifies' : 'FAILS'} (${r.log.size} entries); ${r.seconds.toFixed(0)} s`);
} finally {
  rmSync(dataRoot, { recursive: true, force: true });
}
