import { isBuiltin } from 'node:module'
import { type Item, type NewItem, SQL } from '../model.js'
import { PEER_BUSY_TIMEOUT } from '../settings.js'
import { type ByHand, incrementByHand } from './increment-by-hand.js'
import type { ContentionWorker, Instance, Subject } from './types.js'
import { packageVersion } from './versions.js'

// The slice of node:sqlite's DatabaseSync (and of the @photostructure/sqlite shim) used here.
export interface StatementSync {
  get(...params: unknown[]): unknown
  all(...params: unknown[]): unknown[]
  run(...params: unknown[]): unknown
}
export interface DatabaseSync {
  readonly isTransaction: boolean
  prepare(sql: string): StatementSync
  exec(sql: string): void
  close(): void
}
export type DatabaseSyncConstructor = new (
  path: string,
  options?: { timeout?: number },
) => DatabaseSync

const SHIM = '@photostructure/sqlite'
const hasBuiltin = typeof process.getBuiltinModule === 'function' && isBuiltin('node:sqlite')
const DEFAULT_BUSY_MS = 5000

let loaded: Promise<DatabaseSyncConstructor> | undefined
/** node:sqlite's DatabaseSync, or on Node 20 the shim's (loaded once). */
export function load(): Promise<DatabaseSyncConstructor> {
  loaded ??= hasBuiltin
    ? Promise.resolve(
        (process.getBuiltinModule('node:sqlite') as { DatabaseSync: DatabaseSyncConstructor })
          .DatabaseSync,
      )
    : import(SHIM).then((m: { DatabaseSync: DatabaseSyncConstructor }) => m.DatabaseSync)
  return loaded
}

/** One node:sqlite connection: WAL, synchronous NORMAL, statements prepared once. */
class NodeSqliteConnection {
  private readonly db: DatabaseSync
  private readonly point: StatementSync
  private readonly range: StatementSync
  private readonly insertStmt: StatementSync
  private readonly counterGet: StatementSync
  private readonly counterSet: StatementSync
  private readonly eventInsert: StatementSync

  constructor(DatabaseSync: DatabaseSyncConstructor, filename: string, busyTimeoutMs: number) {
    // node:sqlite's own default timeout is 0; 5000 ms matches better-sqlite3's default.
    this.db = new DatabaseSync(filename, { timeout: busyTimeoutMs })
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL')
    this.point = this.db.prepare(SQL.point)
    this.range = this.db.prepare(SQL.range)
    this.insertStmt = this.db.prepare(SQL.insert)
    this.counterGet = this.db.prepare(SQL.counterGet)
    this.counterSet = this.db.prepare(SQL.counterSet)
    this.eventInsert = this.db.prepare(SQL.eventInsert)
  }

  pointSelect(id: number): Item | undefined {
    return this.point.get(id) as Item | undefined
  }

  rangeSelect(from: number, count: number): Item[] {
    return this.range.all(from, from + count) as Item[]
  }

  insert(item: NewItem): unknown {
    return this.insertStmt.run(...item)
  }

  insertBatch(items: readonly NewItem[]): void {
    this.db.exec('BEGIN')
    try {
      for (const item of items) this.insertStmt.run(...item)
      this.db.exec('COMMIT')
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK')
      throw error
    }
  }

  increment(work: () => Promise<void>, worker: number): Promise<void> {
    return incrementByHand(this.byHand, 'BEGIN', work, worker)
  }

  private readonly byHand: ByHand = {
    exec: (sql) => this.db.exec(sql),
    inTransaction: () => this.db.isTransaction,
    counter: () => (this.counterGet.get() as { n: number } | undefined)?.n ?? 0,
    bump: (n, worker) => {
      this.counterSet.run(n)
      this.eventInsert.run(Date.now(), worker)
    },
  }

  close(): void {
    this.db.close()
  }
}

/** Node's built-in node:sqlite, or on Node 20 the @photostructure/sqlite shim with the same API. */
export const rawNodeSqlite: Subject = {
  id: 'raw-node-sqlite',
  label: hasBuiltin ? 'raw node:sqlite' : 'raw node:sqlite (shim)',
  family: 'raw',
  driver: hasBuiltin
    ? `node:sqlite (Node ${process.versions.node})`
    : `${SHIM} ${packageVersion(SHIM)}`,
  config: {
    connections: '1 (contention: 1 per worker)',
    journal_mode: 'WAL',
    synchronous: 'NORMAL',
    wal_autocheckpoint: '1000 pages (SQLite default)',
    busy_timeout: `${PEER_BUSY_TIMEOUT} (node:sqlite's own default is 0)`,
    statements: 'prepared once, reused',
    'batch transaction': 'BEGIN (deferred) … COMMIT',
  },
  async open(filename, options = {}): Promise<Instance> {
    const DatabaseSync = await load()
    const busy = options.busyTimeoutMs ?? DEFAULT_BUSY_MS
    const connection = new NodeSqliteConnection(DatabaseSync, filename, busy)
    return {
      sync: true,
      pointSelect: (id) => connection.pointSelect(id),
      rangeSelect: (from, count) => connection.rangeSelect(from, count),
      insert: (item) => connection.insert(item),
      insertBatch: (items) => connection.insertBatch(items),
      worker: async (): Promise<ContentionWorker> => {
        const own = new NodeSqliteConnection(DatabaseSync, filename, busy)
        return {
          increment: (work, worker) => own.increment(work, worker),
          read: async (id) => own.pointSelect(id),
          close: async () => own.close(),
        }
      },
      close: async () => connection.close(),
    }
  },
}
