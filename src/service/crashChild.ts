/**
 * The service process of the crash harness (crash.ts): `unlearn serve` on a given data root and
 * policy, whose job probes SIGKILL the process with probability UNLEARN_CRASH_P at each named
 * point (inside the planning transaction, mid-job, after training, after verification, after the
 * rename into place, mid-publication). Prints its URL as one
 * JSON line on stdout.
 */
import { startService } from './server.js';

const p = Number(process.env.UNLEARN_CRASH_P ?? 0);
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
    if (Math.random() < p) {
      process.stdout.write(JSON.stringify({ killedAt: point }) + '\n');
      process.kill(process.pid, 'SIGKILL');
    }
  },
});
process.stdout.write(JSON.stringify({ url: svc.url }) + '\n');
