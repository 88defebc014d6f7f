import type { SqliteParams } from '@litepool/sqlite-base'
import type { CompiledQuery, QueryResult } from 'kysely'
import type { Shape } from './classify.js'
import type { DialectConnection } from './types.js'

/** Kysely's parameters, or nothing (the drivers take a faster path without parameters). */
function paramsOf(compiled: CompiledQuery): SqliteParams | undefined {
  // Values are bound as Kysely passes them, as Kysely's own SqliteDriver does; the driver rejects
  // what SQLite cannot bind (booleans, dates) with a classified error.
  return compiled.parameters.length === 0 ? undefined : (compiled.parameters as SqliteParams)
}

/**
 * Runs a compiled query on a connection, on the statement from the connection's cache. The result
 * has the shape Kysely's own `SqliteDriver` returns: rows, or affected rows and the last rowid.
 */
export function runCompiled<R>(
  connection: DialectConnection,
  compiled: CompiledQuery,
  shape: Shape,
): QueryResult<R> {
  const statement = connection.prepare(compiled.sql)
  if (shape === 'rows') return { rows: statement.all(paramsOf(compiled)) as R[] }
  const { changes, lastInsertRowid } = statement.run(paramsOf(compiled))
  return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] }
}

/**
 * Steps a query row by row and hands out chunks of up to `chunkSize` rows. `check` runs before each
 * chunk is handed out (it throws once the transaction or dialect is gone). Leaving early resets
 * the statement, which ends its read snapshot.
 */
export function* chunksOf<R>(
  connection: DialectConnection,
  compiled: CompiledQuery,
  chunkSize: number,
  check: () => void,
): Generator<QueryResult<R>, void, undefined> {
  const iterator = connection.prepare(compiled.sql).iterate(paramsOf(compiled))
  try {
    let rows: R[] = []
    for (;;) {
      const step = iterator.next()
      if (step.done === true) break
      rows.push(step.value as R)
      if (rows.length >= chunkSize) {
        check()
        yield { rows }
        rows = []
      }
    }
    check()
    if (rows.length > 0) yield { rows }
  } finally {
    iterator.return?.()
  }
}
