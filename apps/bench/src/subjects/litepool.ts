import { betterSqlite3 } from '@litepool/driver-better-sqlite3'
import { nodeSqlite } from '@litepool/driver-node-sqlite'
import { createPool, type Pool, silentLogger } from '@litepool/pool-core'
import type { AsyncSqliteConnection, SqliteConnection, SqliteDriver } from '@litepool/sqlite-base'
import { type Item, SQL } from '../model.js'
import type { ContentionWorker, Instance, OpenOptions, Subject } from './types.js'
import { packageVersion } from './versions.js'

const DEFAULT_READERS = 4

/** litepool's pool on one of its drivers, with its defaults (what `createPool` users get). */
function litepoolSubject<Raw>(
  id: string,
  label: string,
  driver: string,
  makeDriver: (filename: string) => SqliteDriver<Raw>,
): Subject {
  return {
    id,
    label,
    family: 'litepool',
    driver,
    config: {
      connections: `1 writer + readers { min: 1, max: ${DEFAULT_READERS} }`,
      journal_mode: 'WAL',
      synchronous: 'NORMAL (litepool default)',
      wal_autocheckpoint:
        '0: the pool checkpoints off the commit path, when idle or every second (litepool default, DESIGN.md)',
      busy_timeout: '5 ms + async BEGIN retry (litepool default)',
      statements: 'per-connection LRU cache (100)',
      'single insert': 'pool.write(): BEGIN IMMEDIATE … COMMIT (decision 0004)',
      'batch transaction': 'pool.write() (BEGIN IMMEDIATE)',
      'contention transaction': 'pool.transaction() (BEGIN IMMEDIATE on the writer lane)',
    },
    async open(filename: string, options: OpenOptions = {}): Promise<Instance> {
      const pool: Pool<SqliteConnection<Raw>, AsyncSqliteConnection> = createPool({
        driver: makeDriver(filename),
        readers: { min: 1, max: options.poolSize ?? DEFAULT_READERS },
        logger: silentLogger,
      })
      await pool.ready()
      const worker: ContentionWorker = {
        increment: (work, w) =>
          pool.transaction(async (tx) => {
            const n = tx.get<{ n: number }>(SQL.counterGet)?.n ?? 0
            await work()
            tx.run(SQL.counterSet, [n + 1])
            tx.run(SQL.eventInsert, [Date.now(), w])
          }),
        read: (itemId) => pool.read((c) => c.get<Item>(SQL.point, [itemId])),
        close: async () => {},
      }
      return {
        sync: false,
        pointSelect: (itemId) => pool.read((c) => c.get<Item>(SQL.point, [itemId])),
        rangeSelect: (from, count) =>
          pool.read((c) => c.all<Item>(SQL.range, [from, from + count])),
        insert: (item) => pool.write((c) => c.run(SQL.insert, item)),
        insertBatch: (items) =>
          pool.write((c) => {
            const insert = c.prepare(SQL.insert)
            for (const item of items) insert.run(item)
          }),
        worker: async () => worker,
        close: () => pool.close(),
      }
    },
  }
}

export const litepoolBetterSqlite3: Subject = litepoolSubject(
  'litepool-better-sqlite3',
  'litepool (better-sqlite3)',
  `better-sqlite3 ${packageVersion('better-sqlite3')}`,
  (filename) => betterSqlite3({ filename }),
)

export const litepoolNodeSqlite: Subject = litepoolSubject(
  'litepool-node-sqlite',
  'litepool (node:sqlite)',
  nodeSqliteBackend(),
  (filename) => nodeSqlite({ filename }),
)

/** Which binding the node-sqlite driver will use on this Node, with its version. */
function nodeSqliteBackend(): string {
  const backend = nodeSqlite({ filename: 'unused.db' }).backend
  return backend === 'node:sqlite'
    ? `node:sqlite (Node ${process.versions.node})`
    : `${backend} ${packageVersion(backend)}`
}
