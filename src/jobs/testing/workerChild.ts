/** A worker process for the fault tests: argv[2] is JSON {url, prefix, store, stallMs, postgres?, schema?, runs?}. */
import { Store } from '../../store/store.js';
import { startWorker } from '../bull.js';
import { SqlJobQueue } from '../queue.js';
import { JobRunner } from '../runner.js';
import { touchHandler } from './tasks.js';

const o = JSON.parse(process.argv[2]!) as { url: string; prefix: string; store: string; stallMs: number; postgres?: string; schema?: string; runs?: string; leaseMs?: number };
const store = o.postgres ? await Store.open({ url: o.postgres, schema: o.schema }) : undefined;
const runner = store ? new JobRunner(new SqlJobQueue(store), { touch: touchHandler(store, o.runs!) }, { leaseMs: o.leaseMs ?? 1500 }) : undefined;
const w = await startWorker({ url: o.url, prefix: o.prefix, store: o.store, concurrency: 2, lockMs: o.stallMs, stallMs: o.stallMs, serviceRunner: runner });
process.stdout.write(`ready ${w.id}\n`);
process.on('SIGTERM', async () => {
  await w.close();
  await store?.close();
  process.exit(0);
});
