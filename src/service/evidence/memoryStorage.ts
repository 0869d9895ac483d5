/**
 * A {@link LogStorage} held in memory: for tests and for verifying an exported log offline.
 * The service's store implements the same interface over its database table.
 */
import { UnlearnError } from '../../errors.js';
import type { LogRecord, LogStorage, StoredLogEntry } from './log.js';

export class MemoryLogStorage implements LogStorage {
  /** The rows, index order; tests may tamper with them directly. */
  readonly rows: StoredLogEntry[] = [];

  async append(record: LogRecord, json: string, leafHash: Uint8Array): Promise<number> {
    if (record.index !== this.rows.length) {
      throw new UnlearnError('INVALID_PARAMS', `log index ${record.index} is taken or out of sequence (size ${this.rows.length})`, 're-read the size and retry');
    }
    this.rows.push({ index: record.index, json, leafHash });
    return record.index;
  }

  async size(): Promise<number> {
    return this.rows.length;
  }

  async leafHashes(from: number, to: number): Promise<Uint8Array[]> {
    return this.rows.slice(from, to).map((r) => r.leafHash);
  }

  async entries(from: number, to: number): Promise<StoredLogEntry[]> {
    return this.rows.slice(from, to).map((r) => ({ ...r }));
  }
}
