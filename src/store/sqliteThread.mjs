// The SQLite connection of src/store/sqliteThread.ts, on its own thread: opens the database
// (WAL, synchronous=FULL, foreign keys, busy timeout), keeps prepared statements by SQL text,
// and runs one statement per message, answering {id, rows} / {id, changes, lastInsertRowid} /
// {id, error}. Plain JS so it starts under any launcher.
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
  try {
    const st = prepare(m.sql);
    if (st.reader) parentPort.postMessage({ id: m.id, rows: st.all(m.params) });
    else {
      const r = st.run(m.params);
      parentPort.postMessage({ id: m.id, changes: r.changes, lastInsertRowid: r.lastInsertRowid });
    }
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: errorOf(e) });
  }
});
