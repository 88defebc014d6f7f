import { createConnectionPool, sql } from '@matteo.collina/sqlite-pool'
import type { Item, NewItem } from '../model.js'
import { PEER_BUSY_TIMEOUT } from '../settings.js'
import { BETTER_SQLITE3_DEFAULT_BUSY_MS } from './better-sqlite3-connection.js'
import type { ContentionWorker, Instance, OpenOptions, Subject } from './types.js'
import { packageVersion } from './versions.js'

const DEFAULT_SIZE = 5

function insertQuery(item: NewItem) {
  const [name, email, score, createdAt, bio] = item
  return sql`insert into items (name, email, score, created_at, bio) values (${name}, ${email}, ${score}, ${createdAt}, ${bio})`
}

/**
 * @matteo.collina/sqlite-pool (the @databases pool API on better-sqlite3). It has no per-connection
 * setup hook, so connections keep SQLite's defaults apart from WAL, which the file already has.
 */
export const sqlitePoolSubject: Subject = {
  id: 'sqlite-pool',
  label: '@matteo.collina/sqlite-pool',
  family: 'pool',
  driver: `better-sqlite3 ${packageVersion('better-sqlite3')}, @matteo.collina/sqlite-pool ${packageVersion('@matteo.collina/sqlite-pool')}`,
  config: {
    connections: `{ maxSize: ${DEFAULT_SIZE} } (library default: unbounded)`,
    journal_mode: 'WAL (persisted in the file)',
    synchronous: 'FULL (SQLite default: the library has no per-connection setup hook)',
    wal_autocheckpoint: '1000 pages (SQLite default)',
    busy_timeout: PEER_BUSY_TIMEOUT,
    statements: 'prepared on every query (the library does not cache)',
    'batch transaction': 'db.tx() (BEGIN)',
  },
  async open(filename: string, options: OpenOptions = {}): Promise<Instance> {
    const db = createConnectionPool(
      filename,
      { timeout: options.busyTimeoutMs ?? BETTER_SQLITE3_DEFAULT_BUSY_MS },
      { maxSize: options.poolSize === undefined ? DEFAULT_SIZE : options.poolSize + 1 },
    )
    const pointSelect = async (id: number): Promise<Item | undefined> =>
      (await db.query(sql`select * from items where id = ${id}`))[0] as Item | undefined
    const worker: ContentionWorker = {
      increment: (work, w) =>
        db.tx(async (tx) => {
          const [counter] = (await tx.query(sql`select n from counters where id = 1`)) as {
            n: number
          }[]
          await work()
          await tx.query(sql`update counters set n = ${(counter?.n ?? 0) + 1} where id = 1`)
          await tx.query(sql`insert into events (at, worker) values (${Date.now()}, ${w})`)
        }),
      read: pointSelect,
      close: async () => {},
    }
    return {
      sync: false,
      pointSelect,
      rangeSelect: async (from, count) =>
        (await db.query(
          sql`select * from items where id >= ${from} and id < ${from + count} order by id`,
        )) as Item[],
      insert: (item) => db.query(insertQuery(item)),
      insertBatch: (items) =>
        db.tx(async (tx) => {
          for (const item of items) await tx.query(insertQuery(item))
        }),
      worker: async () => worker,
      close: () => db.dispose(),
    }
  },
}
