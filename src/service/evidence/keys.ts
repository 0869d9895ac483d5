/**
 * The service's signing keys: Ed25519 (RFC 8037, JWS alg "EdDSA") in `<dataRoot>/keys`.
 *
 * Layout (every write: temp file + fsync + rename, so a crash leaves the old state or the new):
 * - `<kid>.private.jwk`  the private JWK of the current key, mode 0600 (directory mode 0700);
 * - `<kid>.public.jwk`   the public JWK of every key ever used, kept after rotation so that old
 *                        certificates and tree heads still verify;
 * - `index.json`         `{ keys: [{ kid, createdAt, retiredAt? }] }`, the last entry is current.
 * The key id `kid` is the RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key.
 * A rotated-out key's private file is deleted: only the current key can sign.
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JSONWebKeySet, type JWK } from 'jose';
import { z } from 'zod';
import { UnlearnError } from '../../errors.js';

/** The JWS algorithm of every signature the service makes (RFC 8037 §3.1). */
export const SIGNING_ALG = 'EdDSA';

/** Environment variable naming the data root. */
export const DATA_ROOT_ENV = 'UNLEARN_HOME';

/** The data root: `explicit` if given, else env `UNLEARN_HOME`, else `~/.unlearn`. Absolute path. */
export function resolveDataRoot(explicit?: string): string {
  return resolve(explicit || process.env[DATA_ROOT_ENV] || join(homedir(), '.unlearn'));
}

/** Directory holding the keys under a data root. */
export const keysDir = (dataRoot: string) => join(dataRoot, 'keys');

const IndexSchema = z.object({
  keys: z.array(z.object({ kid: z.string().min(1), createdAt: z.string(), retiredAt: z.string().optional() })).min(1),
});
type KeyIndex = z.infer<typeof IndexSchema>;

/** A public Ed25519 JWK as published in the key set. */
export interface PublicJwk extends JWK {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

/** Write `data` to `path` atomically (temp file in the same directory, fsync, rename) with `mode`. */
async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(tmp, mode); // open()'s mode passes through the umask: set it exactly
  await rename(tmp, path);
  await syncDir(dirname(path));
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

const ioError = (what: string, e: unknown) =>
  new UnlearnError('IO_ERROR', `${what}: ${(e as Error).message}`, 'check the data root (--data-root or UNLEARN_HOME) and its permissions');

async function newKey(dir: string): Promise<{ kid: string; privateJwk: JWK; publicJwk: PublicJwk }> {
  const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALG, { crv: 'Ed25519', extractable: true });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub, 'sha256');
  const publicJwk: PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: pub.x!, kid, alg: SIGNING_ALG, use: 'sig' };
  const privateJwk = { ...publicJwk, d: (await exportJWK(privateKey)).d! };
  await writeAtomic(join(dir, `${kid}.private.jwk`), JSON.stringify(privateJwk) + '\n', 0o600);
  await writeAtomic(join(dir, `${kid}.public.jwk`), JSON.stringify(publicJwk) + '\n', 0o644);
  return { kid, privateJwk, publicJwk };
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new UnlearnError('IO_ERROR', `cannot read ${path}: ${(e as Error).message}`, 'restore the key directory from a backup, or move it aside to start a new key ring');
  }
}

/** Parse and check a public Ed25519 JWK (RFC 8037 §2). @throws UnlearnError INVALID_PARAMS naming the problem. */
export function parsePublicJwk(value: unknown, where: string): PublicJwk {
  const r = z
    .object({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string().regex(/^[A-Za-z0-9_-]{43}$/), kid: z.string().min(1).optional(), alg: z.string().optional() })
    .safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new UnlearnError('INVALID_PARAMS', `${where}: not an Ed25519 public JWK (${issue.path.join('.') || 'key'}: ${issue.message})`, 'give a JWK with kty "OKP", crv "Ed25519" and x');
  }
  if ((value as { d?: unknown }).d !== undefined) {
    throw new UnlearnError('INVALID_PARAMS', `${where} holds a private key`, 'give the public JWK (without "d"); never pass private keys around');
  }
  return { ...(r.data as PublicJwk), alg: SIGNING_ALG, use: 'sig' };
}

/** Read the index and every public key, checking that each file holds the key its kid names. */
async function loadPublic(dir: string): Promise<{ index: KeyIndex; publicKeys: PublicJwk[] }> {
  const indexPath = join(dir, 'index.json');
  const parsed = IndexSchema.safeParse(await readJson(indexPath));
  if (!parsed.success) throw new UnlearnError('IO_ERROR', `${indexPath} is not a key index`, 'restore the key directory from a backup');
  const publicKeys: PublicJwk[] = [];
  for (const { kid } of parsed.data.keys) {
    const path = join(dir, `${kid}.public.jwk`);
    const jwk = parsePublicJwk(await readJson(path), path);
    if ((await calculateJwkThumbprint(jwk, 'sha256')) !== kid) {
      throw new UnlearnError('IO_ERROR', `${path} does not hold key ${kid} (thumbprint differs)`, 'restore the key directory from a backup');
    }
    publicKeys.push({ ...jwk, kid });
  }
  return { index: parsed.data, publicKeys };
}

/**
 * The key ring in `<dataRoot>/keys`. Open it with {@link KeyRing.open}; sign with
 * {@link KeyRing.current}; publish {@link KeyRing.jwks} (e.g. at `GET /v1/keys`).
 * One process should rotate at a time; concurrent first opens are safe (one key wins).
 */
export class KeyRing {
  private constructor(
    readonly dir: string,
    private index: KeyIndex,
    private currentKey: { kid: string; privateKey: CryptoKey },
    private publicKeys: PublicJwk[],
  ) {}

  /**
   * Open the key ring of a data root, creating the directory (0700) and a first key if there is none.
   * @throws UnlearnError IO_ERROR naming the file when the directory cannot be created or a key
   *   file is unreadable, damaged or does not match its kid.
   */
  static async open(dataRoot: string): Promise<KeyRing> {
    const dir = keysDir(dataRoot);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await chmod(dir, 0o700);
    } catch (e) {
      throw ioError(`cannot create ${dir}`, e);
    }
    const indexPath = join(dir, 'index.json');
    if (!(await exists(indexPath))) {
      const { kid } = await newKey(dir);
      const tmp = `${indexPath}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
      await writeAtomic(tmp, JSON.stringify({ keys: [{ kid, createdAt: new Date().toISOString() }] }, null, 1) + '\n', 0o644);
      // link() fails when index.json exists: of two processes creating the first key, one wins.
      try {
        await link(tmp, indexPath);
        await syncDir(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(`cannot create ${indexPath}`, e);
        await rm(join(dir, `${kid}.private.jwk`), { force: true });
        await rm(join(dir, `${kid}.public.jwk`), { force: true });
      } finally {
        await rm(tmp, { force: true });
      }
    }
    return KeyRing.load(dir);
  }

  private static async load(dir: string): Promise<KeyRing> {
    const { index, publicKeys } = await loadPublic(dir);
    const kid = index.keys[index.keys.length - 1]!.kid;
    const privPath = join(dir, `${kid}.private.jwk`);
    const priv = (await readJson(privPath)) as JWK;
    let privateKey: CryptoKey;
    try {
      privateKey = (await importJWK({ ...priv, alg: SIGNING_ALG }, SIGNING_ALG)) as CryptoKey;
    } catch (e) {
      throw ioError(`${privPath} is not an Ed25519 private JWK`, e);
    }
    if (priv.x !== publicKeys[publicKeys.length - 1]!.x) throw new UnlearnError('IO_ERROR', `${privPath} does not match its public key`, 'restore the key directory from a backup');
    return new KeyRing(dir, index, { kid, privateKey }, publicKeys);
  }

  /** The current signing key: its kid (RFC 7638 thumbprint) and the private key for jose. */
  current(): { kid: string; privateKey: CryptoKey } {
    return this.currentKey;
  }

  /**
   * Make a new key current. The old key's public JWK stays in {@link jwks} (marked retired in
   * the index); its private file is deleted. Returns the new kid.
   * @throws UnlearnError IO_ERROR when the key directory cannot be written.
   */
  async rotate(): Promise<string> {
    try {
      const { kid } = await newKey(this.dir);
      const now = new Date().toISOString();
      const old = this.index.keys[this.index.keys.length - 1]!;
      const index: KeyIndex = { keys: [...this.index.keys.slice(0, -1), { ...old, retiredAt: now }, { kid, createdAt: now }] };
      await writeAtomic(join(this.dir, 'index.json'), JSON.stringify(index, null, 1) + '\n', 0o644);
      await rm(join(this.dir, `${old.kid}.private.jwk`), { force: true });
      const fresh = await KeyRing.load(this.dir);
      this.index = fresh.index;
      this.currentKey = fresh.currentKey;
      this.publicKeys = fresh.publicKeys;
      return kid;
    } catch (e) {
      if (e instanceof UnlearnError) throw e;
      throw ioError(`cannot rotate the keys in ${this.dir}`, e);
    }
  }

  /** Every public key, newest (current) first, as a JWK set (RFC 7517 §5); old keys are kept. */
  jwks(): JSONWebKeySet {
    return { keys: [...this.publicKeys].reverse().map((k) => ({ ...k })) };
  }

  /** Key history: kid, creation and retirement times (ISO 8601), oldest first. */
  history(): { kid: string; createdAt: string; retiredAt?: string }[] {
    return this.index.keys.map((k) => ({ ...k }));
  }
}

/**
 * The public key set of a data root without opening (or creating) the private key: for offline
 * verification. @throws UnlearnError INVALID_ARGS when the data root has no keys.
 */
export async function readPublicKeys(dataRoot: string): Promise<JSONWebKeySet> {
  const dir = keysDir(dataRoot);
  if (!(await exists(join(dir, 'index.json')))) {
    throw new UnlearnError('INVALID_ARGS', `no keys in ${dir}`, 'give --key PUBKEY.jwk or --jwks FILE, or --data-root of the service that signed it');
  }
  const { publicKeys } = await loadPublic(dir);
  return { keys: publicKeys.reverse() };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
