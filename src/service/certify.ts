/**
 * Certificates of completed deletion requests: the claims (what procedure ran on which lineage:
 * Thudi et al., USENIX Security 2022), the log entry that records the completion, its inclusion
 * proof and the signed tree head it is proved against, signed as a compact JWS (EdDSA).
 */
import { createHash } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import type { RequestRow } from '../store/store.js';
import type { ServiceContext } from './context.js';
import { canonicalJson } from './evidence/canonical.js';
import { signJson } from './evidence/jws.js';
import { TransparencyLog } from './evidence/log.js';
import { storeLogStorage } from './ledger.js';
import { effectiveDeadline, transition } from './lifecycle.js';

/** JWS `typ` of deletion certificates. */
export const CERTIFICATE_TYP = 'unlearn-certificate';

/** What a certificate says about one model. */
export interface ModelClaim {
  model: string;
  inputVersion: string;
  outputVersion: string;
  method: string;
  path: string;
  guarantee: Record<string, unknown>;
  /** Figures of the guarantee: ε, δ, bound and budget; shards and slices retrained; audits with N and reference. */
  figures: Record<string, unknown>;
  examplesRemoved: number;
  supersededVersions: string[];
}

/**
 * Complete a request with a certificate, inside the caller's transaction: the `completed`
 * transition (its log entry carries the sha256 of the claims), then the inclusion proof of that
 * entry in the tree that ends with it, the signed tree head, and the signature over all of it.
 * Returns the compact JWS.
 */
export async function completeWithCertificate(ctx: ServiceContext, trx: Transaction<Database>, r: RequestRow, models: ModelClaim[], extra: Record<string, unknown> = {}): Promise<string> {
  const now = ctx.now();
  const claims = {
    requestId: r.id,
    subject: r.subject,
    exampleIds: r.example_ids ? (JSON.parse(r.example_ids) as string[]).length : null,
    purpose: r.purpose,
    policySha256: r.policy_sha256,
    models,
    ...extra,
    receivedAt: new Date(r.received_at).toISOString(),
    completedAt: new Date(now).toISOString(),
    deadline: new Date(effectiveDeadline(r)).toISOString(),
    deadlineMet: now <= effectiveDeadline(r),
  };
  const claimsSha256 = createHash('sha256').update(canonicalJson(claims)).digest('hex');
  const { row, logIndex } = await transition(trx, ctx.ledger, r, 'completed', { actor: 'service', patch: { completed_at: now }, facts: { claimsSha256, models: models.map((m) => m.outputVersion) }, now });
  const log = new TransparencyLog(storeLogStorage(ctx.store, trx), ctx.ledger.keys);
  const inclusion = await log.inclusion(logIndex, logIndex + 1);
  const treeHead = await log.treeHead(logIndex + 1);
  const jws = await signJson({ ...claims, claimsSha256, log: { index: logIndex, inclusion, treeHead } }, ctx.ledger.keys, CERTIFICATE_TYP);
  await ctx.store.updateRequest(r.id, row.revision, { certificate: jws }, trx);
  return jws;
}
