/** Run the `unlearn` CLI in a child process for tests (wasm backend, --quiet). */
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/unlearn.js');

/** Exit code, stdout and stderr of `unlearn --quiet ...args`. */
export function runCli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, '--quiet', ...args], { encoding: 'utf8', env: { ...process.env, UNLEARN_BACKEND: 'wasm' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
