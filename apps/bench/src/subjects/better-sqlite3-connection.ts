import Database from 'better-sqlite3'
import { type Item, type NewItem, SQL } from '../model.js'
import { type ByHand, incrementByHand } from './increment-by-hand.js'
import type { ContentionWorker } from './types.js'

/** better-sqlite3's own default `timeout` (busy_timeout), in ms. */
export const BETTER_SQLITE3_DEFAULT_BUSY_MS = 5000

/**
 * One better-sqlite3 connection set up the way the raw baseline and the generic pools use it:
 * WAL, `synchronous = NORMAL` (as litepool sets), SQLite's default auto-checkpoint (1000 pages),
 * and prepared statements kept for the life of the connection (what careful users do).
 */
export class BetterSqlite3Connection {
  readonly db: Database.Database
  readonly point: Database.Statement<[number], Item>
  readonly range: Database.Statement<[number, number], Item>
  readonly insertStmt: Database.Statement<[...NewItem]>
  private readonly counterGet: Database.Statement<[], { n: number }>
  private readonly counterSet: Database.Statement<[number]>
  private readonly eventInsert: Database.Statement<[number, number]>
  private readonly batch: (items: readonly NewItem[]) => void

  private readonly begin: string

  constructor(
    filename: string,
    busyTimeoutMs: number = BETTER_SQLITE3_DEFAULT_BUSY_MS,
    beginImmediate = false,
  ) {
    this.begin = beginImmediate ? 'BEGIN IMMEDIATE' : 'BEGIN'
    this.db = new Database(filename, { timeout: busyTimeoutMs })
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = NORMAL')
    this.point = this.db.prepare(SQL.point)
    this.range = this.db.prepare(SQL.range)
    this.insertStmt = this.db.prepare(SQL.insert)
    this.counterGet = this.db.prepare(SQL.counterGet)
    this.counterSet = this.db.prepare(SQL.counterSet)
    this.eventInsert = this.db.prepare(SQL.eventInsert)
    // better-sqlite3's documented way to batch: db.transaction() (BEGIN DEFERRED … COMMIT).
    this.batch = this.db.transaction((items: readonly NewItem[]) => {
      for (const item of items) this.insertStmt.run(...item)
    })
  }

  pointSelect(id: number): Item | undefined {
    return this.point.get(id)
  }

  rangeSelect(from: number, count: number): Item[] {
    return this.range.all(from, from + count)
  }

  insert(item: NewItem): unknown {
    return this.insertStmt.run(...item)
  }

  insertBatch(items: readonly NewItem[]): void {
    this.batch(items)
  }

  /**
   * An async transaction as users write it around a sync driver: better-sqlite3's `transaction()`
   * cannot span an `await`, so it is `BEGIN` (deferred, the default) … `COMMIT` by hand, or
   * `BEGIN IMMEDIATE` — the usual advice once deferred transactions fail with BUSY_SNAPSHOT.
   */
  increment(work: () => Promise<void>, worker: number): Promise<void> {
    return incrementByHand(this.byHand, this.begin, work, worker)
  }

  private readonly byHand: ByHand = {
    exec: (sql) => this.db.exec(sql),
    inTransaction: () => this.db.inTransaction,
    counter: () => this.counterGet.get()?.n ?? 0,
    bump: (n, worker) => {
      this.counterSet.run(n)
      this.eventInsert.run(Date.now(), worker)
    },
  }

  close(): void {
    this.db.close()
  }
}

/** A contention worker on a connection the worker owns (raw: one connection per worker). */
export function ownConnectionWorker(connection: BetterSqlite3Connection): ContentionWorker {
  return {
    increment: (work, worker) => connection.increment(work, worker),
    read: async (id) => connection.pointSelect(id),
    close: async () => connection.close(),
  }
}
