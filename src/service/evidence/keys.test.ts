import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, CompactSign, compactVerify, importJWK } from 'jose';
import { KeyRing, keysDir, readPublicKeys, resolveDataRoot } from './keys.js';
import { isUnlearnError } from '../../errors.js';

const tempRoot = () => mkdtemp(join(tmpdir(), 'unlearn-keys-'));

test('first open creates one Ed25519 key: private file 0600, directory 0700, kid = RFC 7638 thumbprint', async () => {
  const root = await tempRoot();
  try {
    const ring = await KeyRing.open(root);
    const { kid } = ring.current();
    const jwks = ring.jwks();
    assert.equal(jwks.keys.length, 1);
    const pub = jwks.keys[0]!;
    assert.deepEqual([pub.kty, pub.crv, pub.alg, pub.kid, pub.d], ['OKP', 'Ed25519', 'EdDSA', kid, undefined]);
    assert.equal(await calculateJwkThumbprint(pub, 'sha256'), kid);
    assert.equal((await stat(join(keysDir(root), `${kid}.private.jwk`))).mode & 0o777, 0o600);
    assert.equal((await stat(keysDir(root))).mode & 0o777, 0o700);
    // Reopening loads the same key, it does not create another.
    const again = await KeyRing.open(root);
    assert.equal(again.current().kid, kid);
    assert.equal(again.jwks().keys.length, 1);
    // The private key signs what the public key verifies.
    const jws = await new CompactSign(new TextEncoder().encode('x')).setProtectedHeader({ alg: 'EdDSA', kid }).sign(again.current().privateKey);
    await compactVerify(jws, await importJWK(pub, 'EdDSA'));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('rotation makes a new key current, keeps every old public key, deletes the old private key', async () => {
  const root = await tempRoot();
  try {
    const ring = await KeyRing.open(root);
    const first = ring.current().kid;
    const second = await ring.rotate();
    const third = await ring.rotate();
    assert.notEqual(first, second);
    assert.equal(ring.current().kid, third);
    assert.deepEqual(ring.jwks().keys.map((k) => k.kid), [third, second, first]);
    const files = (await readdir(keysDir(root))).sort();
    assert.deepEqual(files.filter((f) => f.endsWith('.private.jwk')), [`${third}.private.jwk`]);
    assert.equal(files.filter((f) => f.endsWith('.public.jwk')).length, 3);
    assert.ok(ring.history()[0]!.retiredAt && !ring.history()[2]!.retiredAt);
    assert.deepEqual((await readPublicKeys(root)).keys.map((k) => k.kid), [third, second, first]);
    assert.equal((await KeyRing.open(root)).current().kid, third);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('two concurrent first opens agree on one key', async () => {
  const root = await tempRoot();
  try {
    const [a, b] = await Promise.all([KeyRing.open(root), KeyRing.open(root)]);
    const c = await KeyRing.open(root);
    assert.equal(c.jwks().keys.length, 1);
    assert.ok([a.current().kid, b.current().kid].includes(c.current().kid));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a damaged or swapped public key file is an IO_ERROR naming the file; no keys is INVALID_ARGS', async () => {
  const root = await tempRoot();
  try {
    await assert.rejects(readPublicKeys(root), (e) => isUnlearnError(e, 'INVALID_ARGS') && /no keys in/.test(e.message));
    const ring = await KeyRing.open(root);
    const kid = ring.current().kid;
    const other = await KeyRing.open(await tempRoot());
    await writeFile(join(keysDir(root), `${kid}.public.jwk`), JSON.stringify(other.jwks().keys[0]));
    await assert.rejects(KeyRing.open(root), (e) => isUnlearnError(e, 'IO_ERROR') && e.message.includes(`${kid}.public.jwk`));
    await writeFile(join(keysDir(root), `${kid}.public.jwk`), '{not json');
    await assert.rejects(readPublicKeys(root), (e) => isUnlearnError(e, 'IO_ERROR') && e.message.includes(`${kid}.public.jwk`));
    await rm(other.dir, { recursive: true, force: true });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('the data root defaults to UNLEARN_HOME, then ~/.unlearn', () => {
  const saved = process.env.UNLEARN_HOME;
  try {
    process.env.UNLEARN_HOME = '/tmp/u-home';
    assert.equal(resolveDataRoot(), '/tmp/u-home');
    assert.equal(resolveDataRoot('/x'), '/x');
    delete process.env.UNLEARN_HOME;
    assert.match(resolveDataRoot(), /\.unlearn$/);
  } finally {
    if (saved === undefined) delete process.env.UNLEARN_HOME;
    else process.env.UNLEARN_HOME = saved;
  }
});
