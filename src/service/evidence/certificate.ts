/**
 * Deletion certificates: a JWS compact serialisation (RFC 7515 §7.1), EdDSA over Ed25519
 * (RFC 8037), header `{alg: "EdDSA", kid, typ: "unlearn-certificate"}`, payload the canonical
 * JSON (RFC 8785) of {@link CertificateClaims}. Verifiable offline with the service's public
 * keys (`GET /v1/keys`, or `<dataRoot>/keys/*.public.jwk`) by `unlearn certificate verify` or
 * any JOSE library.
 *
 * What a certificate claims (DESIGN §8, after Thudi et al., USENIX Security 2022): which
 * procedure ran on which lineage — the models, their input and output hashes, the method, the
 * guarantee and its measured figures — never that the weights are "clean" beyond that.
 *
 * The certificate is tied to the transparency log: the service logs a record of the request
 * (`certificate.issued`, or the `request.completed` transition) whose data carries
 * `certificateSha256`, the SHA-256 of the canonical JSON of the certificate's body (every claim
 * except `logEntry`, `inclusion` and `treeHead`); the
 * certificate carries that record, its inclusion proof and the signed tree head the proof is
 * against. A verifier recomputes all three links.
 */
import { createHash } from 'node:crypto';
import type { JSONWebKeySet } from 'jose';
import { z } from 'zod';
import { UnlearnError } from '../../errors.js';
import { canonicalJson } from './canonical.js';
import type { KeyRing } from './keys.js';
import { signJson, verifyJson } from './jws.js';
import { parseRecord, verifyTreeHead, type SignedTreeHead, type TransparencyLog } from './log.js';
import { fromB64u, leafHash, toB64u, verifyInclusion } from './merkle.js';
import { PURPOSES } from './policy.js';

/** JWS `typ` of certificates. */
export const CERTIFICATE_TYP = 'unlearn-certificate';
/** Log record type that commits to a certificate's body. */
export const CERTIFICATE_LOG_TYPE = 'certificate.issued';

const b64uHash = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a 32-byte hash in unpadded base64url');
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 in lowercase hex');
const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO 8601 time');
const figures = z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null(), z.array(z.union([z.number(), z.string()]))]));

const guarantee = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('exact') }),
  z.strictObject({ kind: z.literal('certified'), epsilon: z.number().positive(), delta: z.number().min(0).lt(1) }),
  z.strictObject({ kind: z.literal('approximate'), audits: z.record(z.string(), z.number().min(0)) }),
]);

const modelClaim = z.strictObject({
  /** Registered model id. */
  modelId: z.string().min(1),
  /** Model hash (sha256 of the model files' hashes, src/models/io.ts modelHash) before unlearning. */
  inputHash: hex64,
  /** Model hash of the published version; equal to inputHash when nothing was removed. */
  outputHash: hex64,
  /** Method that ran, e.g. retrain, sisa, newton (certified), neggrad-plus; "none" when nothing ran. */
  method: z.string().min(1),
  /** The guarantee met. */
  guarantee,
  /** The guarantee in plain words ({@link describeGuarantee}). */
  statement: z.string(),
  /** Measured figures: ε, δ, bound; shards and slices retrained; audit values with N and the reference. */
  figures,
  /** The planner's path, e.g. certified-newton, sisa-shards, approximate, retrain. */
  path: z.string().min(1).optional(),
  /** Training examples removed from this model. */
  examplesRemoved: z.int().min(0).optional(),
  /** Versions that contained the data and are superseded by the output. */
  supersededVersions: z.array(z.string()).optional(),
});

const bodySchema = z.strictObject({
  version: z.literal(1),
  requestId: z.string().min(1),
  /** Pseudonymised subject (src/data/pseudonym.ts); null for a request by example ids. */
  subject: z.string().min(1).nullable(),
  /** Number of example ids named by a request by ids. */
  examplesRequested: z.int().min(0).optional(),
  purpose: z.enum(PURPOSES),
  /** SHA-256 (hex) of the policy file in force. */
  policySha256: hex64,
  /** `unlearned`: models changed; `no-data`: no registered model's lineage holds the subject (models lists the lineage checked). */
  outcome: z.enum(['unlearned', 'no-data']),
  models: z.array(modelClaim),
  receivedAt: isoTime,
  completedAt: isoTime,
  deadline: isoTime,
  deadlineMet: z.boolean(),
  /** Further evidence, e.g. for `no-data` the lineage checked (model versions and their lineage hashes). */
  evidence: z.record(z.string(), z.unknown()).optional(),
});

const claimsSchema = bodySchema.extend({
  logEntry: z.strictObject({ index: z.int().min(0), leafHash: b64uHash, record: z.string() }),
  inclusion: z.strictObject({ treeSize: z.int().min(1), rootHash: b64uHash, proof: z.array(b64uHash) }),
  treeHead: z.strictObject({ treeSize: z.int().min(0), rootHash: b64uHash, timestamp: isoTime, signature: z.string() }),
});

/** The certificate's body: what is attested, before it is logged. */
export type CertificateBody = z.infer<typeof bodySchema>;
/** Every claim of a certificate: the body plus the log record, its inclusion proof and the signed tree head. */
export type CertificateClaims = z.infer<typeof claimsSchema>;
/** One model's entry in a certificate. */
export type ModelClaim = z.infer<typeof modelClaim>;

/** SHA-256 (hex) of the canonical JSON of a certificate body: what the log record commits to. */
export function certificateBodySha256(body: CertificateBody): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

/** The body of a full claims object (the claims minus logEntry, inclusion, treeHead). */
const bodyOf = (c: CertificateClaims): CertificateBody => z.object(bodySchema.shape).parse(c);

/**
 * Sign complete claims as a certificate with the key ring's current key.
 * @returns the JWS compact serialisation (ASCII, no newline).
 * @throws UnlearnError INVALID_PARAMS naming the first field that does not match the format.
 */
export async function signCertificate(claims: CertificateClaims, keys: KeyRing): Promise<string> {
  const r = claimsSchema.safeParse(claims);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new UnlearnError('INVALID_PARAMS', `certificate claims: ${i.path.join('.') || '(top level)'}: ${i.message}`, 'build the claims with issueCertificate or follow CertificateClaims');
  }
  return signJson(r.data, keys, CERTIFICATE_TYP);
}

/**
 * Sign the certificate of `body` whose log record (committing to it: `requestId` and
 * `data.certificateSha256` = {@link certificateBodySha256}(body), of any type, e.g. the
 * `request.completed` transition) is entry `index` of `log`: the record, its inclusion proof in
 * the tree of `treeSize` entries (default: the log's size now) and that tree's signed head go into
 * the claims. Works on a log over the caller's transaction.
 * @throws UnlearnError INVALID_PARAMS when entry `index` does not commit to this body.
 */
export async function certificateFromLog(body: CertificateBody, log: TransparencyLog, index: number, keys: KeyRing, treeSize?: number): Promise<{ jws: string; claims: CertificateClaims }> {
  const record = await log.record(index);
  const parsed = parseRecord(record);
  if (!parsed || parsed.requestId !== body.requestId || parsed.data.certificateSha256 !== certificateBodySha256(body)) {
    throw new UnlearnError('INVALID_PARAMS', `log entry ${index} does not commit to the certificate of request ${body.requestId}`, 'log the body first with data.certificateSha256 = certificateBodySha256(body)');
  }
  const treeHead = await log.treeHead(treeSize);
  const proof = await log.inclusion(index, treeHead.treeSize);
  const claims: CertificateClaims = {
    ...body,
    logEntry: { index, leafHash: proof.leafHash, record },
    inclusion: { treeSize: proof.treeSize, rootHash: proof.rootHash, proof: proof.proof },
    treeHead,
  };
  return { jws: await signCertificate(claims, keys), claims };
}

/**
 * Log a certificate body (a `certificate.issued` record committing to it) and sign the
 * certificate against the tree that ends with that record ({@link certificateFromLog}).
 */
export async function issueCertificate(body: CertificateBody, log: TransparencyLog, keys: KeyRing): Promise<{ jws: string; claims: CertificateClaims }> {
  const certificateSha256 = certificateBodySha256(body);
  const { index } = await log.append({ type: CERTIFICATE_LOG_TYPE, requestId: body.requestId, at: body.completedAt, data: { certificateSha256, outcome: body.outcome } });
  return certificateFromLog(body, log, index, keys, index + 1);
}

/**
 * Verify a certificate offline against a JWK set: the signature (by `kid`), the claims'
 * schema, the signed tree head, the inclusion proof of the log record in that tree head
 * (RFC 9162 §2.1.3.2), and that the record is this request's `certificate.issued` committing to
 * this body. Never throws: every failure is one line in `problems`; `claims` is set whenever
 * the signature verifies.
 */
export async function verifyCertificate(jws: string, jwks: JSONWebKeySet): Promise<{ ok: boolean; claims?: CertificateClaims; kid?: string; problems: string[] }> {
  const sig = await verifyJson(jws, jwks, CERTIFICATE_TYP);
  if (!sig.ok) return { ok: false, kid: sig.kid, problems: sig.problems };
  const parsed = claimsSchema.safeParse(sig.payload);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    return { ok: false, kid: sig.kid, problems: [`the claims do not match the certificate format: ${i.path.join('.') || '(top level)'}: ${i.message}`] };
  }
  const claims = parsed.data;
  const problems: string[] = [];
  const head = await verifyTreeHead(claims.treeHead as SignedTreeHead, jwks);
  problems.push(...head.problems);
  const { logEntry, inclusion, treeHead } = claims;
  if (inclusion.treeSize !== treeHead.treeSize || inclusion.rootHash !== treeHead.rootHash) {
    problems.push(`the inclusion proof is for a tree of ${inclusion.treeSize} entries, not the signed tree head's ${treeHead.treeSize}`);
  }
  if (!verifyInclusion(fromB64u(logEntry.leafHash), logEntry.index, inclusion.treeSize, inclusion.proof.map(fromB64u), fromB64u(inclusion.rootHash))) {
    problems.push(`log entry ${logEntry.index} is not included in the tree of ${inclusion.treeSize} entries (the inclusion proof does not verify)`);
  }
  if (toB64u(leafHash(new TextEncoder().encode(logEntry.record))) !== logEntry.leafHash) {
    problems.push(`the log record does not hash to leaf hash ${logEntry.leafHash}`);
  } else {
    const record = parseRecord(logEntry.record);
    const sha = certificateBodySha256(bodyOf(claims));
    if (!record || record.index !== logEntry.index || record.requestId !== claims.requestId) {
      problems.push(`log entry ${logEntry.index} is not a record of request ${claims.requestId}`);
    } else if (record.data.certificateSha256 !== sha) {
      problems.push(`log entry ${logEntry.index} commits to another certificate body (sha256 ${String(record.data.certificateSha256).slice(0, 12)}…, this one ${sha.slice(0, 12)}…)`);
    }
  }
  if (claims.deadlineMet !== Date.parse(claims.completedAt) <= Date.parse(claims.deadline)) {
    problems.push(`deadlineMet is ${claims.deadlineMet} but completedAt ${claims.completedAt} is ${Date.parse(claims.completedAt) <= Date.parse(claims.deadline) ? 'within' : 'after'} the deadline ${claims.deadline}`);
  }
  return { ok: problems.length === 0, claims, kid: sig.kid, problems };
}
