import Database from 'better-sqlite3'
import { type Generated, Kysely, SqliteDialect } from 'kysely'
import type { Item, NewItem } from '../model.js'
import { PEER_BUSY_TIMEOUT } from '../settings.js'
import { BETTER_SQLITE3_DEFAULT_BUSY_MS } from './better-sqlite3-connection.js'
import type { ContentionWorker, Instance, OpenOptions, Subject } from './types.js'
import { packageVersion } from './versions.js'

/** The bench schema as Kysely sees it. */
export interface BenchDatabase {
  items: {
    id: Generated<number>
    name: string
    email: string
    score: number
    created_at: number
    bio: string
  }
  counters: { id: number; n: number }
  events: { id: Generated<number>; at: number; worker: number }
}

function row(item: NewItem) {
  const [name, email, score, created_at, bio] = item
  return { name, email, score, created_at, bio }
}

/**
 * The operations on a Kysely instance, written with the query builder as users do. Shared with
 * issue 7's Kysely suite, which runs the same queries through `@litepool/kysely` next to this.
 */
export function kyselyInstance(db: Kysely<BenchDatabase>, onClose: () => Promise<void>): Instance {
  const pointSelect = (id: number): Promise<Item | undefined> =>
    db.selectFrom('items').selectAll().where('id', '=', id).executeTakeFirst()
  const worker: ContentionWorker = {
    increment: (work, w) =>
      db.transaction().execute(async (trx) => {
        const counter = await trx
          .selectFrom('counters')
          .select('n')
          .where('id', '=', 1)
          .executeTakeFirst()
        await work()
        await trx
          .updateTable('counters')
          .set({ n: (counter?.n ?? 0) + 1 })
          .where('id', '=', 1)
          .execute()
        await trx.insertInto('events').values({ at: Date.now(), worker: w }).execute()
      }),
    read: pointSelect,
    close: async () => {},
  }
  return {
    sync: false,
    pointSelect,
    rangeSelect: (from, count) =>
      db
        .selectFrom('items')
        .selectAll()
        .where('id', '>=', from)
        .where('id', '<', from + count)
        .orderBy('id')
        .execute(),
    insert: (item) => db.insertInto('items').values(row(item)).executeTakeFirstOrThrow(),
    insertBatch: (items) =>
      db.transaction().execute(async (trx) => {
        for (const item of items) await trx.insertInto('items').values(row(item)).execute()
      }),
    worker: async () => worker,
    close: onClose,
  }
}

/** Kysely's built-in SqliteDialect on better-sqlite3 (one connection behind a mutex). */
export const kyselySubject: Subject = {
  id: 'kysely',
  label: 'Kysely SqliteDialect',
  family: 'builder',
  driver: `better-sqlite3 ${packageVersion('better-sqlite3')}, kysely ${packageVersion('kysely')}`,
  config: {
    connections: '1 (SqliteDialect serialises every query through a mutex)',
    journal_mode: 'WAL',
    synchronous: 'NORMAL',
    wal_autocheckpoint: '1000 pages (SQLite default)',
    busy_timeout: PEER_BUSY_TIMEOUT,
    statements: 'query builder; SqliteDialect prepares each query',
    'batch transaction': 'db.transaction() (BEGIN)',
  },
  async open(filename: string, options: OpenOptions = {}): Promise<Instance> {
    const database = new Database(filename, {
      timeout: options.busyTimeoutMs ?? BETTER_SQLITE3_DEFAULT_BUSY_MS,
    })
    database.pragma('journal_mode = WAL')
    database.pragma('synchronous = NORMAL')
    const db = new Kysely<BenchDatabase>({ dialect: new SqliteDialect({ database }) })
    return kyselyInstance(db, () => db.destroy())
  },
}
