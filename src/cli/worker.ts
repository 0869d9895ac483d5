/** `unlearn worker`: parsing and printing only; the worker is src/service/worker.ts. */
import type { Command } from 'commander';
import { int } from './args.js';
import { resolve } from 'node:path';
import { UnlearnError } from '../errors.js';
import { RemotePool } from '../jobs/bull.js';
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

/** Add `--queue`, `--store` and `--queue-prefix` to a command whose tasks may run on queue workers. */
export const addQueueOptions = (c: Command) =>
  c
    .option('--queue <url>', 'run the tasks on `unlearn worker`s through Redis, redis://HOST:PORT')
    .option('--store <dir>', 'with --queue: the store the workers share (their --store)')
    .option('--queue-prefix <name>', 'with --queue: BullMQ key prefix (the workers\' --prefix)', 'unlearn');

/** The queue client of `--queue`, or undefined. @throws UnlearnError INVALID_ARGS when --store is missing. */
export function remotePoolOf(o: { queue?: string; store?: string; queuePrefix?: string }): RemotePool | undefined {
  if (!o.queue) return undefined;
  if (!o.store) throw new UnlearnError('INVALID_ARGS', '--queue needs --store', 'give the directory the workers were started with as --store');
  return new RemotePool({ url: o.queue, prefix: o.queuePrefix, store: resolve(o.store) });
}
