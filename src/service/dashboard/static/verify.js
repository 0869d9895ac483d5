// In-browser verification of certificates, signed tree heads and the whole log:
// JWS (RFC 7515, EdDSA/Ed25519, RFC 8037) with jose's browser build over WebCrypto, and the
// RFC 9162 Merkle tree (leaf = SHA-256(0x00 ‖ entry), node = SHA-256(0x01 ‖ left ‖ right))
// with WebCrypto SHA-256.
import { compactVerify, createLocalJWKSet, decodeProtectedHeader } from 'jose';

const enc = new TextEncoder();

export function fromB64u(s) {
  const b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
}
export function toB64u(u) {
  return btoa(String.fromCharCode(...u)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
async function sha256(...parts) {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const buf = new Uint8Array(n);
  let o = 0;
  for (const p of parts) buf.set(p, o), (o += p.length);
  return new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
}
export const leafHash = (bytes) => sha256(Uint8Array.of(0), bytes);
const nodeHash = (l, r) => sha256(Uint8Array.of(1), l, r);
const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/** RFC 9162 §2.1.1 Merkle tree hash of a list of leaf hashes. */
export async function rootOf(leaves) {
  if (leaves.length === 0) return sha256(new Uint8Array(0));
  if (leaves.length === 1) return leaves[0];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(await rootOf(leaves.slice(0, k)), await rootOf(leaves.slice(k)));
}

/** RFC 9162 §2.1.3.2 inclusion proof verification. */
export async function verifyInclusion(leaf, index, size, proof, root) {
  if (index >= size) return false;
  let fn = index, sn = size - 1, r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn & 1 || fn === sn) {
      r = await nodeHash(p, r);
      while (!(fn & 1) && fn !== 0) (fn >>= 1), (sn >>= 1);
    } else r = await nodeHash(r, p);
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 && equal(r, root);
}

/** RFC 9162 §2.1.4.2 consistency proof verification: the tree of `newSize` entries extends the tree of `oldSize`. */
export async function verifyConsistency(oldSize, newSize, oldRoot, newRoot, proof) {
  if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(newSize) || oldSize < 0 || oldSize > newSize) return false;
  if (oldSize === 0) return proof.length === 0;
  if (oldSize === newSize) return proof.length === 0 && equal(oldRoot, newRoot);
  if (proof.length === 0) return false;
  const path = (oldSize & (oldSize - 1)) === 0 ? [oldRoot, ...proof] : proof; // a complete old tree: its root starts the path
  let fn = oldSize - 1, sn = newSize - 1;
  while (fn & 1) (fn >>= 1), (sn >>= 1);
  let fr = path[0], sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn & 1 || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while (!(fn & 1) && fn !== 0) (fn >>= 1), (sn >>= 1);
    } else sr = await nodeHash(sr, c);
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 && equal(fr, oldRoot) && equal(sr, newRoot);
}

/** RFC 8785 canonical JSON for the values the service signs (objects, arrays, strings, finite numbers, booleans, null). */
export function canonical(v) {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  return `{${Object.keys(v).filter((k) => v[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
}

/** Verify a compact JWS against a JWK set; returns {ok, payload, problem}. */
export async function verifyJws(jws, jwks, typ) {
  try {
    const header = decodeProtectedHeader(jws);
    if (header.typ !== typ) return { ok: false, problem: `the header's typ is ${JSON.stringify(header.typ)}, expected ${typ}` };
    const { payload } = await compactVerify(jws.trim(), createLocalJWKSet(jwks), { algorithms: ['EdDSA'] });
    return { ok: true, payload: JSON.parse(new TextDecoder().decode(payload)), kid: header.kid };
  } catch (e) {
    return { ok: false, problem: e?.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' ? 'the signature does not verify' : String(e?.message ?? e) };
  }
}

/** Verify a signed tree head object {treeSize, rootHash, timestamp, signature}. */
export async function verifyTreeHead(head, jwks) {
  const s = await verifyJws(head.signature, jwks, 'unlearn-sth');
  if (!s.ok) return s;
  const same = s.payload.treeSize === head.treeSize && s.payload.rootHash === head.rootHash && s.payload.timestamp === head.timestamp;
  return same ? s : { ok: false, problem: 'the signed fields differ from the tree head shown' };
}

/**
 * Verify a certificate (the format of src/service/evidence/certificate.ts): its signature; the
 * signed tree head it carries; the inclusion proof of its log record in that tree (RFC 9162
 * §2.1.3.2); and that the record is this request's and commits to this certificate's body
 * (`data.certificateSha256` = SHA-256 of the canonical JSON of every claim but logEntry,
 * inclusion and treeHead). Returns the checks and the claims.
 */
export async function verifyCertificate(jws, jwks) {
  const checks = [];
  const sig = await verifyJws(jws, jwks, 'unlearn-certificate');
  checks.push({ name: 'signature (EdDSA, Ed25519)', ok: sig.ok, detail: sig.ok ? `key ${sig.kid}` : sig.problem });
  if (!sig.ok) return { ok: false, checks };
  const claims = sig.payload;
  const { logEntry, inclusion, treeHead, ...body } = claims;
  const hex = (u) => Array.from(u, (b) => b.toString(16).padStart(2, '0')).join('');
  const bodySha = hex(await sha256(enc.encode(canonical(body))));
  let record = null;
  let leafOk = false;
  try {
    record = JSON.parse(logEntry.record);
    leafOk = toB64u(await leafHash(enc.encode(logEntry.record))) === logEntry.leafHash;
  } catch {
    record = null;
  }
  const bound = leafOk && record && record.index === logEntry.index && record.requestId === claims.requestId && record.data?.certificateSha256 === bodySha;
  checks.push({
    name: 'log record commits to this certificate',
    ok: !!bound,
    detail: bound ? `entry ${logEntry.index}, body ${bodySha.slice(0, 16)}…` : !logEntry ? 'no log record' : !leafOk ? 'the record does not hash to its leaf hash' : 'the record is not this request\'s or commits to another body',
  });
  let incOk = false;
  try {
    incOk = !!inclusion && (await verifyInclusion(fromB64u(logEntry.leafHash), logEntry.index, inclusion.treeSize, inclusion.proof.map(fromB64u), fromB64u(inclusion.rootHash)));
  } catch {
    incOk = false;
  }
  checks.push({ name: 'log inclusion proof (RFC 9162)', ok: incOk, detail: inclusion ? `entry ${logEntry?.index} of ${inclusion.treeSize}` : 'no proof' });
  const th = treeHead ? await verifyTreeHead(treeHead, jwks) : { ok: false, problem: 'no tree head' };
  const match = th.ok && inclusion && treeHead.treeSize === inclusion.treeSize && treeHead.rootHash === inclusion.rootHash;
  checks.push({ name: 'signed tree head', ok: !!match, detail: th.ok ? (match ? `size ${treeHead.treeSize}, root ${treeHead.rootHash.slice(0, 12)}…` : 'the proof does not end in this tree head') : th.problem });
  return { ok: checks.every((c) => c.ok), checks, claims };
}

/**
 * Verify the whole log: each record's index and previous leaf hash (the hash chain), then the
 * Merkle root of the first `head.treeSize` leaves against the signed tree head.
 */
export async function verifyLog(records, head, jwks) {
  const problems = [];
  const leaves = [];
  for (let i = 0; i < records.length; i++) {
    let rec;
    try {
      rec = JSON.parse(records[i]);
    } catch {
      problems.push(`entry ${i}: not JSON`);
      continue;
    }
    const leaf = await leafHash(enc.encode(records[i]));
    if (rec.index !== i) problems.push(`entry ${i}: says index ${rec.index} (reordered or deleted entries)`);
    const prev = i === 0 ? new Uint8Array(32) : leaves[i - 1];
    if (rec.prevLeafHash !== toB64u(prev)) problems.push(`entry ${i}: previous leaf hash does not match entry ${i - 1} (edited or inserted)`);
    leaves.push(leaf);
  }
  const th = await verifyTreeHead(head, jwks);
  if (!th.ok) problems.push(`tree head: ${th.problem}`);
  if (head.treeSize > leaves.length) problems.push(`tree head covers ${head.treeSize} entries, the log has ${leaves.length}`);
  else if (toB64u(await rootOf(leaves.slice(0, head.treeSize))) !== head.rootHash) problems.push(`the root of the first ${head.treeSize} entries differs from the signed tree head`);
  return { ok: problems.length === 0, problems, size: leaves.length };
}

/**
 * Check a verified certificate's claims against the live log as the service shows it to the
 * requester (GET /v1/deletion-requests/{id}/log: the request's own records, each with its
 * inclusion proof in the current signed tree head, and the consistency proof from the
 * certificate's tree head to it). Returns checks in the format of {@link verifyCertificate}:
 * the current tree head's signature; that entry `logEntry.index` of the live log is the very
 * record the certificate carries and is included in the current tree; that the current tree
 * extends the certificate's (the log was only appended to since); and that every record of this
 * request hashes to its leaf and is included (the request's history, in order).
 */
export async function verifyAgainstLog(claims, live, jwks) {
  const checks = [];
  const th = await verifyTreeHead(live.treeHead, jwks);
  checks.push({ name: 'current signed tree head', ok: th.ok, detail: th.ok ? `size ${live.treeHead.treeSize}, signed ${live.treeHead.timestamp}` : th.problem });
  const root = fromB64u(live.treeHead.rootHash);
  const size = live.treeHead.treeSize;
  const included = async (r) => toB64u(await leafHash(enc.encode(r.record))) === r.leafHash && (await verifyInclusion(fromB64u(r.leafHash), r.index, size, r.proof.map(fromB64u), root));
  const mine = live.records.find((r) => r.index === claims.logEntry?.index);
  const sameRecord = !!mine && mine.record === claims.logEntry.record;
  const stillIn = sameRecord && (await included(mine).catch(() => false));
  checks.push({
    name: 'record in the live log (inclusion in the current tree)',
    ok: th.ok && stillIn,
    detail: !mine ? `the live log has no record ${claims.logEntry?.index} of this request` : !sameRecord ? `live entry ${mine.index} differs from the record in the certificate` : stillIn ? `entry ${mine.index} of ${size}` : 'the inclusion proof does not verify',
  });
  const c = live.consistency;
  const grew = !!c && c.from === claims.treeHead?.treeSize && c.fromRoot === claims.treeHead?.rootHash && c.to === size && c.toRoot === live.treeHead.rootHash && (await verifyConsistency(c.from, c.to, fromB64u(c.fromRoot), fromB64u(c.toRoot), c.proof.map(fromB64u)).catch(() => false));
  checks.push({ name: 'log only appended since the certificate (consistency, RFC 9162)', ok: th.ok && grew, detail: !c ? 'no consistency proof' : grew ? `tree ${c.from} → ${c.to}` : 'the current tree does not extend the certificate\'s tree head' });
  const history = [];
  let allIn = true;
  for (const r of live.records) {
    let rec = null;
    try {
      rec = JSON.parse(r.record);
    } catch {
      rec = null;
    }
    const ok = !!rec && rec.requestId === claims.requestId && rec.index === r.index && (await included(r).catch(() => false));
    allIn &&= ok;
    history.push(`${r.index} ${rec?.type ?? '?'}${ok ? '' : ' ✗'}`);
  }
  checks.push({ name: "this request's records in the live log", ok: th.ok && allIn && live.records.length > 0, detail: history.join(', ') || 'none' });
  return { ok: checks.every((x) => x.ok), checks };
}
