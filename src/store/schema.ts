/**
 * The tables of the deletion-request service, as Kysely types. One schema for SQLite and
 * PostgreSQL (see migrations.ts): times are integers in milliseconds since the epoch (bigint),
 * structured values are JSON text, booleans are 0/1 integers, hashes are lowercase hex.
 */
/** A registered model: a name and its current version. */
export interface ModelsTable {
  id: string;
  name: string;
  /** Manifest format of its versions (`unlearn-model/1`, `unlearn-sisa/1`, `unlearn-certified/1`). */
  format: string;
  /** modelHash of the current version (null before the first is registered). */
  current_version: string | null;
  created_at: number;
}

/** One model version (content-addressed by its modelHash): a node of the version graph. */
export interface ModelVersionsTable {
  id: string;
  model_id: string;
  /** modelHash of the version it was derived from, null for one trained from scratch. */
  parent: string | null;
  /** Directory holding the version (absolute path). */
  dir: string;
  format: string;
  guarantee: string;
  method: string;
  /** Dataset fingerprint (a request's example ids are ids of this dataset). */
  dataset_fingerprint: string;
  num_examples: number;
  /** Wall seconds the version's training or unlearning took (from its manifest). */
  wall_seconds: number;
  /** manifest.json as stored in the directory (JSON text). */
  manifest: string;
  superseded_by: string | null;
  superseded_at: number | null;
  weights_deleted_at: number | null;
  created_at: number;
}

/** Lineage index: which (pseudonymised) subjects have how many examples in which version. */
export interface LineageTable {
  subject: string;
  version_id: string;
  examples: number;
}

/** A deletion request. */
export interface DeletionRequestsTable {
  id: string;
  /** The requester token that filed it. */
  token_id: string;
  /** Pseudonymised subject (null when the request names example ids). */
  subject: string | null;
  /** JSON array of example ids, or null. */
  example_ids: string | null;
  purpose: string;
  requested_guarantee: string | null;
  /** JSON array of model ids the requester restricted the request to, or null (all). */
  models: string | null;
  note: string | null;
  status: string;
  /** sha256 of the policy file in force when the request was received. */
  policy_sha256: string;
  received_at: number;
  deadline_at: number;
  /** Set once, by an extension within the first month (GDPR Art. 12(3)). */
  extended_deadline_at: number | null;
  /** The proposed terms (JSON): guarantee, methods, estimates, plain-words explanation. */
  terms: string | null;
  /** Reason of a refusal, rejection, failure or extension. */
  reason: string | null;
  /** The signed certificate (compact JWS) once completed or refused-with-certificate. */
  certificate: string | null;
  completed_at: number | null;
  updated_at: number;
  /** Optimistic-concurrency counter, bumped on every transition. */
  revision: number;
}

/** Idempotency keys of POST /v1/deletion-requests, per token. */
export interface IdempotencyKeysTable {
  token_id: string;
  key: string;
  body_sha256: string;
  request_id: string;
  /** The first response (JSON text) and its status. */
  response: string;
  status: number;
  created_at: number;
}

/** One planned unit of work: a request's deletion on one affected model version. */
export interface PlansTable {
  id: string;
  request_id: string;
  model_id: string;
  version_id: string;
  guarantee: string;
  method: string;
  /** JSON array of every candidate path with its estimate (and why it was or was not chosen). */
  alternatives: string;
  estimate_seconds: number;
  actual_seconds: number | null;
  /** pending → scheduled → done | failed. */
  status: string;
  job_id: string | null;
  /** modelHash of the published version. */
  output_version: string | null;
  created_at: number;
}

/** The durable job table (leases and heartbeats). */
export interface JobsTable {
  id: string;
  kind: string;
  /** Jobs with the same dedupe key are one job (enqueue is idempotent). */
  dedupe_key: string;
  payload: string;
  /** queued → running → done | failed (dead after max_attempts). */
  status: string;
  attempts: number;
  max_attempts: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  heartbeat_at: number | null;
  run_after: number;
  result: string | null;
  error: string | null;
  created_at: number;
  updated_at: number;
}

/** Bearer tokens, stored as sha256 of the secret. */
export interface TokensTable {
  id: string;
  hash: string;
  role: string;
  /** JSON array of pseudonymised subjects a requester token is bound to. */
  subjects: string;
  label: string | null;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

/** The transparency log's leaves, in order. */
export interface LogEntriesTable {
  idx: number;
  /** RFC 9162 leaf hash, hex. */
  leaf_hash: string;
  /** The entry bytes as UTF-8 JSON text. */
  entry: string;
  created_at: number;
}

/** A single row (id = 1) holding the log size: appenders serialise on its row lock. */
export interface LogStateTable {
  id: number;
  size: number;
}

/** Signed tree heads. */
export interface TreeHeadsTable {
  size: number;
  root_hash: string;
  /** The signed tree head (compact JWS). */
  signature: string;
  created_at: number;
}

/** The database, as Kysely sees it. */
export interface Database {
  models: ModelsTable;
  model_versions: ModelVersionsTable;
  lineage: LineageTable;
  deletion_requests: DeletionRequestsTable;
  idempotency_keys: IdempotencyKeysTable;
  plans: PlansTable;
  jobs: JobsTable;
  tokens: TokensTable;
  log_entries: LogEntriesTable;
  log_state: LogStateTable;
  tree_heads: TreeHeadsTable;
}
