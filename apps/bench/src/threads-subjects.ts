/**
 * The subjects of the threads suite: each bench subject reduced to what its cells run — a point
 * select, the slow aggregate, a single-row update and insert — written as that subject's users
 * would write them, on the subject's own configuration (pragmas, pool sizes), plus what the
 * suite reads of litepool (worker readers open, statements routed to workers).
 */
import { betterSqlite3 } from '@litepool/driver-better-sqlite3'
import { nodeSqlite } from '@litepool/driver-node-sqlite'
import { createPool, type Pool, silentLogger } from '@litepool/pool-core'
import type { AsyncSqliteConnection, SqliteConnection, SqliteDriver } from '@litepool/sqlite-base'
import { createConnectionPool, sql as spSql } from '@matteo.collina/sqlite-pool'
import type Database from 'better-sqlite3'
import { sql } from 'kysely'
import { kyselyLitepoolSubject, openBuiltinKysely, openLitepoolKysely } from './kysely.bench.js'
import { type Item, type NewItem, SQL } from './model.js'
import { BetterSqlite3Connection } from './subjects/better-sqlite3-connection.js'
import {
  type Borrow,
  genericPoolBorrow,
  genericPoolSubject,
  tarnBorrow,
  tarnSubject,
} from './subjects/generic-pools.js'
import type { SubjectInfo } from './subjects/index.js'
import { knexClient, knexSubject } from './subjects/knex.js'
import type { BenchDatabase } from './subjects/kysely.js'
import { kyselySubject } from './subjects/kysely.js'
import { litepoolBetterSqlite3, litepoolNodeSqlite } from './subjects/litepool.js'
import { rawBetterSqlite3 } from './subjects/raw-better-sqlite3.js'
import { load, rawNodeSqlite, type StatementSync } from './subjects/raw-node-sqlite.js'
import { sqlitePoolSubject } from './subjects/sqlite-pool.js'

/**
 * The slow read: an aggregate over the items table with a filter no index can serve
 * (`lower(bio) like …` on every row of an id range); the range is calibrated so that one run
 * takes ~15 ms on the machine (see `calibrate` in the suite). One SQL text, so litepool's
 * router sees one statement.
 */
export const SLOW_SQL =
  'select count(*) as n, sum(length(bio)) as s from items where id <= ? and lower(bio) like ?'
export const SLOW_PATTERN = '%a%9%'
/** The write of the 90/10 cell: one row's score + 1 (the sum of scores counts the writes). */
export const UPDATE_SQL = 'update items set score = score + 1 where id = ?'

/** The slow read's row. */
export interface SlowRow {
  readonly n: number
  readonly s: number
}

/** An open subject of the threads suite. Every method returns a promise (awaited by its caller). */
export interface MixInstance {
  point(id: number): Promise<Item | undefined>
  slow(bound: number): Promise<SlowRow | undefined>
  /** Single-row update in its own transaction (litepool: pool.write; raw: autocommit). */
  update(id: number): Promise<unknown>
  /** Single-row insert in its own transaction. */
  insert(item: NewItem): Promise<unknown>
  /** litepool: `pool.status().workers.open`; undefined for the others. */
  workersOpen(): number | undefined
  /** litepool: `pool.slowStatements`; undefined for the others. */
  slowStatements(): readonly string[] | undefined
  close(): Promise<void>
}

/** A subject of the threads suite, with its configuration as the report states it. */
export interface MixSubject extends SubjectInfo {
  open(filename: string): Promise<MixInstance>
}

const LITEPOOL_THREADS = {
  workers:
    '{ min: 0, max: 2 here (availableParallelism clamped to 1..4), route: auto, slowMs: 1 } (litepool default)',
  'threads suite calls':
    'pool.get(sql, params) for point and slow reads (routed: main thread until a statement averages > slowMs, then a worker); pool.write(c => c.run(…)) for writes',
  'pool options':
    'createPool({ driver, logger: silentLogger }) — every other option at its default',
}

function describe(
  base: SubjectInfo,
  extra: Readonly<Record<string, string>>,
): Omit<MixSubject, 'open'> {
  const { id, label, family, driver } = base
  return { id, label, family, driver, config: { ...base.config, ...extra } }
}

/** A litepool pool on one of the SQLite drivers, as the threads suite uses it. */
export type LitepoolPool = Pool<SqliteConnection, AsyncSqliteConnection>

/** litepool with its defaults (workers included) on a driver: `createPool({ driver, logger })`. */
export async function openLitepool(driver: SqliteDriver<unknown>): Promise<LitepoolPool> {
  const pool: LitepoolPool = createPool({ driver, logger: silentLogger })
  await pool.ready()
  return pool
}

/** How each litepool subject opens its pool on a file. */
export const LITEPOOL_DRIVERS: Readonly<
  Record<string, (filename: string) => SqliteDriver<unknown>>
> = {
  [litepoolBetterSqlite3.id]: (filename) => betterSqlite3({ filename }),
  [litepoolNodeSqlite.id]: (filename) => nodeSqlite({ filename }),
}

function litepool(base: SubjectInfo): MixSubject {
  const driver = LITEPOOL_DRIVERS[base.id]!
  return {
    ...describe(base, {
      ...LITEPOOL_THREADS,
      connections: '1 writer + readers { min: 1, max: 4 } (default) + worker readers (above)',
    }),
    async open(filename) {
      const pool = await openLitepool(driver(filename))
      return {
        point: (id) => pool.get<Item>(SQL.point, [id]),
        slow: (bound) => pool.get<SlowRow>(SLOW_SQL, [bound, SLOW_PATTERN]),
        update: (id) => pool.write((c) => c.run(UPDATE_SQL, [id])),
        insert: (item) => pool.write((c) => c.run(SQL.insert, item)),
        workersOpen: () => pool.status().workers.open,
        slowStatements: () => pool.slowStatements,
        close: () => pool.close(),
      }
    },
  }
}

const SYNC_ON_MAIN = 'on the main thread; the caller awaits each call'
const none = () => undefined

/** Raw better-sqlite3: one connection, prepared statements, sync calls that the callers await. */
const raw: MixSubject = {
  ...describe(rawBetterSqlite3, {
    'threads suite calls': `await stmt.get()/stmt.run() (${SYNC_ON_MAIN})`,
    connections: '1',
  }),
  async open(filename) {
    const c = new BetterSqlite3Connection(filename)
    const slow = c.db.prepare<[number, string], SlowRow>(SLOW_SQL)
    const update = c.db.prepare<[number]>(UPDATE_SQL)
    return {
      point: async (id) => c.point.get(id),
      slow: async (bound) => slow.get(bound, SLOW_PATTERN),
      update: async (id) => update.run(id),
      insert: async (item) => c.insertStmt.run(...item),
      workersOpen: none,
      slowStatements: none,
      close: async () => c.close(),
    }
  },
}

/** Raw node:sqlite (the shim on Node 20): one connection, statements prepared once. */
const rawNode: MixSubject = {
  ...describe(rawNodeSqlite, {
    'threads suite calls': `await stmt.get()/stmt.run() (${SYNC_ON_MAIN})`,
    connections: '1',
  }),
  async open(filename) {
    const DatabaseSync = await load()
    const db = new DatabaseSync(filename, { timeout: 5000 })
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL')
    const prepared = (text: string): StatementSync => db.prepare(text)
    const point = prepared(SQL.point)
    const slow = prepared(SLOW_SQL)
    const update = prepared(UPDATE_SQL)
    const insert = prepared(SQL.insert)
    return {
      point: async (id) => point.get(id) as Item | undefined,
      slow: async (bound) => slow.get(bound, SLOW_PATTERN) as SlowRow | undefined,
      update: async (id) => update.run(id),
      insert: async (item) => insert.run(...item),
      workersOpen: none,
      slowStatements: none,
      close: async () => db.close(),
    }
  },
}

const slowStatements = new WeakMap<
  BetterSqlite3Connection,
  Database.Statement<[number, string], SlowRow>
>()
function slowOn(c: BetterSqlite3Connection): Database.Statement<[number, string], SlowRow> {
  let stmt = slowStatements.get(c)
  if (stmt === undefined) {
    stmt = c.db.prepare<[number, string], SlowRow>(SLOW_SQL)
    slowStatements.set(c, stmt)
  }
  return stmt
}

/** A generic pool of better-sqlite3 connections: borrow, run the sync statement, give back. */
function pooled(base: SubjectInfo, borrow: (filename: string) => Promise<Borrow>): MixSubject {
  return {
    ...describe(base, {
      'threads suite calls': `pool.use(c => stmt.get()) (${SYNC_ON_MAIN})`,
    }),
    async open(filename) {
      const pool = await borrow(filename)
      return {
        point: (id) => pool.use((c) => c.point.get(id)),
        slow: (bound) => pool.use((c) => slowOn(c).get(bound, SLOW_PATTERN)),
        update: (id) => pool.use((c) => c.db.prepare(UPDATE_SQL).run(id)),
        insert: (item) => pool.use((c) => c.insert(item)),
        workersOpen: none,
        slowStatements: none,
        close: () => pool.close(),
      }
    },
  }
}

/** Kysely's query builder: the point select and the slow aggregate. */
function kyselyReads(db: import('kysely').Kysely<BenchDatabase>) {
  return {
    point: (id: number): Promise<Item | undefined> =>
      db.selectFrom('items').selectAll().where('id', '=', id).executeTakeFirst(),
    slow: (bound: number): Promise<SlowRow | undefined> =>
      db
        .selectFrom('items')
        .select([sql<number>`count(*)`.as('n'), sql<number>`sum(length(bio))`.as('s')])
        .where('id', '<=', bound)
        .where(sql<string>`lower(bio)`, 'like', SLOW_PATTERN)
        .executeTakeFirst(),
    update: (id: number) =>
      db
        .updateTable('items')
        .set((eb) => ({ score: eb('score', '+', 1) }))
        .where('id', '=', id)
        .executeTakeFirst(),
    insert: (item: NewItem) => {
      const [name, email, score, created_at, bio] = item
      return db
        .insertInto('items')
        .values({ name, email, score, created_at, bio })
        .executeTakeFirstOrThrow()
    },
  }
}

const kysely: MixSubject = {
  ...describe(kyselySubject, {
    'threads suite calls': `query builder: selectFrom(…).executeTakeFirst() (${SYNC_ON_MAIN} under SqliteDialect's mutex)`,
  }),
  async open(filename) {
    const db = openBuiltinKysely(filename)
    return {
      ...kyselyReads(db),
      workersOpen: none,
      slowStatements: none,
      close: () => db.destroy(),
    }
  },
}

const kyselyLitepool: MixSubject = {
  ...describe(kyselyLitepoolSubject, {
    workers: LITEPOOL_THREADS.workers,
    'threads suite calls':
      'query builder: selectFrom(…).executeTakeFirst() (the dialect routes selects like pool.get, when the built @litepool/kysely does)',
  }),
  async open(filename) {
    const { db, pool, close } = await openLitepoolKysely(filename)
    return {
      ...kyselyReads(db),
      workersOpen: () => pool.status().workers.open,
      slowStatements: () => pool.slowStatements,
      close,
    }
  },
}

const knex: MixSubject = {
  ...describe(knexSubject, {
    'threads suite calls': `knex('items').where(…).first() (${SYNC_ON_MAIN})`,
  }),
  async open(filename) {
    const k = knexClient(filename)
    return {
      point: (id) => k('items').where('id', id).first() as Promise<Item | undefined>,
      slow: (bound) =>
        k('items')
          .select(k.raw('count(*) as n'), k.raw('sum(length(bio)) as s'))
          .where('id', '<=', bound)
          .andWhereRaw('lower(bio) like ?', [SLOW_PATTERN])
          .first() as Promise<SlowRow | undefined>,
      update: (id) => k('items').where('id', id).increment('score', 1),
      insert: (item) => {
        const [name, email, score, created_at, bio] = item
        return k('items').insert({ name, email, score, created_at, bio })
      },
      workersOpen: none,
      slowStatements: none,
      close: () => k.destroy(),
    }
  },
}

const sqlitePool: MixSubject = {
  ...describe(sqlitePoolSubject, {
    'threads suite calls': `db.query(sql\`…\`) (${SYNC_ON_MAIN})`,
  }),
  async open(filename) {
    const db = createConnectionPool(filename, { timeout: 5000 }, { maxSize: 5 })
    return {
      point: async (id) =>
        (await db.query(spSql`select * from items where id = ${id}`))[0] as Item | undefined,
      slow: async (bound) =>
        (
          await db.query(
            spSql`select count(*) as n, sum(length(bio)) as s from items where id <= ${bound} and lower(bio) like ${SLOW_PATTERN}`,
          )
        )[0] as SlowRow | undefined,
      update: (id) => db.query(spSql`update items set score = score + 1 where id = ${id}`),
      insert: (item) => {
        const [name, email, score, createdAt, bio] = item
        return db.query(
          spSql`insert into items (name, email, score, created_at, bio) values (${name}, ${email}, ${score}, ${createdAt}, ${bio})`,
        )
      },
      workersOpen: none,
      slowStatements: none,
      close: () => db.dispose(),
    }
  },
}

/** Every subject of the threads suite, in report order (litepool first, then the peers). */
export const MIX_SUBJECTS: readonly MixSubject[] = [
  litepool(litepoolBetterSqlite3),
  litepool(litepoolNodeSqlite),
  raw,
  rawNode,
  pooled(genericPoolSubject, (filename) => genericPoolBorrow(filename)),
  pooled(tarnSubject, async (filename) => tarnBorrow(filename)),
  kysely,
  kyselyLitepool,
  knex,
  sqlitePool,
]
