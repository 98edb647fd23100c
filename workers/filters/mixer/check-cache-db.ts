// Where the check cache lives: the `checkcache` database of the proxy's LMDB
// environment (DESIGN.md §4-5), shared by every worker thread of the proxy and
// kept across worker restarts. A worker thread reuses the ProxyStore it
// already opened; the --workers 1 data plane (whose config store is in
// memory) opens the environment in the data directory itself, on the first
// policy filter only, so a proxy without policy never loads lmdb there.
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';

/** The part of lmdb-js's Database the cache uses. */
export interface CheckCacheDb {
  get(key: string): unknown;
  put(key: string, value: unknown): unknown;
  remove(key: string): unknown;
  getRange(options: { start?: string; end?: string; limit?: number }): Iterable<{ key: unknown; value: unknown }>;
  transactionSync<T>(fn: () => T): T;
  /** Runs fn inside the next asynchronous write transaction (committed and flushed on lmdb-js's write thread). */
  transaction<T>(fn: () => T): Promise<T>;
  resetReadTxn(): void;
}

let opener: (() => CheckCacheDb | null) | null = null;
let opened: CheckCacheDb | null | undefined;

/** Tells this thread how to reach the database: a store with `checkcache`, or the data directory to open. */
export function configureCheckCacheDb(store: unknown, dataDir: string): void {
  opened = undefined;
  const db = (store as { checkcache?: CheckCacheDb }).checkcache;
  opener = db !== undefined ? () => db : () => openInDir(dataDir);
}

/** The database, opened on first use; null when this thread has none (a unit test's data plane): then the cache is per worker. */
export function checkCacheDb(): CheckCacheDb | null {
  if (opened !== undefined) return opened;
  try {
    opened = opener === null ? null : opener();
  } catch {
    opened = null;
  }
  return opened;
}

function openInDir(dataDir: string): CheckCacheDb | null {
  if (dataDir === '') return null;
  mkdirSync(dataDir, { recursive: true });
  const lmdb = createRequire(import.meta.url)('lmdb') as typeof import('lmdb');
  // The same options as ProxyStore.open, so another thread's ProxyStore shares the environment.
  const env = lmdb.open(dataDir, { maxDbs: 8, mapSize: 64 * 1024 * 1024, noSubdir: false });
  return env.openDB<unknown, string>({ name: 'checkcache', encoding: 'msgpack' }) as unknown as CheckCacheDb;
}
