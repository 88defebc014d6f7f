import { DatabaseError, type DatabaseErrorKind, PoolError } from '@litepool/pool-core'
import { SQLITE_RESULT_CODES } from './result-codes.js'

const NAME_BY_CODE: ReadonlyMap<number, string> = new Map(
  Object.entries(SQLITE_RESULT_CODES).map(([name, code]) => [code, name]),
)

/** Primary result code name → kind. Extended codes take their primary code's kind. */
const KIND_BY_PRIMARY: Readonly<Record<string, DatabaseErrorKind>> = Object.freeze({
  SQLITE_BUSY: 'busy',
  SQLITE_LOCKED: 'locked',
  SQLITE_CONSTRAINT: 'constraint',
  SQLITE_READONLY: 'readonly',
  SQLITE_CORRUPT: 'corrupt',
  SQLITE_NOTADB: 'corrupt',
  SQLITE_FULL: 'full',
  SQLITE_MISUSE: 'misuse',
  SQLITE_RANGE: 'misuse',
  SQLITE_IOERR: 'broken',
  SQLITE_CANTOPEN: 'broken',
  SQLITE_NOMEM: 'broken',
  SQLITE_INTERNAL: 'broken',
  SQLITE_PROTOCOL: 'broken',
  SQLITE_NOLFS: 'broken',
})

/**
 * The SQLite name for a numeric (extended) result code, as better-sqlite3 spells it.
 *
 * @example
 * ```ts
 * sqliteCodeName(2067) // 'SQLITE_CONSTRAINT_UNIQUE'
 * ```
 */
export function sqliteCodeName(errno: number): string {
  return NAME_BY_CODE.get(errno) ?? NAME_BY_CODE.get(errno & 0xff) ?? `SQLITE_UNKNOWN_${errno}`
}

/**
 * The error kind for an SQLite result code name (extended names fall back to their primary).
 *
 * @example
 * ```ts
 * sqliteErrorKind('SQLITE_BUSY_SNAPSHOT') // 'busy'
 * ```
 */
export function sqliteErrorKind(driverCode: string): DatabaseErrorKind {
  const primary = driverCode.match(/^SQLITE_[A-Z]+/)?.[0] ?? driverCode
  return KIND_BY_PRIMARY[primary] ?? 'other'
}

const CLOSED_MESSAGE = /\b(?:not open|is closed|has been closed|has been finalized)\b/i

/**
 * Turns whatever a native SQLite binding threw into a classified {@link DatabaseError} (kind,
 * `SQLITE_…` driver code, numeric errno, original as `cause`). Understands better-sqlite3's
 * `SqliteError` (string `code`) and node:sqlite's `ERR_SQLITE_ERROR` (numeric `errcode`); other
 * errors from the binding (bad parameters, closed handles) become `misuse` or `broken`.
 * A {@link PoolError} passes through unchanged.
 *
 * @example
 * ```ts
 * try {
 *   stmt.run(params)
 * } catch (error) {
 *   throw classifySqliteError(error, sql)
 * }
 * ```
 */
export function classifySqliteError(error: unknown, sql?: string): PoolError {
  if (error instanceof PoolError) return error
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    message?: unknown
    code?: unknown
    errcode?: unknown
    name?: unknown
  }
  const message = typeof e.message === 'string' ? e.message : String(error)
  let driverCode: string
  let errno: number | undefined
  let kind: DatabaseErrorKind
  if (typeof e.errcode === 'number') {
    errno = e.errcode
    driverCode = sqliteCodeName(errno)
    kind = sqliteErrorKind(driverCode)
  } else if (typeof e.code === 'string' && e.code.startsWith('SQLITE_')) {
    driverCode = e.code
    errno = SQLITE_RESULT_CODES[driverCode]
    kind = sqliteErrorKind(driverCode)
  } else {
    driverCode = typeof e.code === 'string' ? e.code : typeof e.name === 'string' ? e.name : 'Error'
    kind = CLOSED_MESSAGE.test(message) ? 'broken' : 'misuse'
  }
  const where = sql === undefined ? '' : ` in: ${sqlExcerpt(sql)}`
  return new DatabaseError(`${message} (${driverCode})${where}`, {
    kind,
    driverCode,
    ...(errno === undefined ? {} : { errno }),
    cause: error,
  })
}

/** @internal The start of a statement as error messages show it (at most 120 characters). */
export function sqlExcerpt(sql: string): string {
  return sql.length > 120 ? `${sql.slice(0, 117)}...` : sql
}
