import type { NativeStatement, RunResult, SqliteParams } from './adapter.js'
import { classifySqliteError } from './errors.js'

/**
 * The row type used when a call does not name one.
 *
 * @example
 * ```ts
 * const row: DefaultRow | undefined = c.get('select 1 as x') // { x: 1 }
 * ```
 */
export type DefaultRow = Record<string, unknown>

/** What a statement needs from the connection that owns it (open iterators are tracked there). */
export interface StatementOwner {
  readonly iterators: Set<Generator<unknown, void, undefined>>
  /** A statement that may begin or end a transaction is about to run. */
  transactionMayChange(): void
  /** The native statement was handed out: SQL may now run on the connection unseen. */
  nativeExposed(): void
}

/**
 * Statements that cannot leave a transaction open: queries and DML run in autocommit mode, and
 * only BEGIN and SAVEPOINT open a transaction that outlives the statement. A list of what is
 * known to be safe, after any leading comments, so SQL it does not recognise counts as unsafe.
 */
const CANNOT_BEGIN =
  /^(?:\s|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*(?:SELECT|INSERT|UPDATE|DELETE|REPLACE|WITH|VALUES|PRAGMA|EXPLAIN)\b/i

/**
 * Whether running `sql` may begin (or end) a transaction: anything but a query, DML or pragma
 * (`'-- why\nsavepoint a'`: true; `'select 1'`: false).
 */
export function mayControlTransaction(sql: string): boolean {
  return !CANNOT_BEGIN.test(sql)
}

/**
 * A prepared statement from a connection's statement cache. Every method takes parameters as one
 * positional array or one named object and throws a classified `DatabaseError`.
 *
 * @example
 * ```ts
 * const byId = connection.prepare<{ id: number; name: string }>('select * from users where id = ?')
 * const ada = byId.get([1])
 * ```
 */
export class SqliteStatement<Row = DefaultRow> {
  /** The SQL text this statement was prepared from. */
  readonly sql: string
  private readonly handle: NativeStatement
  private readonly owner: StatementOwner
  /** Running it tells the owner to ask SQLite again whether a transaction is open. */
  private readonly controlsTransaction: boolean

  /** @internal Created by `SqliteConnection`; use `connection.prepare(sql)`. */
  constructor(native: NativeStatement, sql: string, owner: StatementOwner) {
    this.handle = native
    this.sql = sql
    this.owner = owner
    this.controlsTransaction = mayControlTransaction(sql)
  }

  /**
   * The driver's statement behind this one (escape hatch; shape depends on the driver). Once it
   * is handed out, the connection always asks SQLite whether a transaction is open.
   */
  get native(): NativeStatement {
    this.owner.nativeExposed()
    return this.handle
  }

  /** Runs the statement; returns rows changed and the last inserted rowid. */
  run(params?: SqliteParams): RunResult {
    if (this.controlsTransaction) this.owner.transactionMayChange()
    try {
      return this.handle.run(params)
    } catch (error) {
      throw classifySqliteError(error, this.sql)
    }
  }

  /** The first row, or `undefined` when there is none. */
  get(params?: SqliteParams): Row | undefined {
    if (this.controlsTransaction) this.owner.transactionMayChange()
    try {
      return this.handle.get(params) as Row | undefined
    } catch (error) {
      throw classifySqliteError(error, this.sql)
    }
  }

  /** Every row. */
  all(params?: SqliteParams): Row[] {
    if (this.controlsTransaction) this.owner.transactionMayChange()
    try {
      return this.handle.all(params) as Row[]
    } catch (error) {
      throw classifySqliteError(error, this.sql)
    }
  }

  /**
   * Rows one at a time. Leaving the loop early (`break`, `return`, a throw) resets the statement,
   * which ends its read snapshot; a connection that is reset or closed ends open iterations too.
   */
  iterate(params?: SqliteParams): Generator<Row, void, undefined> {
    const cursor: Cursor<Row> = { statement: this, self: undefined }
    const generator = iterateRows<Row>(cursor, params)
    cursor.self = generator
    return generator
  }

  /** @internal */
  openIterator(params: SqliteParams | undefined): Iterator<unknown> {
    if (this.controlsTransaction) this.owner.transactionMayChange()
    try {
      return this.handle.iterate(params)
    } catch (error) {
      throw classifySqliteError(error, this.sql)
    }
  }

  /** @internal */
  get iterators(): Set<Generator<unknown, void, undefined>> {
    return this.owner.iterators
  }
}

/**
 * What an `iterate` loop reaches its statement through. V8 keeps a generator's arguments after the
 * generator ended, so a finished loop the caller still holds would keep the statement (and, on a
 * binding that finalizes statements only when collected, the closed database's file descriptors)
 * alive; the loop therefore takes this holder and empties it when it ends.
 */
interface Cursor<Row> {
  statement: SqliteStatement<Row> | undefined
  self: Generator<Row, void, undefined> | undefined
}

function* iterateRows<Row>(
  cursor: Cursor<Row>,
  params: SqliteParams | undefined,
): Generator<Row, void, undefined> {
  const statement = cursor.statement as SqliteStatement<Row>
  const self = cursor.self as Generator<unknown, void, undefined>
  const iterator = statement.openIterator(params)
  statement.iterators.add(self)
  try {
    for (;;) {
      let step: IteratorResult<unknown>
      try {
        step = iterator.next()
      } catch (error) {
        throw classifySqliteError(error, statement.sql)
      }
      if (step.done === true) return
      yield step.value as Row
    }
  } finally {
    statement.iterators.delete(self)
    iterator.return?.()
    cursor.statement = undefined
    cursor.self = undefined
  }
}
