/**
 * How every command writes its output directory (`--out`): one mechanism, three guarantees.
 *
 * 1. **Nothing of the input is destroyed.** {@link claimOutDir} compares real paths (symlinks and `..`
 *    resolved) and refuses an `--out` that equals, contains or lies inside an input; `--force` may
 *    replace only an empty directory or an output directory of this project (a model directory whose
 *    `manifest.json` has an `unlearn-…` format, or a report directory), never other content.
 * 2. **Nothing is half-written.** Outputs are filled in a staging directory beside the target (same
 *    file system), fsynced, and moved into place by one rename ({@link commitStaging}). Staging
 *    directories are tracked so that Ctrl-C / SIGTERM remove them, and the hidden
 *    `.<name>.tmp-<pid>-…` directories a killed run (SIGKILL) left for the same `--out` are removed by
 *    the next run that claims it (their pid is no longer alive).
 * 3. **Concurrent writers never replace each other.** A claim takes a lock file
 *    `.<name>.lock` beside the target, created with O_EXCL and holding the owner's pid, so a second
 *    run on the same `--out` fails at once (a lock whose pid is dead is stale and taken over). The
 *    final move is also no-replace on its own: without `--force` it first creates the target with
 *    `mkdir` (which fails if anything appeared meanwhile) and then renames the staging directory over
 *    that empty placeholder (rename refuses a non-empty target). Node has no `renameat2(…,
 *    RENAME_NOREPLACE)` and directories cannot be hard-linked, so this mkdir + rename pair is the
 *    portable no-replace move; the lock covers writers of this project, mkdir + rename everyone else.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { UnlearnError } from '../errors.js';

const live = new Set<string>();
const locks = new Set<string>();
/** Real path of a claimed output → whether the claim allows replacing an existing directory. */
const claims = new Map<string, { force: boolean; inputs: string[] }>();
let installed = false;

/** Remove every tracked staging directory and lock (synchronous: safe in signal and exit handlers). */
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
  for (const l of locks) {
    try {
      unlinkSync(l);
    } catch {
      /* already gone */
    }
  }
  locks.clear();
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

/** The longest file name most file systems allow (bytes). */
const NAME_MAX = 255;

/** A short, file-name-safe stem for the hidden siblings of `out` (staging dirs, lock): bounded length. */
function stem(out: string): string {
  const name = basename(out);
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, 80)}.${hash}`;
}

const exists = (p: string) => {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
};

/**
 * The real path `p` names: symlinks and `..` resolved in the part that exists, the missing rest
 * appended. Two paths naming the same directory give the same string.
 */
export function realTarget(p: string): string {
  let head = resolve(p);
  const rest: string[] = [];
  while (!exists(head)) {
    const up = dirname(head);
    if (up === head) break;
    rest.unshift(basename(head));
    head = up;
  }
  let real = head;
  try {
    real = realpathSync(head);
  } catch {
    /* a dangling symlink: compare it as written */
  }
  return rest.length ? join(real, ...rest) : real;
}

/** True when `a` is `b` or lies inside it (both real paths). */
const within = (a: string, b: string) => a === b || a.startsWith(b.endsWith(sep) ? b : b + sep);

/** Report files of this project's commands (demo, bench, lm audit): a directory of only these may be replaced. */
const REPORT_ENTRIES = new Set(['report.json', 'report.md', 'report.html', 'models', 'leaderboard.json', 'leaderboard.md', 'tune.json', 'tune.md', 'cache']);

/**
 * Whether `dir` (an existing directory) may be replaced by `--force`: empty, a model directory of
 * this project (`manifest.json` with an `unlearn-…/N` format), a training checkpoint
 * (`checkpoint.json`), or a report directory of this project (only report files and a model-farm
 * `cache/`, with at least one `report.json`, `leaderboard.json`, `tune.json` or `cache/`).
 */
export function isReplaceable(dir: string): boolean {
  const entries = readdirSync(dir);
  if (entries.length === 0) return true;
  if (entries.includes('checkpoint.json')) return true;
  if (entries.includes('manifest.json')) {
    try {
      const f = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'))?.format;
      if (typeof f === 'string' && /^unlearn-[a-z]+\/\d+$/.test(f)) return true;
    } catch {
      /* not a manifest of ours */
    }
  }
  // A bench/tune run that failed after filling its cache leaves only `cache/`: rerunning it with --force must work.
  return entries.every((e) => REPORT_ENTRIES.has(e)) && ['report.json', 'leaderboard.json', 'tune.json', 'cache'].some((e) => entries.includes(e));
}

/**
 * Create `dir` and its missing parents one by one, like `mkdir -p` (Node's recursive mkdir never
 * returns for some paths, e.g. under /proc).
 * @throws UnlearnError IO_ERROR naming the path when a component cannot be created or is a file.
 */
export function ensureDirSync(dir: string, fix = 'choose an --out inside a directory'): void {
  const missing: string[] = [];
  let p = resolve(dir);
  while (!existsSync(p)) {
    missing.unshift(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  if (!missing.length && !statSync(p).isDirectory()) throw new UnlearnError('IO_ERROR', `${dir} exists and is not a directory`, fix);
  for (const m of missing) {
    try {
      mkdirSync(m);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && statSync(m).isDirectory()) continue;
      throw new UnlearnError('IO_ERROR', `cannot create ${m}: ${(e as Error).message}`, 'check the output path and its permissions');
    }
  }
}

const alive = (pid: number) => {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Take the lock file of `real` (O_EXCL; a lock of a dead pid is stale and taken over). @throws UnlearnError IO_ERROR when another live run holds it. */
const lockPath = (real: string) => join(dirname(real), `.${stem(real)}.lock`);

function lock(real: string, shown: string): void {
  const path = lockPath(real);
  if (locks.has(path)) return;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      locks.add(path);
      install();
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new UnlearnError('IO_ERROR', `cannot write beside --out ${shown}: ${(e as Error).message}`, 'check the output path and its permissions');
      let owner = NaN;
      try {
        owner = Number(readFileSync(path, 'utf8'));
      } catch {
        /* removed meanwhile: retry */
      }
      if (alive(owner)) throw new UnlearnError('IO_ERROR', `another run (pid ${owner}) is writing --out ${shown}`, 'wait for it to finish, or choose another --out');
      try {
        unlinkSync(path);
      } catch {
        /* another run took it over first */
      }
    }
  }
  throw new UnlearnError('IO_ERROR', `cannot lock --out ${shown}: another run keeps taking it`, 'choose another --out');
}

/** Remove the staging directories a killed run (its pid no longer alive) left for `real`. */
function removeStale(real: string): void {
  const parent = dirname(real);
  const prefix = `.${stem(real)}.tmp-`;
  let entries: string[];
  try {
    entries = readdirSync(parent);
  } catch {
    return;
  }
  for (const e of entries) {
    if (!e.startsWith(prefix)) continue;
    const pid = Number(e.slice(prefix.length).split('-')[0]);
    if (!alive(pid)) rmSync(join(parent, e), { recursive: true, force: true });
  }
}

/**
 * Claim `out` as this run's output directory before any work starts. Refuses, with one line naming
 * the problem and the fix:
 * - an empty path or a file name too long for the file system (INVALID_ARGS);
 * - an `out` that equals, contains or lies inside one of `inputs`, compared as real paths (IO_ERROR);
 * - an existing `out` without `force` (INVALID_ARGS), or with `force` when it is not a directory, or
 *   a directory that is neither empty nor an output of this project (IO_ERROR);
 * - an `out` another live run of this project is writing (IO_ERROR, via the lock file).
 * Creates the missing parents of `out`, takes the lock and removes stale staging directories of `out`.
 * {@link commitStaging} later moves the result into place, replacing an existing directory only if
 * it was claimed with `force`.
 */
export function claimOutDir(out: string, opts: { force?: boolean; inputs?: string[] } = {}): void {
  if (!out || !out.trim()) throw new UnlearnError('INVALID_ARGS', '--out is empty', 'give the path of a new directory');
  if (Buffer.byteLength(basename(resolve(out))) > NAME_MAX) {
    throw new UnlearnError('INVALID_ARGS', `--out name is ${Buffer.byteLength(basename(resolve(out)))} bytes long; file systems allow at most ${NAME_MAX}`, 'choose a shorter directory name');
  }
  const real = realTarget(out);
  const inputs = (opts.inputs ?? []).filter(Boolean).map(realTarget);
  for (const input of inputs) {
    if (within(real, input)) throw new UnlearnError('IO_ERROR', `--out ${out} ${real === input ? 'is' : 'lies inside'} the input model directory`, 'write the new version to another directory');
    if (within(input, real)) throw new UnlearnError('IO_ERROR', `--out ${out} contains the input model directory`, 'write the new version to another directory');
  }
  checkReplaceable(out, real, Boolean(opts.force));
  ensureDirSync(dirname(real));
  lock(real, out);
  removeStale(real);
  claims.set(real, { force: Boolean(opts.force), inputs });
}

/** @throws UnlearnError when an existing `real` may not be replaced (see {@link claimOutDir}). */
function checkReplaceable(out: string, real: string, force: boolean): void {
  if (!exists(real)) return;
  if (!force) throw new UnlearnError('INVALID_ARGS', `--out ${out} already exists`, 'choose a new directory, or pass --force to replace it');
  let isDir = false;
  try {
    isDir = statSync(real).isDirectory();
  } catch {
    /* dangling symlink */
  }
  if (!isDir) throw new UnlearnError('IO_ERROR', `--out ${out} exists and is not a directory`, 'choose a directory path');
  if (!isReplaceable(real)) {
    throw new UnlearnError('IO_ERROR', `--out ${out} is a directory with other content (not a model or report of this project); --force replaces only those or an empty directory`, 'choose a new directory');
  }
}

/**
 * A fresh staging path beside `out` (same file system, so the final rename is atomic), tracked
 * for removal on interruption. The caller creates the directory. Its name stays within the file
 * system's limit whatever the length of `out`'s name.
 */
export function stagingPath(out: string): string {
  const real = realTarget(out);
  const p = join(dirname(real), `.${stem(real)}.tmp-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`);
  live.add(p);
  install();
  return p;
}

/** Stop tracking a staging path (it was renamed into place or removed). */
export function releaseStaging(p: string): void {
  live.delete(p);
}

/**
 * Move a fully written staging directory to `dir`. Without a `force` claim on `dir` the move is
 * no-replace: if `dir` appeared meanwhile (another run, another program) nothing is replaced, the
 * staging directory is removed and IO_ERROR says so. With a `force` claim an existing `dir` (checked
 * again: empty or an output of this project, not an input) is renamed aside, the staging directory
 * renamed in, and the old one removed, so a reader sees the old directory or the new one.
 * `replace` gives an unclaimed `dir` the same treatment (training checkpoints rewritten by a rerun).
 * @throws UnlearnError IO_ERROR.
 */
export async function commitStaging(staging: string, dir: string, opts: { replace?: boolean } = {}): Promise<void> {
  const real = realTarget(dir);
  const claim = claims.get(real) ?? (opts.replace ? { force: true, inputs: [] } : undefined);
  try {
    if (claim?.force && exists(real)) {
      checkReplaceable(dir, real, true);
      for (const input of claim.inputs) if (within(input, real)) throw new UnlearnError('IO_ERROR', `--out ${dir} contains the input model directory`, 'write the new version to another directory');
      const old = `${staging}-old`;
      live.add(old);
      await rename(real, old);
      await rename(staging, real);
      await rm(old, { recursive: true, force: true });
      live.delete(old);
    } else {
      try {
        await mkdir(real);
        await rename(staging, real);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST' || code === 'ENOTEMPTY' || code === 'ENOTDIR' || code === 'EISDIR') {
          throw new UnlearnError('IO_ERROR', `${dir} appeared while this run was writing it (another run?); nothing was replaced and this run's result is discarded`, 'run again with a new --out');
        }
        throw e;
      }
    }
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    live.delete(staging);
    if (e instanceof UnlearnError) throw e;
    throw new UnlearnError('IO_ERROR', `cannot write ${dir}: ${(e as Error).message}`, 'check the output path and free disk space');
  }
  live.delete(staging);
  if (claims.delete(real)) unlock(real);
}

/** Release the lock file of a committed output (the run is done with it). */
function unlock(real: string): void {
  const path = lockPath(real);
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
  locks.delete(path);
}
