import type { Role } from '@litepool/pool-core'
import type { NativeAdapter } from './adapter.js'
import { SqliteConnection } from './connection.js'
import { classifySqliteError } from './errors.js'
import type { ResolvedSqliteOptions } from './options.js'
import { setupConnection } from './setup.js'

/**
 * Opens one native handle through `adapter` and prepares it for `role` (WAL, pragmas). The one
 * place a connection is made: the driver's `open` on the main thread and a worker thread's own
 * connection both call it, so a worker-hosted reader is set up exactly like a main-thread one.
 */
export async function openSqliteConnection<Raw>(
  adapter: NativeAdapter<Raw>,
  options: ResolvedSqliteOptions,
  role: Role,
): Promise<SqliteConnection<Raw>> {
  const native = await adapter.open(options.filename, {
    role,
    readonly: options.readonly,
    safeIntegers: options.safeIntegers,
    busyTimeoutMs: options.busyTimeoutMs,
  })
  const connection = new SqliteConnection<Raw>(
    native,
    role,
    options.filename,
    options.statementCacheSize,
  )
  try {
    await setupConnection(connection, options)
  } catch (error) {
    await connection.closeNative().catch(() => undefined)
    throw classifySqliteError(error)
  }
  return connection
}
