/**
 * The zod schemas of the HTTP API: the same objects validate requests and generate the OpenAPI
 * 3.1 document at `/openapi.json`. Bodies are strict (unknown fields are refused).
 */
import { z } from '@hono/zod-openapi';

export const PURPOSES = ['privacy', 'copyright', 'correction', 'bias', 'security'] as const;
export const GUARANTEES = ['exact', 'certified', 'approximate'] as const;

/** Request ids: `dr_` + 32 hex. */
export const REQUEST_ID_RE = /^dr_[0-9a-f]{32}$/;
/** Model ids: lowercase slug. */
export const MODEL_ID_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Example ids: printable ASCII without spaces or quotes. */
const EXAMPLE_ID_RE = /^[A-Za-z0-9._:/@+-]{1,200}$/;

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    field: z.string().optional().openapi({ description: 'JSON pointer of the request part at fault, e.g. /body/purpose' }),
    hint: z.string().optional(),
  })
  .openapi('Problem');

export const CreateDeletionRequest = z
  .strictObject({
    subject: z.string().min(1).max(320).optional().openapi({ description: 'the data subject (e.g. an email address) or its s-… pseudonym' }),
    exampleIds: z.array(z.string().regex(EXAMPLE_ID_RE)).min(1).max(10_000).optional().openapi({ description: 'example ids to delete (operator tokens only)' }),
    purpose: z.enum(PURPOSES),
    requestedGuarantee: z.enum(GUARANTEES).optional(),
    models: z.array(z.string().regex(MODEL_ID_RE)).min(1).max(100).optional(),
    note: z.string().max(2000).optional(),
  })
  .refine((b) => (b.subject === undefined) !== (b.exampleIds === undefined), { message: 'give exactly one of subject and exampleIds', path: ['subject'] })
  .openapi('CreateDeletionRequest');

export const Accepted = z
  .object({ id: z.string(), status: z.string(), statusUrl: z.string(), deadline: z.string(), receivedAt: z.string() })
  .openapi('DeletionRequestAccepted');

export const Alternative = z
  .object({ path: z.string(), method: z.string(), guarantee: z.string(), estimateSeconds: z.number(), meets: z.boolean(), chosen: z.boolean(), why: z.string() })
  .openapi('PlanAlternative');

export const PlanView = z
  .object({
    model: z.string(),
    version: z.string(),
    method: z.string(),
    guarantee: z.string(),
    estimateSeconds: z.number(),
    actualSeconds: z.number().nullable(),
    status: z.string(),
    outputVersion: z.string().nullable(),
    alternatives: z.array(Alternative),
  })
  .openapi('Plan');

export const DeletionRequestView = z
  .object({
    id: z.string(),
    status: z.string(),
    subject: z.string().nullable().openapi({ description: 'pseudonymised subject' }),
    exampleIds: z.number().int().nullable().openapi({ description: 'number of example ids named' }),
    purpose: z.string(),
    requestedGuarantee: z.string().nullable(),
    models: z.array(z.string()).nullable(),
    policySha256: z.string(),
    receivedAt: z.string(),
    deadline: z.string(),
    extendedDeadline: z.string().nullable(),
    terms: z.record(z.string(), z.unknown()).nullable(),
    reason: z.string().nullable(),
    completedAt: z.string().nullable(),
    hasCertificate: z.boolean(),
    plans: z.array(PlanView),
  })
  .openapi('DeletionRequest');

export const DeletionRequestPage = z.object({ items: z.array(DeletionRequestView), nextCursor: z.string().nullable() }).openapi('DeletionRequestPage');

export const ListQuery = z.strictObject({
  status: z.string().regex(/^[a-z-]{1,20}$/).optional(),
  purpose: z.enum(PURPOSES).optional(),
  cursor: z.string().regex(/^[A-Za-z0-9_-]{1,200}$/).optional(),
  limit: z.coerce.number().int().min(1).max(100).optional().openapi({ description: 'page size, 1..100 (default 20)' }),
});

export const RequestIdParam = z.strictObject({ id: z.string().regex(REQUEST_ID_RE).openapi({ param: { name: 'id', in: 'path' }, example: 'dr_0123456789abcdef0123456789abcdef' }) });
export const ModelIdParam = z.strictObject({ id: z.string().regex(MODEL_ID_RE).openapi({ param: { name: 'id', in: 'path' } }) });
export const SubjectParam = z.strictObject({ subject: z.string().min(1).max(320).openapi({ param: { name: 'subject', in: 'path' } }) });

export const Decision = z.strictObject({ reason: z.string().max(2000).optional() }).openapi('Decision');
export const Extension = z.strictObject({ days: z.number().int().min(1).max(60), reason: z.string().min(1).max(2000) }).openapi('Extension');

export const CertificateView = z.object({ id: z.string(), certificate: z.string().openapi({ description: 'compact JWS (EdDSA)' }) }).openapi('Certificate');

export const RegisterModel = z
  .strictObject({
    id: z.string().regex(MODEL_ID_RE),
    dir: z.string().min(1).max(4096).openapi({ description: 'directory of the model version on the service host' }),
    name: z.string().min(1).max(200).optional(),
  })
  .openapi('RegisterModel');

export const VersionView = z
  .object({ id: z.string(), parent: z.string().nullable(), format: z.string(), guarantee: z.string(), method: z.string(), examples: z.number().int(), wallSeconds: z.number(), supersededBy: z.string().nullable(), weightsDeleted: z.boolean(), createdAt: z.string(), current: z.boolean() })
  .openapi('ModelVersion');
export const ModelView = z.object({ id: z.string(), name: z.string(), format: z.string(), currentVersion: z.string().nullable() }).openapi('Model');
export const VersionGraph = z.object({ model: z.string(), versions: z.array(VersionView), edges: z.array(z.object({ from: z.string(), to: z.string() })) }).openapi('VersionGraph');

export const SubjectModels = z.object({ subject: z.string(), versions: z.array(z.object({ model: z.string(), version: z.string(), examples: z.number().int(), supersededBy: z.string().nullable() })) }).openapi('SubjectModels');

export const TreeHeadView = z.object({ treeSize: z.number().int(), rootHash: z.string(), timestamp: z.string(), signature: z.string() }).openapi('SignedTreeHead');
export const InclusionQuery = z.strictObject({ entry: z.coerce.number().int().min(0), size: z.coerce.number().int().min(1).optional() });
export const ConsistencyQuery = z.strictObject({ from: z.coerce.number().int().min(0), to: z.coerce.number().int().min(0) });
export const InclusionView = z.object({ index: z.number().int(), treeSize: z.number().int(), leafHash: z.string(), rootHash: z.string(), proof: z.array(z.string()) }).openapi('InclusionProof');
export const ConsistencyView = z.object({ from: z.number().int(), to: z.number().int(), fromRoot: z.string(), toRoot: z.string(), proof: z.array(z.string()) }).openapi('ConsistencyProof');
export const Jwks = z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).openapi('JWKSet');

export const Noop = z.strictObject({ ping: z.string().max(100).optional() });

export const IdempotencyHeader = z.object({ 'idempotency-key': z.string().optional().openapi({ description: 'replay-safe key: the same key and body return the first answer; another body → 422' }) });
