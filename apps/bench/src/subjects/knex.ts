import knexFactory, { type Knex } from 'knex'
import type { Item, NewItem } from '../model.js'
import { PEER_BUSY_TIMEOUT } from '../settings.js'
import type { ContentionWorker, Instance, OpenOptions, Subject } from './types.js'
import { packageVersion } from './versions.js'

function row(item: NewItem) {
  const [name, email, score, created_at, bio] = item
  return { name, email, score, created_at, bio }
}

/** knex with its better-sqlite3 client; knex pools SQLite as { min: 1, max: 1 } by default. */
export const knexSubject: Subject = {
  id: 'knex',
  label: 'knex + better-sqlite3',
  family: 'builder',
  driver: `better-sqlite3 ${packageVersion('better-sqlite3')}, knex ${packageVersion('knex')}`,
  config: {
    connections: '1 (knex pool default for SQLite: { min: 1, max: 1 })',
    journal_mode: 'WAL (pool.afterCreate, as the knex docs show)',
    synchronous: 'NORMAL (pool.afterCreate)',
    wal_autocheckpoint: '1000 pages (SQLite default)',
    busy_timeout: PEER_BUSY_TIMEOUT,
    statements: 'query builder; the client prepares each query',
    'batch transaction': 'knex.transaction() (BEGIN)',
  },
  async open(filename: string, options: OpenOptions = {}): Promise<Instance> {
    const knex = knexClient(filename, options)
    const pointSelect = (id: number): Promise<Item | undefined> =>
      knex('items').where('id', id).first() as Promise<Item | undefined>
    const worker: ContentionWorker = {
      increment: (work, w) =>
        knex.transaction(async (trx) => {
          const counter = (await trx('counters').select('n').where('id', 1).first()) as
            | { n: number }
            | undefined
          await work()
          await trx('counters')
            .update({ n: (counter?.n ?? 0) + 1 })
            .where('id', 1)
          await trx('events').insert({ at: Date.now(), worker: w })
        }),
      read: pointSelect,
      close: async () => {},
    }
    return {
      sync: false,
      pointSelect,
      rangeSelect: (from, count) =>
        knex('items')
          .where('id', '>=', from)
          .andWhere('id', '<', from + count)
          .orderBy('id') as unknown as Promise<Item[]>,
      insert: (item) => knex('items').insert(row(item)),
      insertBatch: (items) =>
        knex.transaction(async (trx) => {
          for (const item of items) await trx('items').insert(row(item))
        }),
      worker: async () => worker,
      close: () => knex.destroy(),
    }
  },
}

/** The knex instance the subject opens: better-sqlite3 client, WAL and NORMAL set in afterCreate. */
export function knexClient(filename: string, options: OpenOptions = {}): Knex {
  return knexFactory({
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    pool: {
      ...(options.poolSize === undefined ? {} : { max: options.poolSize + 1 }),
      afterCreate(
        connection: { pragma(source: string): unknown },
        done: (error: Error | null, connection: unknown) => void,
      ) {
        connection.pragma('journal_mode = WAL')
        connection.pragma('synchronous = NORMAL')
        if (options.busyTimeoutMs !== undefined) {
          connection.pragma(`busy_timeout = ${options.busyTimeoutMs}`)
        }
        done(null, connection)
      },
    },
  })
}
