import type { SqliteParams } from '@litepool/sqlite-base'
import type { CompiledQuery, QueryResult } from 'kysely'
import type { Shape } from './classify.js'
import type { DialectConnection, DialectWorkerConnection } from './types.js'

/** Kysely's parameters, or nothing (the drivers take a faster path without parameters). */
export function paramsOf(compiled: CompiledQuery): SqliteParams | undefined {
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

/** `runCompiled` on a worker-hosted reader: the same result, computed in its thread. */
export async function runCompiledOnWorker<R>(
  connection: DialectWorkerConnection,
  compiled: CompiledQuery,
  shape: Shape,
): Promise<QueryResult<R>> {
  if (shape === 'rows')
    return { rows: (await connection.all(compiled.sql, paramsOf(compiled))) as R[] }
  const { changes, lastInsertRowid } = await connection.run(compiled.sql, paramsOf(compiled))
  return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] }
}

/**
 * Groups rows that arrive one by one (a worker's chunks, `pool.iterate`) into Kysely's chunks of
 * up to `chunkSize`; `check` runs before each chunk is handed out. Leaving early ends `rows`.
 */
export async function* chunked<R>(
  rows: AsyncIterable<unknown>,
  chunkSize: number,
  check: () => void,
): AsyncGenerator<QueryResult<R>, void, undefined> {
  let chunk: R[] = []
  for await (const row of rows) {
    chunk.push(row as R)
    if (chunk.length >= chunkSize) {
      check()
      yield { rows: chunk }
      chunk = []
    }
  }
  check()
  if (chunk.length > 0) yield { rows: chunk }
}

/**
 * How a Kysely transaction runs its queries: on a main-thread connection (the writer, a
 * savepoint's) or on a worker-hosted reader (a read-only snapshot).
 */
export interface QueryRunner {
  query<R>(compiled: CompiledQuery, shape: Shape): Promise<QueryResult<R>>
  stream<R>(
    compiled: CompiledQuery,
    chunkSize: number,
    check: () => void,
  ): AsyncIterable<QueryResult<R>>
  /** Transaction control (savepoints) on the connection. */
  exec(sql: string): Promise<void>
}

/** Runs a transaction's queries on a main-thread connection. */
export function mainRunner(connection: DialectConnection): QueryRunner {
  return {
    query: <R>(compiled: CompiledQuery, shape: Shape) => {
      try {
        return Promise.resolve(runCompiled<R>(connection, compiled, shape))
      } catch (error) {
        return Promise.reject(error)
      }
    },
    stream: async function* <R>(compiled: CompiledQuery, chunkSize: number, check: () => void) {
      yield* chunksOf<R>(connection, compiled, chunkSize, check)
    },
    exec: async (sql: string) => connection.exec(sql),
  }
}

/** Runs a transaction's queries on a worker-hosted reader. */
export function workerRunner(connection: DialectWorkerConnection): QueryRunner {
  return {
    query: <R>(compiled: CompiledQuery, shape: Shape) =>
      runCompiledOnWorker<R>(connection, compiled, shape),
    stream: <R>(compiled: CompiledQuery, chunkSize: number, check: () => void) =>
      chunked<R>(
        connection.iterate(compiled.sql, paramsOf(compiled), { chunkSize }),
        chunkSize,
        check,
      ),
    exec: (sql: string) => connection.exec(sql),
  }
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
