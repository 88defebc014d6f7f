import genericPool from 'generic-pool'
import { Pool as TarnPool } from 'tarn'
import type { Item, NewItem } from '../model.js'
import { PEER_BUSY_TIMEOUT } from '../settings.js'
import {
  BETTER_SQLITE3_DEFAULT_BUSY_MS,
  BetterSqlite3Connection,
} from './better-sqlite3-connection.js'
import type { ContentionWorker, Instance, OpenOptions, Subject } from './types.js'
import { packageVersion } from './versions.js'

/** Connections of a generic pool: litepool's default 1 writer + 4 readers. */
const DEFAULT_SIZE = 5

/** What both generic pools reduce to: borrow a connection, use it, give it back. */
export interface Borrow {
  use<T>(fn: (connection: BetterSqlite3Connection) => T | Promise<T>): Promise<T>
  close(): Promise<void>
}

function instanceOn(pool: Borrow): Instance {
  const worker: ContentionWorker = {
    increment: (work, w) => pool.use((c) => c.increment(work, w)),
    read: (id) => pool.use((c) => c.pointSelect(id)),
    close: async () => {},
  }
  return {
    sync: false,
    pointSelect: (id): Promise<Item | undefined> => pool.use((c) => c.pointSelect(id)),
    rangeSelect: (from, count) => pool.use((c) => c.rangeSelect(from, count)),
    insert: (item: NewItem) => pool.use((c) => c.insert(item)),
    insertBatch: (items) => pool.use((c) => c.insertBatch(items)),
    worker: async () => worker,
    close: () => pool.close(),
  }
}

function sharedConfig(size: string): Record<string, string> {
  return {
    connections: size,
    journal_mode: 'WAL (set on every connection)',
    synchronous: 'NORMAL',
    wal_autocheckpoint: '1000 pages (SQLite default)',
    busy_timeout: PEER_BUSY_TIMEOUT,
    statements: 'prepared once per connection, reused',
    'single insert': 'autocommit',
    'batch transaction': 'db.transaction() (BEGIN DEFERRED)',
    'contention transaction': 'BEGIN … await … COMMIT by hand (deferred)',
  }
}

/** generic-pool 3 around better-sqlite3, as its README sets up a pool (factory + min/max). */
export const genericPoolSubject: Subject = {
  id: 'generic-pool',
  label: 'generic-pool + better-sqlite3',
  family: 'pool',
  driver: `better-sqlite3 ${packageVersion('better-sqlite3')}, generic-pool ${packageVersion('generic-pool')}`,
  config: sharedConfig(`{ min: 1, max: ${DEFAULT_SIZE} }`),
  async open(filename: string, options: OpenOptions = {}): Promise<Instance> {
    return instanceOn(await genericPoolBorrow(filename, options))
  },
}

/** tarn 3 (knex's pool) around better-sqlite3. */
export const tarnSubject: Subject = {
  id: 'tarn',
  label: 'tarn + better-sqlite3',
  family: 'pool',
  driver: `better-sqlite3 ${packageVersion('better-sqlite3')}, tarn ${packageVersion('tarn')}`,
  config: sharedConfig(`{ min: 1, max: ${DEFAULT_SIZE} }`),
  async open(filename: string, options: OpenOptions = {}): Promise<Instance> {
    return instanceOn(tarnBorrow(filename, options))
  },
}

/** generic-pool 3 of better-sqlite3 connections, as the subject opens it (`min: 1, max: 5`). */
export async function genericPoolBorrow(
  filename: string,
  options: OpenOptions = {},
): Promise<Borrow> {
  const busy = options.busyTimeoutMs ?? BETTER_SQLITE3_DEFAULT_BUSY_MS
  const pool = genericPool.createPool<BetterSqlite3Connection>(
    {
      create: async () => new BetterSqlite3Connection(filename, busy, options.beginImmediate),
      destroy: async (c) => c.close(),
    },
    { min: 1, max: options.poolSize === undefined ? DEFAULT_SIZE : options.poolSize + 1 },
  )
  await pool.ready()
  return {
    use: (fn) => pool.use(async (c) => fn(c)),
    close: async () => {
      await pool.drain()
      await pool.clear()
    },
  }
}

/** tarn 3 of better-sqlite3 connections, as the subject opens it (`min: 1, max: 5`). */
export function tarnBorrow(filename: string, options: OpenOptions = {}): Borrow {
  const busy = options.busyTimeoutMs ?? BETTER_SQLITE3_DEFAULT_BUSY_MS
  const pool = new TarnPool<BetterSqlite3Connection>({
    create: async () => new BetterSqlite3Connection(filename, busy, options.beginImmediate),
    destroy: (c) => c.close(),
    min: 1,
    max: options.poolSize === undefined ? DEFAULT_SIZE : options.poolSize + 1,
  })
  return {
    async use(fn) {
      const connection = await pool.acquire().promise
      try {
        return await fn(connection)
      } finally {
        pool.release(connection)
      }
    },
    close: async () => {
      await pool.destroy()
    },
  }
}
