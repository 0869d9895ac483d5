/**
 * Open the service's database: embedded SQLite (better-sqlite3 on a thread of its own, WAL
 * journal, `synchronous=FULL` so a committed transaction survives a power cut) or PostgreSQL
 * (pg), behind one Kysely instance, migrated to the latest schema.
 */
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { UnlearnError } from '../errors.js';
import { migrateToLatest } from './migrations.js';
import { ThreadSqliteDialect } from './sqliteThread.js';
import type { Database } from './schema.js';

/** Which database a store runs on. */
export type Dialect = 'sqlite' | 'postgres';

/** An open, migrated database. */
export interface OpenDb {
  db: Kysely<Database>;
  dialect: Dialect;
  /** SQLite: run a transaction's body with its inserts pipelined to the SQLite thread (ThreadSqliteDialect.pipelineInserts). */
  pipelineInserts?: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Close the connections (and drop a throwaway PostgreSQL schema, see {@link OpenDbOptions.schema}). */
  close(): Promise<void>;
}

/** Options of {@link openDb}. */
export interface OpenDbOptions {
  /** `postgres://…` / `postgresql://…`, or a SQLite file path (`:memory:` for a private in-memory database). */
  url: string;
  /** PostgreSQL only: work in this schema (created if absent); with `dropSchemaOnClose` it is removed on close (tests). */
  schema?: string;
  dropSchemaOnClose?: boolean;
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
}

// PostgreSQL returns int8 (bigint, COUNT) as strings; our bigints are milliseconds and sizes, far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

/** True when `url` names a PostgreSQL database. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/**
 * Open and migrate the database at `url`.
 * @throws UnlearnError IO_ERROR when the database cannot be opened or migrated, INVALID_ARGS for a bad schema name.
 */
export async function openDb(o: OpenDbOptions): Promise<OpenDb> {
  if (isPostgresUrl(o.url)) return openPostgres(o);
  // The connection runs on its own thread (sqliteThread.ts), so a commit's fsync does not stop the event loop.
  const dialect = new ThreadSqliteDialect(o.url);
  const db = new Kysely<Database>({ dialect });
  try {
    await sql`select 1`.execute(db);
  } catch (e) {
    await db.destroy().catch(() => undefined);
    throw new UnlearnError('IO_ERROR', `cannot open SQLite database ${o.url}: ${(e as Error).message}`, 'check the data root path and its permissions');
  }
  try {
    await migrateToLatest(db);
  } catch (e) {
    await db.destroy().catch(() => undefined);
    throw e;
  }
  return { db, dialect: 'sqlite', close: () => db.destroy(), pipelineInserts: (fn) => dialect.pipelineInserts(fn) };
}

async function openPostgres(o: OpenDbOptions): Promise<OpenDb> {
  if (o.schema !== undefined && !SCHEMA_RE.test(o.schema)) {
    throw new UnlearnError('INVALID_ARGS', `schema name ${JSON.stringify(o.schema)} is not a plain lowercase identifier`, 'use letters, digits and underscores');
  }
  const pool = new pg.Pool({ connectionString: o.url, max: o.poolSize ?? 10, ...(o.schema && { options: `-c search_path=${o.schema}` }) });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    if (o.schema) await sql`create schema if not exists ${sql.id(o.schema)}`.execute(db);
    await migrateToLatest(db, o.schema);
  } catch (e) {
    await db.destroy();
    if (e instanceof UnlearnError) throw e;
    throw new UnlearnError('IO_ERROR', `cannot open PostgreSQL database: ${(e as Error).message}`, 'check the --database URL and that the server is running');
  }
  return {
    db,
    dialect: 'postgres',
    async close() {
      if (o.schema && o.dropSchemaOnClose) await sql`drop schema if exists ${sql.id(o.schema)} cascade`.execute(db);
      await db.destroy();
    },
  };
}
