/**
 * A bounded, content-addressed cache of loaded inputs (datasets, stored models, large task
 * arguments) for the long-lived workers that run many jobs: a worker thread of the model farm, an
 * `unlearn worker` process. Keys are content hashes (a split's fingerprint, a task input's
 * sha256, a model directory named by its job's manifest hash), so a hit is the same bytes a
 * reload would give and results stay identical to the uncached run. Entries are evicted least
 * recently used first once their total size passes the bound; an entry in use ({@link
 * InputCache.use}) is never evicted, and `dispose` (e.g. freeing a model's tensors) runs when an
 * entry leaves.
 */

/** Options of {@link InputCache}. */
export interface InputCacheOptions<V> {
  /** Bound on the sum of {@link InputCacheOptions.sizeOf} over the entries, bytes. */
  maxBytes: number;
  /** Approximate resident size of a value, bytes. */
  sizeOf: (v: V) => number;
  /** Called once when an entry is evicted or the cache is cleared. */
  dispose?: (v: V) => void;
}

/** Counts of a cache's use since it was made. */
export interface InputCacheStats {
  hits: number;
  misses: number;
  evictions: number;
  entries: number;
  bytes: number;
}

interface Entry<V> {
  value: Promise<V>;
  bytes: number;
  pins: number;
}

/** The bound of the input caches, bytes: `UNLEARN_INPUT_CACHE_MB` (default 512 MiB per cache; 0 disables caching). @throws Error on a value that is not a non-negative number. */
export function inputCacheBytes(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.UNLEARN_INPUT_CACHE_MB;
  if (v === undefined || v === '') return 512 * 2 ** 20;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`UNLEARN_INPUT_CACHE_MB=${v} is not a number of MiB ≥ 0; set e.g. UNLEARN_INPUT_CACHE_MB=512`);
  return Math.floor(n * 2 ** 20);
}

/** LRU cache of loaded values by content hash, bounded in bytes; concurrent loads of one key share one load. */
export class InputCache<V> {
  private readonly map = new Map<string, Entry<V>>();
  private readonly counts = { hits: 0, misses: 0, evictions: 0 };
  private bytes = 0;

  constructor(private readonly o: InputCacheOptions<V>) {}

  /**
   * The value under `key`, loading it with `load` on a miss. A failed load is not cached.
   * @returns the value and whether it came from the cache.
   */
  async get(key: string, load: () => Promise<V>): Promise<{ value: V; cached: boolean }> {
    return this.use(key, load, async (value, cached) => ({ value, cached }));
  }

  /** Run `fn` with the value under `key` (loaded on a miss), the entry pinned (not evicted) until `fn` settles. */
  async use<R>(key: string, load: () => Promise<V>, fn: (value: V, cached: boolean) => Promise<R>): Promise<R> {
    let e = this.map.get(key);
    const cached = !!e;
    if (e) {
      this.counts.hits++;
      this.map.delete(key); // re-insert: most recently used last
      this.map.set(key, e);
    } else {
      this.counts.misses++;
      const entry: Entry<V> = { value: load(), bytes: 0, pins: 0 };
      e = entry;
      this.map.set(key, entry);
      try {
        const v = await entry.value;
        entry.bytes = this.o.sizeOf(v);
        this.bytes += entry.bytes;
      } catch (err) {
        if (this.map.get(key) === entry) this.map.delete(key);
        throw err;
      }
    }
    e.pins++;
    try {
      const v = await e.value;
      this.evict();
      return await fn(v, cached);
    } finally {
      e.pins--;
      this.evict();
    }
  }

  /** Drop every entry not in use. */
  clear(): void {
    for (const [k, e] of [...this.map]) if (e.pins === 0) this.drop(k, e);
  }

  get stats(): InputCacheStats {
    return { ...this.counts, entries: this.map.size, bytes: this.bytes };
  }

  private evict(): void {
    for (const [k, e] of this.map) {
      if (this.bytes <= this.o.maxBytes) return;
      if (e.pins === 0 && e.bytes > 0) {
        this.drop(k, e);
        this.counts.evictions++;
      }
    }
  }

  private drop(key: string, e: Entry<V>): void {
    this.map.delete(key);
    this.bytes -= e.bytes;
    if (this.o.dispose) void e.value.then(this.o.dispose, () => undefined);
  }
}
