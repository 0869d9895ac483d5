// The SQLite connection of src/store/sqliteThread.ts, on its own thread: opens the database
// (WAL, synchronous=FULL, foreign keys, busy timeout), keeps prepared statements by SQL text,
// and runs one statement per message, answering {id, rows} / {id, changes, lastInsertRowid} /
// {id, error}. Plain JS so it starts under any launcher.
//
// A message marked `pipelined` was sent without its sender waiting for the answer. If it fails,
// the transaction is poisoned: every later statement fails with that error until `rollback` (or
// a new `begin`), so a `commit` can never make the rest of a transaction durable without it.
import { parentPort, workerData } from 'node:worker_threads';
import Sqlite from 'better-sqlite3';

let db;
const cache = new Map();
const MAX_STATEMENTS = 512;

function prepare(sql) {
  let st = cache.get(sql);
  if (st) cache.delete(sql);
  else {
    st = db.prepare(sql);
    if (cache.size >= MAX_STATEMENTS) cache.delete(cache.keys().next().value);
  }
  cache.set(sql, st);
  return st;
}

const errorOf = (e) => ({ message: e?.message ?? String(e), code: e?.code });
let poisoned = null;

try {
  db = new Sqlite(workerData.path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  parentPort.postMessage({ id: 0, opened: true });
} catch (e) {
  parentPort.postMessage({ id: 0, error: errorOf(e) });
}

parentPort.on('message', (m) => {
  if (m.close) {
    try {
      db?.close();
    } finally {
      parentPort.postMessage({ id: m.id, closed: true });
      parentPort.close();
    }
    return;
  }
  const verb = /^\s*(\w+)/.exec(m.sql)?.[1]?.toLowerCase();
  if (verb === 'rollback' || verb === 'begin') poisoned = null;
  else if (poisoned) {
    parentPort.postMessage({ id: m.id, error: { message: `an earlier statement of this transaction failed: ${poisoned.message}`, code: poisoned.code } });
    return;
  }
  try {
    const st = prepare(m.sql);
    if (st.reader) parentPort.postMessage({ id: m.id, rows: st.all(m.params) });
    else {
      const r = st.run(m.params);
      parentPort.postMessage({ id: m.id, changes: r.changes, lastInsertRowid: r.lastInsertRowid });
    }
  } catch (e) {
    if (m.pipelined) poisoned = errorOf(e);
    parentPort.postMessage({ id: m.id, error: errorOf(e) });
  }
});
