/**
 * Tasks and a job handler for the queue's fault tests: each run appends a line to a runs file
 * (so a test counts how often work started), waits, and writes its output.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDir, writeFileSynced } from '../../models/io.js';
import type { Job } from '../queue.js';
import type { JobContext } from '../runner.js';
import type { Store } from '../../store/store.js';

/** Append `runs`, sleep `ms`, write `out/value.txt` (when `out` is given); returns the tag doubled. */
export async function slowTask(a: { tag: string; ms: number; runs: string; out?: string }): Promise<{ tag: string; twice: string }> {
  appendFileSync(a.runs, `${a.tag} ${process.pid}\n`);
  await new Promise((r) => setTimeout(r, a.ms));
  if (a.out) {
    await ensureDir(a.out);
    await writeFileSynced(join(a.out, 'value.txt'), a.tag.repeat(2));
  }
  return { tag: a.tag, twice: a.tag.repeat(2) };
}

/** A service-job handler: append `runs`, sleep, then mark the job done (with the worker's pid) in one transaction. */
export function touchHandler(store: Store, runs: string) {
  return async (job: Job, jc: JobContext): Promise<void> => {
    const p = job.payload as { n: number; ms: number };
    appendFileSync(runs, `${p.n} ${process.pid}\n`);
    await new Promise((r) => setTimeout(r, p.ms));
    await store.tx((t) => jc.complete(t, { n: p.n, pid: process.pid }));
  };
}
