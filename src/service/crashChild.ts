/**
 * The service process of the crash harness (crash.ts): `unlearn serve` on a given data root and
 * policy, whose job probes SIGKILL the process with probability UNLEARN_CRASH_P at each named
 * point (inside the planning transaction, mid-job, after training, after verification, after the
 * rename into place, mid-publication). With UNLEARN_CRASH_EACH=FILE it also kills itself the
 * first time it reaches each point not yet listed in FILE (and lists it there first), so that
 * every point is hit at least once whatever the dice say. Prints its URL as one JSON line on
 * stdout, and `{"killedAt": point}` before each kill.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { startService } from './server.js';

const p = Number(process.env.UNLEARN_CRASH_P ?? 0);
const each = process.env.UNLEARN_CRASH_EACH;
const firstVisit = (point: string): boolean => {
  if (each === undefined || (existsSync(each) && readFileSync(each, 'utf8').split('\n').includes(point))) return false;
  appendFileSync(each, point + '\n');
  return true;
};
const svc = await startService({
  dataRoot: process.env.UNLEARN_CRASH_ROOT!,
  policyPath: process.env.UNLEARN_CRASH_POLICY,
  port: 0,
  tickMs: 50,
  leaseMs: 1500,
  inProcess: true,
  rate: { perSecond: 10_000, burst: 10_000 },
  log: () => undefined,
  probe: (point) => {
    if (firstVisit(point) || Math.random() < p) {
      process.stdout.write(JSON.stringify({ killedAt: point }) + '\n');
      process.kill(process.pid, 'SIGKILL');
    }
  },
});
process.stdout.write(JSON.stringify({ url: svc.url }) + '\n');
