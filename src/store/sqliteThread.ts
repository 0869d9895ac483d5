/**
 * SQLite for Kysely on a thread of its own: better-sqlite3 is synchronous, so a commit's fsync
 * (WAL with `synchronous=FULL`) would stop the event loop for its whole duration; here the
 * connection lives on a worker thread (sqliteThread.mjs) and the event loop keeps parsing and
 * validating the next requests while a commit is being flushed. Same SQL, same compiler and
 * adapter as Kysely's own SQLite dialect; one connection, one statement at a time, in order.
 * A statement's promise resolves after the thread has run it (for `commit`: after the fsync).
 */
import { Worker } from 'node:worker_threads';
import { CompiledQuery, SqliteDialect, type DatabaseConnection, type Driver, type QueryResult } from 'kysely';

type Reply = { id: number; rows?: unknown[]; changes?: number | bigint; lastInsertRowid?: number | bigint; error?: { message: string; code?: string }; opened?: boolean; closed?: boolean };

/** An error of the SQLite thread, with SQLite's code (`SQLITE_CONSTRAINT_PRIMARYKEY`, …). */
export class SqliteThreadError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = 'SqliteError';
  }
}

/** The worker thread holding one SQLite connection; requests are answered in order. */
class SqliteThread {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private next = 1;
  readonly opened: Promise<void>;

  constructor(path: string) {
    this.worker = new Worker(new URL('./sqliteThread.mjs', import.meta.url), { workerData: { path } });
    // The thread keeps the process alive only while it is opening or a statement is in flight
    // (it is unreferenced whenever no answer is awaited).
    this.opened = new Promise((resolve, reject) => this.waiting.set(0, { resolve: () => resolve(), reject }));
    this.worker.on('message', (r: Reply) => {
      const w = this.waiting.get(r.id);
      if (!w) return;
      this.waiting.delete(r.id);
      if (this.waiting.size === 0) this.worker.unref();
      if (r.error) w.reject(new SqliteThreadError(r.error.message, r.error.code));
      else w.resolve(r);
    });
    this.worker.on('error', (e) => this.failAll(e));
    this.worker.on('exit', (code) => this.failAll(new Error(`SQLite thread exited (${code})`)));
  }

  private failAll(e: Error): void {
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }

  send(msg: { sql: string; params: readonly unknown[]; pipelined?: boolean } | { close: true }): Promise<Reply> {
    const id = this.next++;
    return new Promise<Reply>((resolve, reject) => {
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, ...msg });
    });
  }
}

/** An insert without RETURNING: nothing of its answer is needed to go on. */
const PIPELINABLE_RE = /^\s*insert\b(?![\s\S]*\breturning\b)/i;

class ThreadConnection implements DatabaseConnection {
  /**
   * While true (set by {@link ThreadSqliteDialect.pipelineInserts} for one transaction), inserts
   * without RETURNING are sent without waiting for their answer: one round trip to the thread
   * fewer each. Their result carries no row counts; a failure poisons the transaction on the
   * thread, so the next awaited statement (at the latest the commit) fails with it.
   */
  pipelining = false;

  constructor(private readonly thread: SqliteThread) {}

  /** Send `sql` without waiting; its error, if any, surfaces at the next awaited statement. */
  sendPipelined(sql: string, params: readonly unknown[]): void {
    this.thread.send({ sql, params, pipelined: true }).catch(() => undefined);
  }

  async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    if (this.pipelining && PIPELINABLE_RE.test(q.sql)) {
      this.sendPipelined(q.sql, q.parameters);
      return { rows: [] };
    }
    const r = await this.thread.send({ sql: q.sql, params: q.parameters });
    if (r.rows) return { rows: r.rows as R[] };
    return {
      rows: [],
      numAffectedRows: r.changes !== undefined ? BigInt(r.changes) : undefined,
      insertId: r.lastInsertRowid !== undefined ? BigInt(r.lastInsertRowid) : undefined,
    };
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not supported by the SQLite thread driver');
  }
}

class ThreadDriver implements Driver {
  private thread?: SqliteThread;
  private connection?: ThreadConnection;
  private lock: Promise<void> = Promise.resolve();
  private unlock?: () => void;

  constructor(private readonly path: string) {}

  async init(): Promise<void> {
    this.thread = new SqliteThread(this.path);
    await this.thread.opened;
    this.connection = new ThreadConnection(this.thread);
  }
  /** The one connection (undefined before init). */
  get conn(): ThreadConnection | undefined {
    return this.connection;
  }
  async acquireConnection(): Promise<DatabaseConnection> {
    // One connection: callers queue in order.
    const prev = this.lock;
    let release!: () => void;
    this.lock = new Promise<void>((r) => (release = r));
    await prev;
    this.unlock = release;
    return this.connection!;
  }
  async beginTransaction(c: DatabaseConnection): Promise<void> {
    // Nothing of `begin`'s answer is needed: a failure poisons the transaction on the thread and
    // surfaces at its first awaited statement.
    (c as ThreadConnection).sendPipelined('begin', []);
  }
  async commitTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(CompiledQuery.raw('commit'));
  }
  async rollbackTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(CompiledQuery.raw('rollback'));
  }
  async releaseConnection(): Promise<void> {
    const u = this.unlock;
    this.unlock = undefined;
    u?.();
  }
  async destroy(): Promise<void> {
    await this.thread?.send({ close: true }).catch(() => undefined);
  }
}

/**
 * Kysely's SQLite dialect with the connection on a worker thread. Opening fails (rejects the
 * first query, or {@link openThreadDialect}) with the SQLite error when the file cannot be opened.
 */
export class ThreadSqliteDialect extends SqliteDialect {
  constructor(private readonly path: string) {
    super({ database: { close() {}, prepare() { throw new Error('unused'); } } as never });
  }
  private driver?: ThreadDriver;
  override createDriver(): Driver {
    return (this.driver = new ThreadDriver(this.path));
  }

  /**
   * Run `fn` with insert pipelining on (see ThreadConnection.pipelining). Call it inside a
   * transaction's callback: the connection is then held by that transaction alone, and the flag
   * is off again before Kysely sends the commit.
   */
  async pipelineInserts<T>(fn: () => Promise<T>): Promise<T> {
    const c = this.driver?.conn;
    if (!c) return fn();
    c.pipelining = true;
    try {
      return await fn();
    } finally {
      c.pipelining = false;
    }
  }
}
