/**
 * Offline evidence commands: `unlearn certificate verify`, `unlearn keys rotate|list` and
 * `unlearn log verify` (parsing and printing only; the work is in src/service/evidence/).
 *
 * `log verify` reads the log from an export file (`--file`), or from the source registered with
 * {@link setLogSource} (the service's store registers one that reads its database).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { JSONWebKeySet } from 'jose';
import { UnlearnError } from '../errors.js';
import { verifyCertificate, type CertificateClaims } from '../service/evidence/certificate.js';
import { KeyRing, parsePublicJwk, readPublicKeys, resolveDataRoot } from '../service/evidence/keys.js';
import { parseLogExport, verifyLog, type LogProblem, type SignedTreeHead, type StoredLogEntry } from '../service/evidence/log.js';

/** Where `unlearn log verify` reads the log when no `--file` is given. */
export type LogSource = (o: { dataRoot: string; database?: string }) => Promise<{ entries: StoredLogEntry[]; treeHeads: SignedTreeHead[] }>;
let logSource: LogSource | undefined;

/** Register the reader of the service's log (called by the store's CLI module). */
export function setLogSource(source: LogSource): void {
  logSource = source;
}

const readText = async (path: string, what: string) => {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new UnlearnError('IO_ERROR', `cannot read ${what} ${path}: ${(e as Error).message}`, 'check the path');
  }
};
const readJsonFile = async (path: string, what: string): Promise<unknown> => {
  const text = await readText(path, what);
  try {
    return JSON.parse(text);
  } catch {
    throw new UnlearnError('INVALID_ARGS', `${path} is not JSON`, `give ${what} as a JSON file`);
  }
};

/**
 * The public keys to verify with: `--key` (one public JWK), `--jwks` (a JWK set, e.g. saved from
 * `GET /v1/keys`), else the public keys in the data root.
 * @throws UnlearnError INVALID_ARGS for both options at once or a data root without keys.
 */
export async function keysFor(o: { key?: string; jwks?: string; dataRoot?: string }): Promise<JSONWebKeySet> {
  if (o.key && o.jwks) throw new UnlearnError('INVALID_ARGS', '--key and --jwks both given', 'give one of them');
  if (o.key) {
    const jwk = parsePublicJwk(await readJsonFile(o.key, 'the public key'), o.key);
    return { keys: [jwk] };
  }
  if (o.jwks) {
    const set = await readJsonFile(o.jwks, 'the key set');
    const keys = (set as { keys?: unknown })?.keys;
    if (!Array.isArray(keys)) throw new UnlearnError('INVALID_ARGS', `${o.jwks} is not a JWK set`, 'give a JSON file {"keys": [...]} such as GET /v1/keys returns');
    return { keys: keys.map((k, i) => parsePublicJwk(k, `${o.jwks} key ${i}`)) };
  }
  return readPublicKeys(resolveDataRoot(o.dataRoot));
}

/** Lines describing a verified certificate. */
export function describeCertificate(c: CertificateClaims, kid: string): string[] {
  return [
    `request ${c.requestId}, ${c.subject ? `subject ${c.subject}` : `${c.examplesRequested ?? 'some'} example ids`}, purpose ${c.purpose}, outcome ${c.outcome}`,
    `received ${c.receivedAt}, completed ${c.completedAt}, deadline ${c.deadline} (${c.deadlineMet ? 'met' : 'MISSED'})`,
    `policy sha256 ${c.policySha256}`,
    ...c.models.map((m) => `model ${m.modelId}: ${m.inputHash.slice(0, 12)} → ${m.outputHash.slice(0, 12)} by ${m.method}; ${m.statement}`),
    `signed by key ${kid}; log entry ${c.logEntry.index} included in the signed tree head of ${c.treeHead.treeSize} entries (${c.treeHead.timestamp})`,
  ];
}

/**
 * Verify log entries (and tree heads) and render the outcome: what `unlearn log verify` prints.
 * @returns ok, the problems, and the text (one line per problem).
 */
export async function logVerifyReport(entries: StoredLogEntry[], treeHeads: SignedTreeHead[], jwks?: JSONWebKeySet): Promise<{ ok: boolean; size: number; problems: LogProblem[]; text: string }> {
  const r = await verifyLog(entries, treeHeads, jwks);
  const head = `${r.size} entries, ${treeHeads.length} signed tree head${treeHeads.length === 1 ? '' : 's'}${jwks ? '' : ' (signatures not checked: no keys)'}`;
  const text = r.ok ? `log verifies: ${head}` : [`log does NOT verify: ${head}`, ...r.problems.map((p) => `  entry ${p.index}: ${p.kind}: ${p.detail}`)].join('\n');
  return { ...r, text };
}

/** Register the evidence commands on the program. */
export function addEvidenceCommands(program: Command): void {
  const g = () => program.opts<{ json?: boolean; quiet?: boolean }>();
  const out = (value: unknown, text: string) => process.stdout.write(g().json ? JSON.stringify(value, null, 1) + '\n' : text + '\n');
  const failed = (what: string, first: string) => new UnlearnError('VERIFICATION_FAILED', `${what} does not verify: ${first}`, 'the file was altered, or signed by a key not in the set given');

  const cert = program.command('certificate').description('deletion certificates (JWS, EdDSA)');
  cert
    .command('verify <file>')
    .description("check a certificate's signature, its log inclusion proof and signed tree head, offline")
    .option('--key <jwk>', 'public key file (JWK)')
    .option('--jwks <file>', 'public key set (JSON, as GET /v1/keys returns)')
    .option('--data-root <dir>', 'data root whose public keys to use (default: UNLEARN_HOME or ~/.unlearn)')
    .action(async (file: string, o: { key?: string; jwks?: string; dataRoot?: string }) => {
      const jwks = await keysFor(o);
      const r = await verifyCertificate(await readText(file, 'the certificate'), jwks);
      if (!r.ok) {
        if (g().json) out({ ok: false, problems: r.problems }, '');
        else for (const p of r.problems.slice(1)) process.stderr.write(`  also: ${p}\n`);
        throw failed(`certificate ${file}`, r.problems[0]!);
      }
      out({ ok: true, kid: r.kid, claims: r.claims }, [`certificate valid`, ...describeCertificate(r.claims!, r.kid!).map((l) => `  ${l}`)].join('\n'));
    });

  const keys = program.command('keys').description('signing keys of the deletion-request service (<data root>/keys)');
  keys
    .command('rotate')
    .description('make a new Ed25519 key current; old public keys stay published so old certificates still verify')
    .option('--data-root <dir>', 'data root (default: UNLEARN_HOME or ~/.unlearn)')
    .action(async (o: { dataRoot?: string }) => {
      const ring = await KeyRing.open(resolveDataRoot(o.dataRoot));
      const old = ring.current().kid;
      const kid = await ring.rotate();
      out({ kid, previous: old }, `new signing key ${kid} (previous ${old} retired; its public key stays in the key set)`);
    });
  keys
    .command('list')
    .description('list the keys (current last); --json prints the public JWK set')
    .option('--data-root <dir>', 'data root (default: UNLEARN_HOME or ~/.unlearn)')
    .action(async (o: { dataRoot?: string }) => {
      const ring = await KeyRing.open(resolveDataRoot(o.dataRoot));
      const h = ring.history();
      out(ring.jwks(), h.map((k) => `${k.kid}\tcreated ${k.createdAt}${k.retiredAt ? `\tretired ${k.retiredAt}` : '\tcurrent'}`).join('\n'));
    });

  const log = program.command('log').description('the transparency log (RFC 9162 Merkle tree)');
  log
    .command('verify')
    .description('recompute the log and name any edited, deleted, reordered or inserted entry')
    .option('--file <export.json>', 'a log export {entries: [{index, json, leafHash}], treeHeads: [...]} (exportLog in src/service/evidence/log.ts)')
    .option('--database <url>', "the service's database (default: SQLite under the data root)")
    .option('--jwks <file>', 'public key set to check the tree heads with (default: the data root\'s)')
    .option('--data-root <dir>', 'data root (default: UNLEARN_HOME or ~/.unlearn)')
    .action(async (o: { file?: string; database?: string; jwks?: string; dataRoot?: string }) => {
      let entries: StoredLogEntry[];
      let treeHeads: SignedTreeHead[];
      if (o.file) {
        ({ entries, treeHeads } = parseLogExport(await readJsonFile(o.file, 'the log export'), o.file));
      } else {
        if (!logSource) throw new UnlearnError('INVALID_ARGS', 'no log to read: the service store is not available in this build', 'pass --file EXPORT.json');
        ({ entries, treeHeads } = await logSource({ dataRoot: resolveDataRoot(o.dataRoot), database: o.database }));
      }
      let jwks: JSONWebKeySet | undefined;
      try {
        jwks = await keysFor({ jwks: o.jwks, dataRoot: o.dataRoot });
      } catch (e) {
        if (o.jwks || !(e instanceof UnlearnError) || e.code !== 'INVALID_ARGS') throw e;
      }
      const r = await logVerifyReport(entries, treeHeads, jwks);
      if (!r.ok) {
        if (g().json) out({ ok: false, size: r.size, problems: r.problems }, '');
        else process.stderr.write(r.text + '\n');
        throw failed('the log', `${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}, first: entry ${r.problems[0]!.index} ${r.problems[0]!.kind}`);
      }
      out({ ok: true, size: r.size, problems: [] }, r.text);
    });
}
