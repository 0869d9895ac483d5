import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

/**
 * A small on-disk cache of derived data (e.g. parsed emails). Entries are gzipped JSON files.
 * The cache is an optimisation only: a missing, unreadable or corrupt entry is treated as a miss,
 * so the directory may be deleted at any time. Writes are atomic (temp file in the same
 * directory, then rename), so a crash or a concurrent writer never leaves a half entry.
 *
 * Location: env `UNLEARN_CACHE_DIR` if set, else `<node_modules>/.cache/unlearn/` of the
 * nearest directory above this source file, else `<os tmpdir>/unlearn-cache/`.
 */

/** The cache directory (see module doc). Not created until something is written. */
export function cacheDir(): string {
  const env = process.env.UNLEARN_CACHE_DIR;
  if (env) return path.resolve(env);
  // Walk up from this file to the nearest node_modules directory (the project's install).
  let d = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const nm = path.join(d, 'node_modules');
    if (existsSync(nm)) return path.join(nm, '.cache', 'unlearn');
    const up = path.dirname(d);
    if (up === d) break;
    d = up;
  }
  return path.join(tmpdir(), 'unlearn-cache');
}

/** Read a cache entry; undefined on any miss (absent, unreadable, not gzip, not JSON). */
export async function readCache<T>(name: string): Promise<T | undefined> {
  try {
    const buf = await readFile(path.join(cacheDir(), name));
    return JSON.parse(gunzipSync(buf).toString('utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * Write a cache entry atomically. Failures (read-only disk...) are swallowed and reported as
 * `false`: the cache is never a reason to fail a load.
 */
export async function writeCache(name: string, value: unknown): Promise<boolean> {
  const dir = cacheDir();
  const final = path.join(dir, name);
  const tmp = `${final}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(tmp, gzipSync(Buffer.from(JSON.stringify(value), 'utf8'), { level: 6 }));
    await rename(tmp, final);
    return true;
  } catch {
    await unlink(tmp).catch(() => undefined);
    return false;
  }
}
