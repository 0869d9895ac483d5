import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactVerify, createLocalJWKSet } from 'jose';
import { certificateBodySha256, certificateFromLog, issueCertificate, signCertificate, verifyCertificate, type CertificateBody } from './certificate.js';
import { KeyRing } from './keys.js';
import { TransparencyLog, verifyLog } from './log.js';
import { MemoryLogStorage } from './memoryStorage.js';
import { describeGuarantee } from './policy.js';
import { isUnlearnError } from '../../errors.js';

const sha = (c: string) => c.repeat(64);
const body: CertificateBody = {
  version: 1,
  requestId: 'dr-0001',
  subject: 's-0123456789',
  purpose: 'privacy',
  policySha256: sha('a'),
  outcome: 'unlearned',
  models: [
    {
      modelId: 'spam-certified',
      inputHash: sha('b'),
      outputHash: sha('c'),
      method: 'newton',
      guarantee: { kind: 'certified', epsilon: 1, delta: 1e-5 },
      statement: describeGuarantee({ kind: 'certified', epsilon: 1, delta: 1e-5 }),
      figures: { epsilon: 1, delta: 1e-5, bound: 0.0123, budget: 0.05, removed: 3 },
    },
    {
      modelId: 'spam-sisa',
      inputHash: sha('d'),
      outputHash: sha('e'),
      method: 'sisa',
      guarantee: { kind: 'exact' },
      statement: describeGuarantee({ kind: 'exact' }),
      figures: { shardsRetrained: 1, slicesRetrained: 2, shards: [3] },
    },
  ],
  receivedAt: '2026-01-01T10:00:00.000Z',
  completedAt: '2026-01-02T10:00:00.000Z',
  deadline: '2026-01-31T10:00:00.000Z',
  deadlineMet: true,
};

async function setup() {
  const root = await mkdtemp(join(tmpdir(), 'unlearn-cert-'));
  const keys = await KeyRing.open(root);
  const storage = new MemoryLogStorage();
  const log = new TransparencyLog(storage, keys);
  for (let i = 0; i < 5; i++) await log.append({ type: 'request.received', requestId: `dr-000${i}` });
  const { jws, claims } = await issueCertificate(body, log, keys);
  for (let i = 0; i < 3; i++) await log.append({ type: 'request.received', requestId: `dr-100${i}` });
  return { root, keys, storage, log, jws, claims, done: () => rm(root, { recursive: true, force: true }) };
}

test('round trip: an issued certificate verifies offline and carries the body, the log record and its proof', async () => {
  const s = await setup();
  try {
    const r = await verifyCertificate(s.jws, s.keys.jwks());
    assert.deepEqual(r.problems, []);
    assert.ok(r.ok);
    assert.equal(r.kid, s.keys.current().kid);
    assert.deepEqual(r.claims, s.claims);
    assert.equal(r.claims!.logEntry.index, 5);
    assert.equal(JSON.parse(r.claims!.logEntry.record).data.certificateSha256, certificateBodySha256(body));
    // The log itself still verifies, and the certificate's tree head is one of its heads.
    assert.ok((await verifyLog(await s.storage.entries(0, 9), [s.claims.treeHead, await s.log.treeHead()], s.keys.jwks())).ok);
    // Still verifies after a key rotation (old public keys are kept).
    await s.keys.rotate();
    assert.ok((await verifyCertificate(s.jws, s.keys.jwks())).ok);
  } finally {
    await s.done();
  }
});

test('a plain jose call verifies the signature', async () => {
  const s = await setup();
  try {
    const { payload, protectedHeader } = await compactVerify(s.jws, createLocalJWKSet(s.keys.jwks()));
    assert.deepEqual(protectedHeader, { alg: 'EdDSA', kid: s.keys.current().kid, typ: 'unlearn-certificate' });
    assert.equal(JSON.parse(new TextDecoder().decode(payload)).requestId, 'dr-0001');
  } finally {
    await s.done();
  }
});

test('one byte changed anywhere makes the certificate invalid', async () => {
  const s = await setup();
  try {
    const jwks = s.keys.jwks();
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    let accepted = 0;
    for (let i = 0; i < s.jws.length; i++) {
      const c = s.jws[i]!;
      // Another base64url character (the hardest case), and the character with its low bit flipped.
      const other = alphabet[(alphabet.indexOf(c) + 1) % alphabet.length] ?? 'A';
      for (const d of [other, String.fromCharCode(c.charCodeAt(0) ^ 1)]) {
        if ((await verifyCertificate(s.jws.slice(0, i) + d + s.jws.slice(i + 1), jwks)).ok) accepted++;
      }
    }
    assert.equal(accepted, 0);
  } finally {
    await s.done();
  }
});

test('a wrong key, an unknown kid or garbage is invalid with a one-line reason', async () => {
  const s = await setup();
  const other = await mkdtemp(join(tmpdir(), 'unlearn-cert-other-'));
  try {
    const stranger = (await KeyRing.open(other)).jwks();
    const r = await verifyCertificate(s.jws, stranger);
    assert.equal(r.ok, false);
    assert.match(r.problems[0]!, /no key with kid/);
    // The stranger's key under our kid: the signature fails.
    const impostor = { keys: [{ ...stranger.keys[0]!, kid: s.keys.current().kid }] };
    assert.match((await verifyCertificate(s.jws, impostor)).problems[0]!, /signature does not verify/);
    for (const bad of ['', 'a.b', 'not a jws', '....']) assert.equal((await verifyCertificate(bad, s.keys.jwks())).ok, false);
  } finally {
    await s.done();
    await rm(other, { recursive: true, force: true });
  }
});

test('validly signed claims whose proof, tree head or log record do not match are invalid', async () => {
  const s = await setup();
  try {
    const jwks = s.keys.jwks();
    const resign = async (change: (c: typeof s.claims) => void) => {
      const c = structuredClone(s.claims);
      change(c);
      return verifyCertificate(await signCertificate(c, s.keys), jwks);
    };
    const swapped = [...s.claims.inclusion.proof].reverse();
    let r = await resign((c) => (c.inclusion.proof = swapped));
    assert.match(r.problems.join('\n'), /not included in the tree of 6 entries/);
    r = await resign((c) => (c.logEntry.index = 4));
    assert.match(r.problems.join('\n'), /not included/);
    r = await resign((c) => (c.inclusion.treeSize = 7));
    assert.match(r.problems.join('\n'), /not the signed tree head's 6/);
    r = await resign((c) => (c.treeHead.rootHash = c.inclusion.proof[0]!));
    assert.match(r.problems.join('\n'), /tree head of size 6: its fields differ from the signed ones/);
    // The body changed after logging (another subject): the log record commits to the original.
    r = await resign((c) => (c.subject = 's-9999999999'));
    assert.deepEqual(r.problems.length, 1);
    assert.match(r.problems[0]!, /commits to another certificate body/);
    r = await resign((c) => (c.deadlineMet = false));
    assert.match(r.problems.join('\n'), /deadlineMet is false/);
    await assert.rejects(signCertificate({ ...s.claims, subject: '' }, s.keys), (e) => isUnlearnError(e, 'INVALID_PARAMS') && /subject/.test(e.message));
  } finally {
    await s.done();
  }
});

test('the service flow: a request.completed record carrying certificateSha256, certified against a later tree; subject null for a request by ids', async () => {
  const s = await setup();
  try {
    const byIds: CertificateBody = { ...body, requestId: 'dr-0002', subject: null, examplesRequested: 3, evidence: { note: 'by example ids' } };
    const { index } = await s.log.append({ type: 'request.completed', requestId: 'dr-0002', data: { from: 'verifying', to: 'completed', certificateSha256: certificateBodySha256(byIds) } });
    await s.log.append({ type: 'request.received', requestId: 'dr-0003' });
    const { jws, claims } = await certificateFromLog(byIds, s.log, index, s.keys);
    assert.equal(claims.treeHead.treeSize, index + 2);
    const r = await verifyCertificate(jws, s.keys.jwks());
    assert.deepEqual(r.problems, []);
    assert.equal(r.claims!.subject, null);
    // A record of the request that does not commit to this body is refused before signing.
    await assert.rejects(certificateFromLog({ ...byIds, purpose: 'bias' }, s.log, index, s.keys), (e) => isUnlearnError(e, 'INVALID_PARAMS') && /does not commit/.test(e.message));
    await assert.rejects(certificateFromLog(byIds, s.log, 0, s.keys), (e) => isUnlearnError(e, 'INVALID_PARAMS'));
  } finally {
    await s.done();
  }
});
