/** `unlearn worker`: parsing and printing only; the worker is src/service/worker.ts. */
import type { Command } from 'commander';
import { int } from './args.js';
import { startQueueWorker } from '../service/worker.js';

/** Add `unlearn worker` to `program`. */
export function addWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run queued jobs (farm trainings, SISA shards, unlearning, the service jobs) from Redis on this machine')
    .requiredOption('--queue <url>', 'Redis of the queue, redis://HOST:PORT')
    .requiredOption('--store <dir>', 'the shared model store (the service data root, the same path on every machine)')
    .option('--database <url>', "the service's postgres://… (also run its plan and unlearn jobs)")
    .option('--prefix <name>', 'BullMQ key prefix (one per deployment)', 'unlearn')
    .option('--policy <file>', 'deletion policy, the same file as the service')
    .option('--concurrency <n>', 'jobs at once (default: the number of cores)', int)
    .option('--stall-ms <n>', 'stalled-job check interval and lock duration, ms', int, 30_000)
    .action(async (o: { queue: string; store: string; database?: string; prefix: string; policy?: string; concurrency?: number; stallMs: number }) => {
      const g = program.opts<{ quiet?: boolean; backend: 'auto' }>();
      const log = (l: string) => (g.quiet ? undefined : process.stderr.write(l + '\n'));
      const w = await startQueueWorker({ url: o.queue, prefix: o.prefix, store: o.store, database: o.database, policyPath: o.policy, concurrency: o.concurrency, backend: g.backend, lockMs: o.stallMs, stallMs: o.stallMs, log });
      const stop = async () => {
        log(`unlearn worker ${w.id}: stopping (published ${w.published} task results)`);
        await w.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await new Promise(() => undefined);
    });
}
