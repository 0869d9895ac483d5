/**
 * Signing and verifying JSON payloads as JWS compact serialisations (RFC 7515 §7.1) with EdDSA
 * over Ed25519 (RFC 8037) and the key id in the protected header: the one format of both
 * certificates and signed tree heads. The payload is canonical JSON (RFC 8785).
 */
import { CompactSign, compactVerify, createLocalJWKSet, decodeProtectedHeader, errors, type JSONWebKeySet } from 'jose';
import { canonicalJson } from './canonical.js';
import { SIGNING_ALG, type KeyRing } from './keys.js';

/** Sign `payload` (canonical JSON) with the key ring's current key; header `{alg: "EdDSA", kid, typ}`. */
export async function signJson(payload: unknown, keys: KeyRing, typ: string): Promise<string> {
  const { kid, privateKey } = keys.current();
  return new CompactSign(new TextEncoder().encode(canonicalJson(payload))).setProtectedHeader({ alg: SIGNING_ALG, kid, typ }).sign(privateKey);
}

/**
 * Verify a compact JWS against a JWK set: the header must name `alg` EdDSA, the expected `typ`
 * and a `kid` in the set; the signature must verify; the payload must be a JSON object.
 * Never throws: every failure is a one-line entry in `problems`.
 */
export async function verifyJson(jws: string, jwks: JSONWebKeySet, typ: string): Promise<{ ok: boolean; payload?: Record<string, unknown>; kid?: string; problems: string[] }> {
  const text = jws.trim();
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(text)) return { ok: false, problems: ['not a JWS compact serialisation (three base64url parts separated by dots)'] };
  // Every part must be canonical base64url (the unused low bits of the last character zero), so
  // that no two strings carry one signature: any changed character invalidates the JWS.
  if (text.split('.').some((part) => Buffer.from(part, 'base64url').toString('base64url') !== part)) {
    return { ok: false, problems: ['a part of the JWS is not canonical base64url'] };
  }
  let header;
  try {
    header = decodeProtectedHeader(text);
  } catch {
    return { ok: false, problems: ['the protected header is not base64url JSON'] };
  }
  if (header.alg !== SIGNING_ALG) return { ok: false, problems: [`the header's alg is ${JSON.stringify(header.alg)}, expected "EdDSA"`] };
  if (header.typ !== typ) return { ok: false, problems: [`the header's typ is ${JSON.stringify(header.typ)}, expected "${typ}"`] };
  if (typeof header.kid !== 'string') return { ok: false, problems: ['the header carries no kid'] };
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(text, createLocalJWKSet(jwks), { algorithms: [SIGNING_ALG] }));
  } catch (e) {
    const why =
      e instanceof errors.JWKSNoMatchingKey
        ? `no key with kid ${header.kid} in the key set`
        : e instanceof errors.JWSSignatureVerificationFailed
          ? `the signature does not verify with key ${header.kid}`
          : `the JWS does not verify: ${(e as Error).message}`;
    return { ok: false, kid: header.kid, problems: [why] };
  }
  try {
    const value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    return { ok: true, payload: value, kid: header.kid, problems: [] };
  } catch {
    return { ok: false, kid: header.kid, problems: ['the payload is not a JSON object'] };
  }
}
