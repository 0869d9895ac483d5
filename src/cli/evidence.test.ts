import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { EXIT_CODES, isUnlearnError } from '../errors.js';
import { issueCertificate, verifyCertificate, type CertificateBody } from '../service/evidence/certificate.js';
import { KeyRing } from '../service/evidence/keys.js';
import { exportLog, parseLogExport, TransparencyLog } from '../service/evidence/log.js';
import { MemoryLogStorage } from '../service/evidence/memoryStorage.js';
import { toB64u } from '../service/evidence/merkle.js';
import { runCli as run } from '../testing/cli.js';
import { keysFor } from './evidence.js';

let dir: string;
let root: string;
let certFile: string;
let jws: string;
let ring: KeyRing;
let storage: MemoryLogStorage;
let log: TransparencyLog;

const body: CertificateBody = {
  version: 1,
  requestId: 'dr-cli',
  subject: 's-00aa11bb22',
  purpose: 'security',
  policySha256: 'f'.repeat(64),
  outcome: 'unlearned',
  models: [{ modelId: 'm1', inputHash: '1'.repeat(64), outputHash: '2'.repeat(64), method: 'retrain', guarantee: { kind: 'exact' }, statement: 'exact: retrained without the data', figures: { removed: 4 } }],
  receivedAt: '2026-02-01T00:00:00.000Z',
  completedAt: '2026-02-03T00:00:00.000Z',
  deadline: '2026-02-08T00:00:00.000Z',
  deadlineMet: true,
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'unlearn-evidence-cli-'));
  root = join(dir, 'home');
  ring = await KeyRing.open(root);
  storage = new MemoryLogStorage();
  log = new TransparencyLog(storage, ring);
  await log.append({ type: 'request.received', requestId: 'dr-cli' });
  ({ jws } = await issueCertificate(body, log, ring));
  certFile = join(dir, 'cert.jws');
  await writeFile(certFile, jws + '\n');
});
after(() => rm(dir, { recursive: true, force: true }));

test('certificate verify: with the data root, a JWK set or one key; a changed byte or a stranger key exit VERIFICATION_FAILED', async () => {
  const ok = run('certificate', 'verify', certFile, '--data-root', root);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /certificate valid[\s\S]*request dr-cli[\s\S]*log entry 1 included in the signed tree head of 2 entries/);
  const jwksFile = join(dir, 'jwks.json');
  await writeFile(jwksFile, JSON.stringify(ring.jwks()));
  const keyFile = join(dir, 'key.jwk');
  await writeFile(keyFile, JSON.stringify(ring.jwks().keys[0]));
  assert.deepEqual((await keysFor({ jwks: jwksFile })).keys.map((k) => k.kid), [ring.current().kid]);
  const viaEnv = run('--json', 'certificate', 'verify', certFile, '--key', keyFile);
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  assert.equal(JSON.parse(viaEnv.stdout).claims.requestId, 'dr-cli');

  const bad = join(dir, 'bad.jws');
  const i = Math.floor(jws.length / 2);
  await writeFile(bad, jws.slice(0, i) + (jws[i] === 'A' ? 'B' : 'A') + jws.slice(i + 1));
  const flipped = run('certificate', 'verify', bad, '--data-root', root);
  assert.equal(flipped.code, EXIT_CODES.VERIFICATION_FAILED);
  assert.match(flipped.stderr, /^unlearn: VERIFICATION_FAILED: certificate .* does not verify: /m);
  const other = join(dir, 'other');
  await KeyRing.open(other);
  const stranger = run('certificate', 'verify', certFile, '--data-root', other);
  assert.equal(stranger.code, EXIT_CODES.VERIFICATION_FAILED);
  assert.match(stranger.stderr, /no key with kid/);
  await assert.rejects(keysFor({ dataRoot: join(dir, 'empty') }), (e) => isUnlearnError(e, 'INVALID_ARGS'));
  await assert.rejects(keysFor({ key: keyFile, jwks: jwksFile }), (e) => isUnlearnError(e, 'INVALID_ARGS'));
  const priv = join(dir, 'priv.jwk');
  await writeFile(priv, JSON.stringify({ ...ring.jwks().keys[0], d: 'AAAA' }));
  await assert.rejects(keysFor({ key: priv }), (e) => isUnlearnError(e, 'INVALID_PARAMS') && /holds a private key/.test(e.message));
});

test('keys rotate keeps old certificates verifiable; keys list shows the history', async () => {
  const r = run('--json', 'keys', 'rotate', '--data-root', root);
  assert.equal(r.code, 0, r.stderr);
  const { kid, previous } = JSON.parse(r.stdout);
  assert.notEqual(kid, previous);
  assert.ok((await verifyCertificate(jws, await keysFor({ dataRoot: root }))).ok);
  const list = run('keys', 'list', '--data-root', root);
  assert.match(list.stdout, new RegExp(`${previous}\\tcreated .*\\tretired .*\\n${kid}\\tcreated .*\\tcurrent`));
});

test('log verify --file: an intact export verifies; an edited entry exits VERIFICATION_FAILED naming it', async () => {
  for (let k = 0; k < 4; k++) await log.append({ type: 'request.planned', requestId: `r${k}` });
  const rows = await storage.entries(0, await storage.size());
  const exp = (entries: typeof rows) => JSON.stringify({ entries: entries.map((e) => ({ ...e, leafHash: toB64u(e.leafHash) })), treeHeads: [] });
  const file = join(dir, 'log.json');
  await writeFile(file, JSON.stringify(await exportLog(storage, [await log.treeHead()])));
  const ok = run('log', 'verify', '--file', file, '--data-root', root);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^log verifies: 6 entries, 1 signed tree head$/m);
  const edited = rows.map((e) => ({ ...e }));
  edited[3]!.json = edited[3]!.json.replace('request.planned', 'request.accepted');
  await writeFile(file, JSON.stringify({ ...JSON.parse(exp(edited)), treeHeads: [await log.treeHead()] }));
  const bad = run('log', 'verify', '--file', file, '--data-root', root);
  assert.equal(bad.code, EXIT_CODES.VERIFICATION_FAILED);
  assert.match(bad.stderr, /entry 3: edited: entry 3 does not hash to its stored leaf hash/);
  assert.throws(() => parseLogExport({ entries: [{ index: 0, json: '{}', leafHash: 'xx' }] }, 'e.json'), (e) => isUnlearnError(e, 'INVALID_PARAMS') && /^e\.json: entries\.0\.leafHash: /.test(e.message));
});

test('certified plan prints a table and the chosen λ and σ', () => {
  const r = run('--json', 'certified', 'plan', '--removals', '5', '--dataset', 'cps-wages', '--lambdas', '0.1,1', '--probes', '2');
  assert.equal(r.code, 0, r.stderr);
  const p = JSON.parse(r.stdout);
  assert.equal(p.candidates.length, 2);
  assert.ok([0.1, 1].includes(p.chosen.lambda) && p.chosen.sigma > 0);
  assert.equal(p.check.retrains, 0);
});
