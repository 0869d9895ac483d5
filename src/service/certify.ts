/**
 * Certificates of completed deletion requests, in the evidence layer's format
 * (src/service/evidence/certificate.ts): the body (what procedure ran on which lineage: Thudi et
 * al., USENIX Security 2022), committed to by the `request.completed` log record, with that
 * record's inclusion proof and the signed tree head, signed as a compact JWS (EdDSA).
 */
import type { Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import type { RequestRow } from '../store/store.js';
import type { ServiceContext } from './context.js';
import { certificateBodySha256, certificateFromLog, type CertificateBody, type ModelClaim } from './evidence/certificate.js';
import { TransparencyLog } from './evidence/log.js';
import type { Purpose } from './evidence/policy.js';
import { storeLogStorage } from './ledger.js';
import { effectiveDeadline, transition } from './lifecycle.js';

export { CERTIFICATE_TYP, type ModelClaim } from './evidence/certificate.js';

type Flat = number | string | boolean | null | (number | string)[];

/** Nested figures as the certificate's flat record: `budget.left`, `audits.measured.miaAuc.value`, … */
export function flattenFigures(v: Record<string, unknown>, prefix = '', out: Record<string, Flat> = {}): Record<string, Flat> {
  for (const [k, x] of Object.entries(v)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (x === undefined) continue;
    if (x === null || typeof x === 'string' || typeof x === 'boolean') out[key] = x;
    else if (typeof x === 'number') out[key] = Number.isFinite(x) ? x : null;
    else if (Array.isArray(x) && x.every((e) => typeof e === 'number' || typeof e === 'string')) out[key] = x as (number | string)[];
    else if (Array.isArray(x)) x.forEach((e, i) => (e && typeof e === 'object' ? flattenFigures(e as Record<string, unknown>, `${key}.${i}`, out) : (out[`${key}.${i}`] = e as Flat)));
    else if (typeof x === 'object') flattenFigures(x as Record<string, unknown>, key, out);
  }
  return out;
}

/**
 * Complete a request with a certificate, inside the caller's transaction: the `completed`
 * transition, whose log record carries the sha256 of the certificate body, then the inclusion
 * proof of that record in the tree that ends with it, the signed tree head, the signature.
 * Returns the compact JWS.
 */
export async function completeWithCertificate(ctx: ServiceContext, trx: Transaction<Database>, r: RequestRow, models: ModelClaim[], o: { outcome?: 'unlearned' | 'no-data'; evidence?: Record<string, unknown> } = {}): Promise<string> {
  const now = ctx.now();
  const body: CertificateBody = {
    version: 1,
    requestId: r.id,
    subject: r.subject,
    ...(r.example_ids && { examplesRequested: (JSON.parse(r.example_ids) as string[]).length }),
    purpose: r.purpose as Purpose,
    policySha256: r.policy_sha256,
    outcome: o.outcome ?? 'unlearned',
    models,
    receivedAt: new Date(r.received_at).toISOString(),
    completedAt: new Date(now).toISOString(),
    deadline: new Date(effectiveDeadline(r)).toISOString(),
    deadlineMet: now <= effectiveDeadline(r),
    ...(o.evidence && { evidence: o.evidence }),
  };
  const certificateSha256 = certificateBodySha256(body);
  const { row, logIndex } = await transition(trx, ctx.ledger, r, 'completed', { actor: 'service', patch: { completed_at: now }, facts: { certificateSha256, outputs: models.map((m) => m.outputHash) }, now });
  const log = new TransparencyLog(storeLogStorage(ctx.store, trx), ctx.ledger.keys);
  const { jws } = await certificateFromLog(body, log, logIndex, ctx.ledger.keys, logIndex + 1);
  await ctx.store.updateRequest(r.id, row.revision, { certificate: jws }, trx);
  return jws;
}
