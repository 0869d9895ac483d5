/**
 * The one set of migrations of the service's store, written once with Kysely's schema builder
 * so the same code creates the tables on SQLite and PostgreSQL. Column types are the portable
 * subset: text, integer, bigint (milliseconds), double precision.
 */
import type { Kysely } from 'kysely';
import { Migrator, type Migration, type MigrationProvider } from 'kysely/migration';
import { UnlearnError } from '../errors.js';

const ms = 'bigint' as const;

const initial: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('models')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('format', 'text', (c) => c.notNull())
      .addColumn('current_version', 'text')
      .addColumn('created_at', ms, (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('model_versions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('model_id', 'text', (c) => c.notNull().references('models.id'))
      .addColumn('parent', 'text')
      .addColumn('dir', 'text', (c) => c.notNull())
      .addColumn('format', 'text', (c) => c.notNull())
      .addColumn('guarantee', 'text', (c) => c.notNull())
      .addColumn('method', 'text', (c) => c.notNull())
      .addColumn('dataset_fingerprint', 'text', (c) => c.notNull())
      .addColumn('num_examples', 'integer', (c) => c.notNull())
      .addColumn('wall_seconds', 'double precision', (c) => c.notNull())
      .addColumn('manifest', 'text', (c) => c.notNull())
      .addColumn('superseded_by', 'text')
      .addColumn('superseded_at', ms)
      .addColumn('weights_deleted_at', ms)
      .addColumn('created_at', ms, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('model_versions_model').on('model_versions').columns(['model_id', 'created_at']).execute();
    await db.schema.createIndex('model_versions_parent').on('model_versions').column('parent').execute();
    await db.schema
      .createTable('lineage')
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('version_id', 'text', (c) => c.notNull().references('model_versions.id'))
      .addColumn('examples', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('lineage_pk', ['subject', 'version_id'])
      .execute();
    await db.schema.createIndex('lineage_version').on('lineage').column('version_id').execute();
    await db.schema
      .createTable('tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('hash', 'text', (c) => c.notNull().unique())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('subjects', 'text', (c) => c.notNull())
      .addColumn('label', 'text')
      .addColumn('created_at', ms, (c) => c.notNull())
      .addColumn('expires_at', ms)
      .addColumn('revoked_at', ms)
      .execute();
    await db.schema
      .createTable('deletion_requests')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('token_id', 'text', (c) => c.notNull().references('tokens.id'))
      .addColumn('subject', 'text')
      .addColumn('example_ids', 'text')
      .addColumn('purpose', 'text', (c) => c.notNull())
      .addColumn('requested_guarantee', 'text')
      .addColumn('models', 'text')
      .addColumn('note', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('policy_sha256', 'text', (c) => c.notNull())
      .addColumn('received_at', ms, (c) => c.notNull())
      .addColumn('deadline_at', ms, (c) => c.notNull())
      .addColumn('extended_deadline_at', ms)
      .addColumn('terms', 'text')
      .addColumn('reason', 'text')
      .addColumn('certificate', 'text')
      .addColumn('completed_at', ms)
      .addColumn('updated_at', ms, (c) => c.notNull())
      .addColumn('revision', 'integer', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('deletion_requests_status').on('deletion_requests').columns(['status', 'received_at']).execute();
    await db.schema.createIndex('deletion_requests_token').on('deletion_requests').columns(['token_id', 'received_at']).execute();
    await db.schema
      .createTable('idempotency_keys')
      .addColumn('token_id', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('body_sha256', 'text', (c) => c.notNull())
      .addColumn('request_id', 'text', (c) => c.notNull())
      .addColumn('response', 'text', (c) => c.notNull())
      .addColumn('status', 'integer', (c) => c.notNull())
      .addColumn('created_at', ms, (c) => c.notNull())
      .addPrimaryKeyConstraint('idempotency_keys_pk', ['token_id', 'key'])
      .execute();
    await db.schema
      .createTable('jobs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('dedupe_key', 'text', (c) => c.notNull().unique())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('max_attempts', 'integer', (c) => c.notNull())
      .addColumn('lease_owner', 'text')
      .addColumn('lease_expires_at', ms)
      .addColumn('heartbeat_at', ms)
      .addColumn('run_after', ms, (c) => c.notNull())
      .addColumn('result', 'text')
      .addColumn('error', 'text')
      .addColumn('created_at', ms, (c) => c.notNull())
      .addColumn('updated_at', ms, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('jobs_claim').on('jobs').columns(['status', 'run_after']).execute();
    await db.schema
      .createTable('plans')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('request_id', 'text', (c) => c.notNull().references('deletion_requests.id'))
      .addColumn('model_id', 'text', (c) => c.notNull())
      .addColumn('version_id', 'text', (c) => c.notNull())
      .addColumn('guarantee', 'text', (c) => c.notNull())
      .addColumn('method', 'text', (c) => c.notNull())
      .addColumn('alternatives', 'text', (c) => c.notNull())
      .addColumn('estimate_seconds', 'double precision', (c) => c.notNull())
      .addColumn('actual_seconds', 'double precision')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('job_id', 'text')
      .addColumn('output_version', 'text')
      .addColumn('created_at', ms, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('plans_request').on('plans').column('request_id').execute();
    await db.schema.createIndex('plans_model_status').on('plans').columns(['model_id', 'status']).execute();
    await db.schema
      .createTable('log_entries')
      .addColumn('idx', ms, (c) => c.primaryKey())
      .addColumn('leaf_hash', 'text', (c) => c.notNull())
      .addColumn('entry', 'text', (c) => c.notNull())
      .addColumn('created_at', ms, (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('log_state')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('size', ms, (c) => c.notNull())
      .execute();
    await db.insertInto('log_state').values({ id: 1, size: 0 }).execute();
    await db.schema
      .createTable('tree_heads')
      .addColumn('size', ms, (c) => c.primaryKey())
      .addColumn('root_hash', 'text', (c) => c.notNull())
      .addColumn('signature', 'text', (c) => c.notNull())
      .addColumn('created_at', ms, (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<any>) {
    for (const t of ['tree_heads', 'log_state', 'log_entries', 'plans', 'jobs', 'idempotency_keys', 'deletion_requests', 'tokens', 'lineage', 'model_versions', 'models']) {
      await db.schema.dropTable(t).ifExists().execute();
    }
  },
};

/** Every migration, in order (names sort in application order). */
export const MIGRATIONS: Record<string, Migration> = { '0001_initial': initial };

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

/**
 * Bring the database to the latest schema (Kysely's Migrator keeps its own table of applied
 * migrations, with a lock, so concurrent starts apply each migration once).
 * @throws UnlearnError IO_ERROR naming the migration that failed.
 */
export async function migrateToLatest(db: Kysely<any>, schema?: string): Promise<string[]> {
  // With a schema, Kysely must look for its migration tables there: otherwise it finds them in any
  // other schema of the database and skips creating them in this one.
  const { error, results } = await new Migrator({ db, provider, ...(schema && { migrationTableSchema: schema }) }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new UnlearnError('IO_ERROR', `store migration ${failed} failed: ${(error as Error).message}`, 'check the database URL and permissions, or restore the database');
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
