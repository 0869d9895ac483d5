/**
 * The server side of the intake benchmark (bench/serviceIntake.ts), as its own process, as
 * `unlearn serve` runs in production: the load generator must not share the server's event
 * loop. Started with `fork`; argv: dataRoot [database schema]. Sends `{ url, token }` when it
 * listens; answers `'stats'` with the group commit's counters and its own CPU time
 * (process.cpuUsage, µs), and `'close'` by closing the service and exiting.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createToken } from '../src/service/auth.js';
import { subjectPseudonym } from '../src/service/context.js';
import { intakeQueue } from '../src/service/requests.js';
import { startService } from '../src/service/server.js';
import { FAST_POLICY } from '../src/service/testing.js';

const [dataRoot, database, schema] = process.argv.slice(2);
const policyPath = join(dataRoot!, 'policy.yaml');
writeFileSync(policyPath, FAST_POLICY);
const svc = await startService({ dataRoot: dataRoot!, database: database || undefined, schema: schema || undefined, policyPath, port: 0, noJobs: true, rate: { perSecond: 1e9, burst: 1e9 }, log: () => undefined });
const token = (await createToken(svc.ctx.store, { role: 'requester', subjects: [subjectPseudonym(svc.ctx, 'cps/1')] })).secret;
const stats = intakeQueue(svc.ctx).stats;
process.on('message', async (m) => {
  if (m === 'stats') process.send!({ ...stats, cpu: process.cpuUsage() });
  if (m === 'close') {
    await svc.close();
    process.exit(0);
  }
});
process.send!({ url: svc.url, token });
