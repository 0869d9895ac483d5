/**
 * Staging directories (the temp siblings that atomic writes fill before one rename) are tracked
 * so that an interrupted run (Ctrl-C, SIGTERM) removes them instead of leaving hidden
 * `.<name>.tmp-<pid>-<time>` directories beside the output. The finished output is never
 * touched: a staging directory is untracked once it has been renamed into place.
 */
import { rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const live = new Set<string>();
let installed = false;

/** Remove every tracked staging directory (synchronous: safe in signal and exit handlers). */
function cleanup(): void {
  for (const p of live) {
    // Worker threads may still be writing into it (SISA shards): retry, and never throw from here.
    try {
      rmSync(p, { recursive: true, force: true, maxRetries: 20, retryDelay: 25 });
    } catch {
      /* best effort: the process is exiting */
    }
  }
  live.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', cleanup);
  // Exit as Node would without a handler (128 + signal number), after removing the staging dirs.
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  process.once('SIGTERM', () => {
    cleanup();
    process.exit(143);
  });
}

/**
 * A fresh staging path beside `out` (same file system, so the final rename is atomic), tracked
 * for removal on interruption. The caller creates the directory.
 */
export function stagingPath(out: string): string {
  const p = join(dirname(out), `.${basename(out)}.tmp-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`);
  live.add(p);
  install();
  return p;
}

/** Stop tracking a staging path (it was renamed into place or removed). */
export function releaseStaging(p: string): void {
  live.delete(p);
}
