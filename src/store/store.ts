/**
 * The service's store: every read and write of the deletion-request service, written once with
 * Kysely so the same code runs on SQLite and PostgreSQL. Methods take an optional executor so
 * callers can compose several in one transaction ({@link Store.tx}).
 */
import { randomBytes } from 'node:crypto';
import type { Kysely, Selectable, Transaction, Insertable } from 'kysely';
import { openDb, type Dialect, type OpenDbOptions } from './db.js';
import type {
  Database,
  DeletionRequestsTable,
  IdempotencyKeysTable,
  JobsTable,
  LogEntriesTable,
  ModelVersionsTable,
  ModelsTable,
  PlansTable,
  TokensTable,
  TreeHeadsTable,
} from './schema.js';

export type Executor = Kysely<Database> | Transaction<Database>;
export type ModelRow = Selectable<ModelsTable>;
export type VersionRow = Selectable<ModelVersionsTable>;
export type RequestRow = Selectable<DeletionRequestsTable>;
export type PlanRow = Selectable<PlansTable>;
export type JobRow = Selectable<JobsTable>;
export type TokenRow = Selectable<TokensTable>;
export type TreeHeadRow = Selectable<TreeHeadsTable>;
export type LogEntryRow = Selectable<LogEntriesTable>;
export type IdempotencyRow = Selectable<IdempotencyKeysTable>;

/** A fresh id: `prefix_` + 128 random bits in hex. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(16).toString('hex')}`;
}

/** Filters of {@link Store.listRequests}; `cursor` is the last id of the previous page. */
export interface RequestFilter {
  tokenId?: string;
  status?: string;
  purpose?: string;
  subject?: string;
  cursor?: { receivedAt: number; id: string };
  limit: number;
}

/** Options of {@link Store.open}: the database, and how long token lookups are cached. */
export interface StoreOptions extends OpenDbOptions {
  /**
   * How long a token row read for authentication is trusted before it is read again, ms
   * (default {@link DEFAULT_TOKEN_CACHE_MS}; 0 reads it on every request). A revocation through
   * this store takes effect at once; one made by another process (`unlearn tokens revoke`, a
   * second service process) takes effect within this time.
   */
  tokenCacheMs?: number;
}

/** Default {@link StoreOptions.tokenCacheMs}: one second. */
export const DEFAULT_TOKEN_CACHE_MS = 1000;

/** A job to enqueue: its kind, dedupe key, payload (JSON-serialisable), attempts allowed, earliest start (ms). */
export interface NewJob {
  kind: string;
  dedupeKey: string;
  payload: unknown;
  maxAttempts: number;
  runAfter?: number;
}

/** Job claim outcome: the job row as leased to `owner`. */
export type ClaimedJob = JobRow & { lease_owner: string };

/**
 * The store. Open with {@link Store.open}; close with {@link Store.close}. Every write that must be
 * durable before an acknowledgement is a committed transaction when the method returns.
 */
export class Store {
  /** Token rows found by hash, with the time they were read (see {@link Store.activeTokenByHash}). */
  private readonly tokenCache = new Map<string, { row: TokenRow; readAt: number }>();

  private constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
    private readonly closeFn: () => Promise<void>,
    /** How long a token row read by {@link Store.activeTokenByHash} is trusted, ms (0: read every time). */
    readonly tokenCacheMs: number,
    private readonly pipelineInserts?: <T>(fn: () => Promise<T>) => Promise<T>,
  ) {}

  /** Open (and migrate) a store. @throws UnlearnError IO_ERROR */
  static async open(o: StoreOptions): Promise<Store> {
    const d = await openDb(o);
    return new Store(d.db, d.dialect, d.close, o.tokenCacheMs ?? DEFAULT_TOKEN_CACHE_MS, d.pipelineInserts);
  }

  close(): Promise<void> {
    return this.closeFn();
  }

  /**
   * Run `fn` in one transaction (committed when it resolves, rolled back when it throws).
   * `o.pipelineInserts`: on SQLite, inserts without RETURNING are sent to the database thread
   * without waiting for each answer (fewer round trips; group commit of intake uses it). Their
   * results carry no row counts, so use it only where `fn` does not read an insert's result; a
   * failed insert still fails the transaction (at its next awaited statement or the commit).
   */
  tx<T>(fn: (trx: Transaction<Database>) => Promise<T>, o: { pipelineInserts?: boolean } = {}): Promise<T> {
    const pipe = o.pipelineInserts ? this.pipelineInserts : undefined;
    return this.db.transaction().execute(pipe ? (t) => pipe(() => fn(t)) : fn);
  }

  /** A trivial query: true when the database answers. */
  async ping(): Promise<boolean> {
    await this.db.selectFrom('log_state').select('size').executeTakeFirst();
    return true;
  }

  // ---- tokens ----

  async insertToken(t: Insertable<TokensTable>, ex: Executor = this.db): Promise<void> {
    await ex.insertInto('tokens').values(t).execute();
  }
  tokenByHash(hash: string, ex: Executor = this.db): Promise<TokenRow | undefined> {
    return ex.selectFrom('tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
  }
  /**
   * The token row of `hash` for authentication, read from the database at most once per
   * {@link Store.tokenCacheMs} (unknown hashes are read every time, so a new token works at
   * once). The caller checks expiry and revocation on the row; {@link Store.revokeToken} drops
   * the cached row, so a revocation through this store is seen by the next request.
   */
  async activeTokenByHash(hash: string, now = Date.now()): Promise<TokenRow | undefined> {
    const hit = this.tokenCache.get(hash);
    if (hit && now - hit.readAt < this.tokenCacheMs && now >= hit.readAt) return hit.row;
    const row = await this.tokenByHash(hash);
    if (row && this.tokenCacheMs > 0) {
      if (this.tokenCache.size >= 10_000) this.tokenCache.clear();
      this.tokenCache.set(hash, { row, readAt: now });
    } else this.tokenCache.delete(hash);
    return row;
  }
  tokenById(id: string, ex: Executor = this.db): Promise<TokenRow | undefined> {
    return ex.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirst();
  }
  /** Revoke a token; false when it does not exist or was already revoked. */
  async revokeToken(id: string, at: number, ex: Executor = this.db): Promise<boolean> {
    const r = await ex.updateTable('tokens').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    for (const [hash, c] of this.tokenCache) if (c.row.id === id) this.tokenCache.delete(hash);
    return Number(r.numUpdatedRows) === 1;
  }

  // ---- models and versions ----

  /** Insert a model if absent (registration is idempotent by id). */
  async ensureModel(m: Insertable<ModelsTable>, ex: Executor = this.db): Promise<void> {
    await ex.insertInto('models').values(m).onConflict((oc) => oc.column('id').doNothing()).execute();
  }
  model(id: string, ex: Executor = this.db): Promise<ModelRow | undefined> {
    return ex.selectFrom('models').selectAll().where('id', '=', id).executeTakeFirst();
  }
  listModels(ex: Executor = this.db): Promise<ModelRow[]> {
    return ex.selectFrom('models').selectAll().orderBy('id').execute();
  }
  /**
   * Insert a version and its lineage rows unless the version (content-addressed by modelHash) is
   * already there; returns true when it was inserted. Run inside a transaction with the lineage.
   */
  async insertVersion(v: Insertable<ModelVersionsTable>, lineage: { subject: string; examples: number }[], ex: Executor): Promise<boolean> {
    const r = await ex.insertInto('model_versions').values(v).onConflict((oc) => oc.column('id').doNothing()).executeTakeFirst();
    if (Number(r.numInsertedOrUpdatedRows ?? 0) === 0) return false;
    // Chunked so a version with many subjects stays under PostgreSQL's 65,535 bind parameters.
    for (let i = 0; i < lineage.length; i += 1000) {
      await ex.insertInto('lineage').values(lineage.slice(i, i + 1000).map((l) => ({ ...l, version_id: v.id as string }))).execute();
    }
    return true;
  }
  async setCurrentVersion(modelId: string, versionId: string, ex: Executor = this.db): Promise<void> {
    await ex.updateTable('models').set({ current_version: versionId }).where('id', '=', modelId).execute();
  }
  version(id: string, ex: Executor = this.db): Promise<VersionRow | undefined> {
    return ex.selectFrom('model_versions').selectAll().where('id', '=', id).executeTakeFirst();
  }
  versionsOf(modelId: string, ex: Executor = this.db): Promise<VersionRow[]> {
    return ex.selectFrom('model_versions').selectAll().where('model_id', '=', modelId).orderBy('created_at').orderBy('id').execute();
  }
  childrenOf(versionId: string, ex: Executor = this.db): Promise<VersionRow[]> {
    return ex.selectFrom('model_versions').selectAll().where('parent', '=', versionId).orderBy('id').execute();
  }
  /** Versions (not superseded) whose lineage holds `subject`, with its example count. */
  versionsWithSubject(subject: string, ex: Executor = this.db): Promise<(VersionRow & { examples: number })[]> {
    return ex
      .selectFrom('lineage')
      .innerJoin('model_versions', 'model_versions.id', 'lineage.version_id')
      .selectAll('model_versions')
      .select('lineage.examples')
      .where('lineage.subject', '=', subject)
      .where('model_versions.superseded_by', 'is', null)
      .orderBy('model_versions.model_id')
      .orderBy('model_versions.id')
      .execute();
  }
  /** Every version (superseded or not) holding `subject`: the lineage evidence of a request. */
  allVersionsWithSubject(subject: string, ex: Executor = this.db): Promise<{ version_id: string; model_id: string; examples: number; superseded_by: string | null }[]> {
    return ex
      .selectFrom('lineage')
      .innerJoin('model_versions', 'model_versions.id', 'lineage.version_id')
      .select(['lineage.version_id', 'model_versions.model_id', 'lineage.examples', 'model_versions.superseded_by'])
      .where('lineage.subject', '=', subject)
      .orderBy('lineage.version_id')
      .execute();
  }
  /** Mark a version superseded by another (first writer wins; a re-run is harmless). */
  async supersede(versionId: string, by: string, at: number, ex: Executor = this.db): Promise<void> {
    await ex.updateTable('model_versions').set({ superseded_by: by, superseded_at: at }).where('id', '=', versionId).where('superseded_by', 'is', null).execute();
  }
  async markWeightsDeleted(versionId: string, at: number, ex: Executor = this.db): Promise<void> {
    await ex.updateTable('model_versions').set({ weights_deleted_at: at }).where('id', '=', versionId).execute();
  }
  /** Superseded versions whose weights are still on disk and were superseded before `before`. */
  supersededBefore(before: number, ex: Executor = this.db): Promise<VersionRow[]> {
    return ex.selectFrom('model_versions').selectAll().where('superseded_at', '<', before).where('weights_deleted_at', 'is', null).execute();
  }

  // ---- deletion requests ----

  /** Insert one request, or several in one statement. */
  async insertRequest(r: Insertable<DeletionRequestsTable> | Insertable<DeletionRequestsTable>[], ex: Executor = this.db): Promise<void> {
    if (!Array.isArray(r) || r.length) await ex.insertInto('deletion_requests').values(r).execute();
  }
  request(id: string, ex: Executor = this.db): Promise<RequestRow | undefined> {
    return ex.selectFrom('deletion_requests').selectAll().where('id', '=', id).executeTakeFirst();
  }
  /** Requests ordered by (received_at, id), after the cursor, at most `limit`. */
  listRequests(f: RequestFilter, ex: Executor = this.db): Promise<RequestRow[]> {
    let q = ex.selectFrom('deletion_requests').selectAll();
    if (f.tokenId) q = q.where('token_id', '=', f.tokenId);
    if (f.status) q = q.where('status', '=', f.status);
    if (f.purpose) q = q.where('purpose', '=', f.purpose);
    if (f.subject) q = q.where('subject', '=', f.subject);
    if (f.cursor) {
      const c = f.cursor;
      q = q.where((eb) => eb.or([eb('received_at', '>', c.receivedAt), eb.and([eb('received_at', '=', c.receivedAt), eb('id', '>', c.id)])]));
    }
    return q.orderBy('received_at').orderBy('id').limit(f.limit).execute();
  }
  requestsInStatus(statuses: string[], ex: Executor = this.db): Promise<RequestRow[]> {
    return ex.selectFrom('deletion_requests').selectAll().where('status', 'in', statuses).orderBy('received_at').orderBy('id').execute();
  }
  /**
   * Update a request if its revision is still `revision` (optimistic concurrency): returns false
   * when another writer got there first.
   */
  async updateRequest(id: string, revision: number, patch: Partial<Omit<DeletionRequestsTable, 'id' | 'revision'>>, ex: Executor = this.db): Promise<boolean> {
    const r = await ex
      .updateTable('deletion_requests')
      .set({ ...patch, revision: revision + 1 })
      .where('id', '=', id)
      .where('revision', '=', revision)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  idempotency(tokenId: string, key: string, ex: Executor = this.db): Promise<IdempotencyRow | undefined> {
    return ex.selectFrom('idempotency_keys').selectAll().where('token_id', '=', tokenId).where('key', '=', key).executeTakeFirst();
  }
  /** Idempotency rows of the given (token, key) pairs, in one query (order not kept). */
  idempotencyMany(pairs: { tokenId: string; key: string }[], ex: Executor = this.db): Promise<IdempotencyRow[]> {
    if (!pairs.length) return Promise.resolve([]);
    return ex
      .selectFrom('idempotency_keys')
      .selectAll()
      .where((eb) => eb.or(pairs.map((p) => eb.and([eb('token_id', '=', p.tokenId), eb('key', '=', p.key)]))))
      .execute();
  }
  /** Insert one idempotency row, or several in one statement; fails on a (token, key) already taken. */
  async insertIdempotency(r: Insertable<IdempotencyKeysTable> | Insertable<IdempotencyKeysTable>[], ex: Executor = this.db): Promise<void> {
    if (!Array.isArray(r) || r.length) await ex.insertInto('idempotency_keys').values(r).execute();
  }

  // ---- plans ----

  async insertPlans(rows: Insertable<PlansTable>[], ex: Executor = this.db): Promise<void> {
    if (rows.length) await ex.insertInto('plans').values(rows).execute();
  }
  plansOf(requestId: string, ex: Executor = this.db): Promise<PlanRow[]> {
    return ex.selectFrom('plans').selectAll().where('request_id', '=', requestId).orderBy('model_id').orderBy('id').execute();
  }
  plansInStatus(status: string, ex: Executor = this.db): Promise<PlanRow[]> {
    return ex.selectFrom('plans').selectAll().where('status', '=', status).orderBy('created_at').orderBy('id').execute();
  }
  plansOfJob(jobId: string, ex: Executor = this.db): Promise<PlanRow[]> {
    return ex.selectFrom('plans').selectAll().where('job_id', '=', jobId).orderBy('id').execute();
  }
  async updatePlans(ids: string[], patch: Partial<Omit<PlansTable, 'id'>>, ex: Executor = this.db): Promise<void> {
    if (ids.length) await ex.updateTable('plans').set(patch).where('id', 'in', ids).execute();
  }

  // ---- jobs (the durable half of src/jobs) ----

  /** Insert a job unless one with its dedupe key exists; returns the job id either way. */
  async enqueueJob(j: NewJob, now: number, ex: Executor = this.db): Promise<string> {
    await this.enqueueJobs([j], now, ex);
    const row = await ex.selectFrom('jobs').select('id').where('dedupe_key', '=', j.dedupeKey).executeTakeFirstOrThrow();
    return row.id;
  }
  /** Insert several jobs in one statement, each unless one with its dedupe key exists. */
  async enqueueJobs(jobs: NewJob[], now: number, ex: Executor = this.db): Promise<void> {
    if (!jobs.length) return;
    await ex
      .insertInto('jobs')
      .values(jobs.map((j) => ({ id: newId('job'), kind: j.kind, dedupe_key: j.dedupeKey, payload: JSON.stringify(j.payload), status: 'queued', attempts: 0, max_attempts: j.maxAttempts, lease_owner: null, lease_expires_at: null, heartbeat_at: null, run_after: j.runAfter ?? now, result: null, error: null, created_at: now, updated_at: now })))
      .onConflict((oc) => oc.column('dedupe_key').doNothing())
      .execute();
  }
  job(id: string, ex: Executor = this.db): Promise<JobRow | undefined> {
    return ex.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
  }
  listJobs(ex: Executor = this.db): Promise<JobRow[]> {
    return ex.selectFrom('jobs').selectAll().orderBy('created_at').orderBy('id').execute();
  }
  /**
   * Lease the oldest runnable job (queued and due, or running with an expired lease: its worker
   * died) to `owner` for `leaseMs`. A conditional update makes two claimers race safely: only
   * one sees its update applied.
   */
  async claimJob(owner: string, leaseMs: number, now: number, kinds?: string[]): Promise<ClaimedJob | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      let q = this.db
        .selectFrom('jobs')
        .selectAll()
        .where((eb) => eb.or([eb.and([eb('status', '=', 'queued'), eb('run_after', '<=', now)]), eb.and([eb('status', '=', 'running'), eb('lease_expires_at', '<', now)])]));
      if (kinds?.length) q = q.where('kind', 'in', kinds);
      const cand = await q.orderBy('run_after').orderBy('id').limit(1).executeTakeFirst();
      if (!cand) return undefined;
      const r = await this.db
        .updateTable('jobs')
        .set({ status: 'running', lease_owner: owner, lease_expires_at: now + leaseMs, heartbeat_at: now, attempts: cand.attempts + 1, updated_at: now })
        .where('id', '=', cand.id)
        .where('attempts', '=', cand.attempts)
        .where('status', '=', cand.status)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 1) return { ...cand, status: 'running', lease_owner: owner, lease_expires_at: now + leaseMs, heartbeat_at: now, attempts: cand.attempts + 1, updated_at: now };
    }
    return undefined;
  }
  /** Extend the lease; false when `owner` no longer holds it (it expired and another worker took it). */
  async heartbeatJob(id: string, owner: string, leaseMs: number, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('jobs')
      .set({ lease_expires_at: now + leaseMs, heartbeat_at: now, updated_at: now })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .where('status', '=', 'running')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
  /** Mark done with its result, if `owner` still holds the lease. */
  async completeJob(id: string, owner: string, result: unknown, now: number, ex: Executor = this.db): Promise<boolean> {
    const r = await ex
      .updateTable('jobs')
      .set({ status: 'done', result: JSON.stringify(result ?? null), lease_owner: null, lease_expires_at: null, updated_at: now })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
  /** Record a failure: back to queued after `retryMs`, or `failed` once attempts reach max_attempts. Returns the new status. */
  async failJob(id: string, owner: string, error: string, retryMs: number, now: number): Promise<'queued' | 'failed' | 'lost'> {
    const j = await this.job(id);
    if (!j || j.lease_owner !== owner) return 'lost';
    const status = j.attempts >= j.max_attempts ? 'failed' : 'queued';
    await this.db
      .updateTable('jobs')
      .set({ status, error, lease_owner: null, lease_expires_at: null, run_after: now + retryMs, updated_at: now })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .execute();
    return status;
  }

  // ---- transparency log storage ----

  /**
   * Append one log entry and return its index (0-based). Appenders serialise on the log_state
   * row (PostgreSQL row lock until commit, SQLite's single writer), so indices are dense and in
   * commit order. With `expectIndex`, the append fails unless that is the next index.
   */
  async appendLogEntry(entry: string, leafHash: string, now: number, ex: Executor = this.db, expectIndex?: number): Promise<number> {
    return this.reserveLogIndex(ex, async () => ({ entry, leafHash, now }), expectIndex);
  }
  /**
   * Take the next log index (locking the counter for the rest of the transaction), let `build`
   * make the entry from the index and the previous leaf hash, insert it. Run in a transaction
   * so a failure gives the index back.
   * @throws Error when `expectIndex` is given and is not the next index.
   */
  async reserveLogIndex(ex: Executor, build: (index: number, prevLeafHash: string | null) => Promise<{ entry: string; leafHash: string; now: number }>, expectIndex?: number): Promise<number> {
    return this.reserveLogIndices(ex, 1, async (first, prev) => [await build(first, prev)], expectIndex);
  }
  /**
   * Take the next `count` log indices at once (one update of the counter, locking it for the
   * rest of the transaction), let `build` make the `count` entries from the first index and the
   * leaf hash before it (each entry chains to the one before it), and insert them in one
   * statement. Returns the first index. Run in a transaction.
   * @throws Error when `expectIndex` is given and is not the next index, or `build` returns another number of entries.
   */
  async reserveLogIndices(ex: Executor, count: number, build: (first: number, prevLeafHash: string | null) => Promise<{ entry: string; leafHash: string; now: number }[]>, expectIndex?: number): Promise<number> {
    let q = ex.updateTable('log_state').set((eb) => ({ size: eb('size', '+', count) })).where('id', '=', 1);
    if (expectIndex !== undefined) q = q.where('size', '=', expectIndex);
    // The leaf hash before the first reserved index comes back with the new size, saving a round
    // trip. On PostgreSQL an update that waited for another transaction's lock on the counter
    // evaluates this subquery in its statement's snapshot, from before that transaction's
    // entries were committed: then it is null and a second statement (a fresh snapshot) reads it.
    const row = await q
      .returning((eb) => ['size', eb.selectFrom('log_entries').select('leaf_hash').where('idx', '=', eb(eb.ref('log_state.size'), '-', count + 1)).as('prev')])
      .executeTakeFirst();
    if (!row) throw new Error(`log index ${expectIndex} is taken`);
    const first = Number(row.size) - count;
    const prev = first === 0 ? null : (row.prev ?? (await ex.selectFrom('log_entries').select('leaf_hash').where('idx', '=', first - 1).executeTakeFirstOrThrow()).leaf_hash);
    const es = await build(first, prev);
    if (es.length !== count) throw new Error(`${es.length} log entries built for ${count} reserved indices`);
    // Chunked under SQLite's and PostgreSQL's bind-parameter limits (4 per row).
    for (let i = 0; i < es.length; i += 1000) {
      await ex.insertInto('log_entries').values(es.slice(i, i + 1000).map((e, j) => ({ idx: first + i + j, leaf_hash: e.leafHash, entry: e.entry, created_at: e.now }))).execute();
    }
    return first;
  }
  async logSize(ex: Executor = this.db): Promise<number> {
    const r = await ex.selectFrom('log_state').select('size').where('id', '=', 1).executeTakeFirstOrThrow();
    return Number(r.size);
  }
  /** Leaf hashes of entries [from, to). */
  async logLeafHashes(from: number, to: number, ex: Executor = this.db): Promise<string[]> {
    const rows = await ex.selectFrom('log_entries').select('leaf_hash').where('idx', '>=', from).where('idx', '<', to).orderBy('idx').execute();
    return rows.map((r) => r.leaf_hash);
  }
  /** Entries [from, to) with their index and stored leaf hash. */
  logEntries(from: number, to: number, ex: Executor = this.db): Promise<LogEntryRow[]> {
    return ex.selectFrom('log_entries').selectAll().where('idx', '>=', from).where('idx', '<', to).orderBy('idx').execute();
  }
  async insertTreeHead(h: TreeHeadRow, ex: Executor = this.db): Promise<void> {
    await ex.insertInto('tree_heads').values(h).onConflict((oc) => oc.column('size').doNothing()).execute();
  }
  latestTreeHead(ex: Executor = this.db): Promise<TreeHeadRow | undefined> {
    return ex.selectFrom('tree_heads').selectAll().orderBy('size', 'desc').limit(1).executeTakeFirst();
  }
  treeHeads(ex: Executor = this.db): Promise<TreeHeadRow[]> {
    return ex.selectFrom('tree_heads').selectAll().orderBy('size').execute();
  }
  treeHead(size: number, ex: Executor = this.db): Promise<TreeHeadRow | undefined> {
    return ex.selectFrom('tree_heads').selectAll().where('size', '=', size).executeTakeFirst();
  }
}
