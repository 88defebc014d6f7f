import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { betterSqlite3 } from '@litepool/driver-better-sqlite3'
import { nodeSqlite } from '@litepool/driver-node-sqlite'
import { LitepoolDialect, type LitepoolDialectConfig } from '@litepool/kysely'
import { createPool, type Pool, type PoolOptions, silentLogger } from '@litepool/pool-core'
import type {
  AsyncSqliteConnection,
  SqliteConnection,
  SqliteDriver,
  SqliteDriverOptions,
} from '@litepool/sqlite-base'
import { type Generated, Kysely } from 'kysely'
import { afterEach } from 'vitest'

/** The schema most tests use. */
export interface Database {
  person: { id: Generated<number>; name: string; age: number | null }
  pet: { id: Generated<number>; owner_id: number; species: string }
  counter: { id: number; value: number }
}

export interface TestDriver {
  readonly variant: string
  readonly driver: (options: SqliteDriverOptions) => SqliteDriver
}

const ALL_DRIVERS: readonly TestDriver[] = [
  { variant: 'better-sqlite3', driver: (o) => betterSqlite3(o) as SqliteDriver },
  { variant: 'node-sqlite', driver: (o) => nodeSqlite(o) as SqliteDriver },
]

/** One entry per litepool SQLite driver; `LITEPOOL_KYSELY_DRIVERS=better-sqlite3` limits the run. */
export const DRIVERS: readonly TestDriver[] = ALL_DRIVERS.filter((d) => {
  const only = process.env.LITEPOOL_KYSELY_DRIVERS?.split(',')
  return only === undefined || only.includes(d.variant)
})

export type TestPool = Pool<SqliteConnection, AsyncSqliteConnection>
type Driver = TestDriver

const cleanups: (() => Promise<void> | void)[] = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A fresh directory, removed after the test (after every pool and Kysely instance is closed). */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'litepool-kysely-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Runs `fn` after the test, in reverse order of registration. */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn)
}

/** A pool on a new database file in a temp dir, closed after the test. */
export function makePool(
  d: Driver,
  options: Omit<PoolOptions<SqliteConnection>, 'driver'> & {
    driverOptions?: Partial<SqliteDriverOptions>
  } = {},
): TestPool {
  const dir = tempDir()
  const { driverOptions, ...poolOptions } = options
  const pool = createPool({
    logger: silentLogger,
    readers: { min: 1, max: 4 },
    ...poolOptions,
    driver: d.driver({ filename: join(dir, 'test.db'), ...driverOptions }),
  })
  cleanups.push(() => pool.close())
  return pool
}

/** A Kysely instance on `pool` (borrowed), destroyed after the test. */
export function makeDb<DB = Database>(
  pool: TestPool,
  config: Omit<LitepoolDialectConfig, 'pool' | 'poolOptions'> = {},
): Kysely<DB> {
  const db = new Kysely<DB>({ dialect: new LitepoolDialect({ ...config, pool }) })
  cleanups.push(() => db.destroy())
  return db
}

/** Names of the people added after `seed` (ids above its three), in insertion order. */
export async function addedNames(db: Kysely<Database>): Promise<string[]> {
  const rows = await db
    .selectFrom('person')
    .select('name')
    .where('id', '>', 3)
    .orderBy('id')
    .execute()
  return rows.map((r) => r.name)
}

/** Creates the test schema with a few people and pets. */
export async function seed(db: Kysely<Database>): Promise<void> {
  await db.schema
    .createTable('person')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('age', 'integer')
    .execute()
  await db.schema
    .createTable('pet')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('owner_id', 'integer', (c) => c.notNull().references('person.id'))
    .addColumn('species', 'text', (c) => c.notNull())
    .execute()
  await db.schema
    .createTable('counter')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('value', 'integer', (c) => c.notNull())
    .execute()
  await db
    .insertInto('person')
    .values([
      { name: 'Ada', age: 36 },
      { name: 'Grace', age: 85 },
      { name: 'Linus', age: null },
    ])
    .execute()
  await db
    .insertInto('pet')
    .values([
      { owner_id: 1, species: 'cat' },
      { owner_id: 1, species: 'dog' },
      { owner_id: 2, species: 'cat' },
    ])
    .execute()
  await db.insertInto('counter').values({ id: 1, value: 0 }).execute()
}

/** A promise with its resolve function, for gates between concurrent tasks. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void
  const promise = new Promise<T>((resolve) => {
    open = resolve
  })
  return { promise, open }
}
