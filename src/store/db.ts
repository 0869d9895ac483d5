/**
 * Open the service's database: embedded SQLite (better-sqlite3, WAL journal, `synchronous=FULL`
 * so a committed transaction survives a power cut) or PostgreSQL (pg), behind one Kysely
 * instance, migrated to the latest schema.
 */
import Sqlite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql, type SqliteDatabase } from 'kysely';
import pg from 'pg';
import { UnlearnError } from '../errors.js';
import { migrateToLatest } from './migrations.js';
import type { Database } from './schema.js';

/** Which database a store runs on. */
export type Dialect = 'sqlite' | 'postgres';

/** An open, migrated database. */
export interface OpenDb {
  db: Kysely<Database>;
  dialect: Dialect;
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
  let raw: Sqlite.Database;
  try {
    raw = new Sqlite(o.url);
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = FULL');
    raw.pragma('foreign_keys = ON');
    raw.pragma('busy_timeout = 5000');
  } catch (e) {
    throw new UnlearnError('IO_ERROR', `cannot open SQLite database ${o.url}: ${(e as Error).message}`, 'check the data root path and its permissions');
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingStatements(raw) }) });
  await migrateToLatest(db);
  return { db, dialect: 'sqlite', close: () => db.destroy() };
}

/**
 * better-sqlite3 with its prepared statements kept by SQL text (at most `max`, least recently
 * used dropped): Kysely prepares every query it runs, and preparing costs more than running the
 * small statements of the service. A cached statement is reused only after its previous run
 * returned (Kysely's SQLite connection runs one statement at a time and the service does not
 * stream, so none is busy iterating when reused). SQLite re-prepares a statement by itself when
 * the schema changes.
 */
export function cachingStatements(raw: Sqlite.Database, max = 512): SqliteDatabase {
  const cache = new Map<string, Sqlite.Statement>();
  const prepare = (sqlText: string): Sqlite.Statement => {
    let st = cache.get(sqlText);
    if (st) cache.delete(sqlText);
    else {
      st = raw.prepare(sqlText);
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
    }
    cache.set(sqlText, st);
    return st;
  };
  return { prepare, close: () => raw.close() };
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
