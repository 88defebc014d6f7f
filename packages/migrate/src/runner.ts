import type { SqliteConnection } from '@litepool/sqlite-base'
import { restoreBackup } from './backup.js'
import { MigrationError, MigrationFailedError } from './errors.js'
import { appliedBy, isApplied, recordApplied, recordRolledBack } from './history.js'
import { directivesOf, importMigration } from './loader.js'
import { beginImmediate, commit, type RunLock, rollbackQuietly } from './lock.js'
import { checkForeignKeys, rebuildTable } from './rebuild.js'
import { MIGRATE_SQL, type TableSql } from './sql.js'
import type { Migration, MigrationContext, MigrationDirectives, MigrationEvent } from './types.js'

const now = (): number => performance.now()

/** Everything a run needs while it holds the pinned writer and the migration lock. */
export interface RunState {
  readonly c: SqliteConnection
  readonly sql: TableSql
  readonly lock: RunLock
  readonly lockTimeoutMs: number
  /** `busy_timeout` while a step runs outside a transaction (its statements cannot be retried). */
  readonly stepBusyTimeoutMs: number
  readonly emit: (event: MigrationEvent) => void
  /** Makes a backup of the database as it is now and returns its path; undefined when backups are off. */
  backUp: (() => Promise<string>) | undefined
  /** The newest backup of this run: what a failed step outside a transaction is restored from. */
  restorePoint: string | undefined
  /** True once a step of this run committed (the start-of-run backup is then out of date). */
  changed: boolean
  /** Set when a failed step leaves the lock marked interrupted: the run must not release it. */
  keepLock: boolean
}

/** One migration that ran. */
export interface StepReport {
  readonly version: number
  readonly name: string
  readonly direction: 'up' | 'down'
  readonly ms: number
  readonly transaction: boolean
}

type Body = (c: SqliteConnection, context: MigrationContext) => void | Promise<void>

/** The code a step runs: the SQL of its section, or the module's `up`/`down`. */
export async function bodyOf(migration: Migration, direction: 'up' | 'down'): Promise<Body> {
  if (migration.kind === 'sql') {
    const sql = direction === 'up' ? migration.upSql : migration.downSql
    if (sql === undefined)
      throw new MigrationError(`${migration.name} has no ${direction} section`, {
        code: 'LITEPOOL_MIGRATION_NO_DOWN',
      })
    return (c) => {
      if (sql.trim() !== '') c.exec(sql)
    }
  }
  const mod = await importMigration(migration)
  const fn = direction === 'up' ? mod.up : mod.down
  if (fn === undefined)
    throw new MigrationError(`${migration.name} exports no ${direction}`, {
      code: 'LITEPOOL_MIGRATION_NO_DOWN',
    })
  return (c, context) => fn.call(mod, c, context)
}

/**
 * Runs one migration in one direction. Returns `undefined` when the history, re-read under the lock,
 * shows it already done (or undone).
 */
export async function runStep(
  state: RunState,
  migration: Migration,
  direction: 'up' | 'down',
): Promise<StepReport | undefined> {
  const directives = await directivesOf(migration)
  const body = await bodyOf(migration, direction)
  const context: MigrationContext = {
    migration: { version: migration.version, name: migration.name, file: migration.file },
    direction,
    transaction: directives.transaction,
    rebuildTable: (options) => {
      rebuildTable(state.c, options)
    },
    log: (message) => state.emit({ type: 'log', migration: migration.name, message }),
  }
  const fkWasOn =
    Number(state.c.get<{ foreign_keys: number }>(MIGRATE_SQL.foreignKeys)?.foreign_keys ?? 0) === 1
  const toggleFk = !directives.foreignKeys && fkWasOn
  if (toggleFk) state.c.exec(MIGRATE_SQL.foreignKeysOff)
  try {
    return directives.transaction
      ? await inTransaction(state, migration, direction, directives, body, context)
      : await outsideTransaction(state, migration, direction, directives, body, context)
  } finally {
    if (toggleFk) state.c.exec(MIGRATE_SQL.foreignKeysOn)
  }
}

function started(
  state: RunState,
  migration: Migration,
  direction: 'up' | 'down',
  directives: MigrationDirectives,
): void {
  state.emit({
    type: 'start',
    direction,
    migration: migration.name,
    transaction: directives.transaction,
    foreignKeys: directives.foreignKeys,
  })
}

/** Whether the step is already done, judged from the history. */
function alreadyDone(state: RunState, migration: Migration, direction: 'up' | 'down'): boolean {
  const applied = isApplied(state.c, state.sql, migration.version)
  if (direction === 'up' ? !applied : applied) return false
  state.emit({
    type: 'skipped',
    migration: migration.name,
    reason: direction === 'up' ? 'already applied' : 'already rolled back',
  })
  return true
}

function record(
  state: RunState,
  migration: Migration,
  direction: 'up' | 'down',
  ms: number,
  transaction: boolean,
): void {
  if (direction === 'down') {
    recordRolledBack(state.c, state.sql, migration.version)
    return
  }
  recordApplied(state.c, state.sql, {
    version: migration.version,
    name: migration.name,
    checksum: migration.checksum,
    kind: migration.kind,
    transaction,
    appliedAt: new Date().toISOString(),
    durationMs: ms,
    appliedBy: appliedBy(),
  })
}

/** The default: BEGIN IMMEDIATE, re-read the history, run, check foreign keys, record, COMMIT. */
async function inTransaction(
  state: RunState,
  migration: Migration,
  direction: 'up' | 'down',
  directives: MigrationDirectives,
  body: Body,
  context: MigrationContext,
): Promise<StepReport | undefined> {
  const { c } = state
  const deadline = now() + state.lockTimeoutMs
  await beginImmediate(c, deadline)
  try {
    state.lock.assertOwned()
    if (alreadyDone(state, migration, direction)) {
      rollbackQuietly(c)
      return undefined
    }
    started(state, migration, direction, directives)
    const t0 = now()
    try {
      await body(c, context)
      if (!c.inTransaction) {
        throw new MigrationError(
          'the migration ended the transaction itself (COMMIT or ROLLBACK); its changes may be committed without a history row',
          {
            code: 'LITEPOOL_MIGRATION_STATE',
          },
        )
      }
      if (!directives.foreignKeys) checkForeignKeys(c)
    } catch (error) {
      rollbackQuietly(c)
      throw new MigrationFailedError(migration.name, direction, error, { transactional: true })
    }
    const ms = now() - t0
    record(state, migration, direction, ms, true)
    await commit(c, deadline)
    return done(state, migration, direction, ms, true)
  } catch (error) {
    rollbackQuietly(c)
    throw error
  }
}

/**
 * A step that cannot run in a transaction (VACUUM, journal_mode). The migration lock row records
 * the step first, so a process killed in the middle leaves a trace the next run refuses to ignore.
 * The step's statements run in autocommit with a longer busy timeout (a multi-statement script
 * cannot be retried halfway). On failure the backup of this run is restored; without one the lock
 * stays set and marked interrupted. The history row and the cleared step commit together.
 */
async function outsideTransaction(
  state: RunState,
  migration: Migration,
  direction: 'up' | 'down',
  directives: MigrationDirectives,
  body: Body,
  context: MigrationContext,
): Promise<StepReport | undefined> {
  const { c, sql, lock } = state
  if (alreadyDone(state, migration, direction)) return undefined
  // Restore to just before this step, not to the start of the run: take a fresh backup if earlier
  // steps of this run changed the database since the last one.
  if (state.changed && state.backUp !== undefined) await state.backUp()
  await lock.setStep(migration.name, state.restorePoint)
  started(state, migration, direction, directives)
  const busy = Number(c.get<{ timeout: number }>('PRAGMA busy_timeout')?.timeout ?? 0)
  const t0 = now()
  c.exec(MIGRATE_SQL.busyTimeout(state.stepBusyTimeoutMs))
  try {
    await body(c, context)
    if (!directives.foreignKeys) checkForeignKeys(c)
  } catch (error) {
    rollbackQuietly(c)
    c.exec(MIGRATE_SQL.busyTimeout(busy))
    throw await recover(state, migration, direction, error)
  }
  c.exec(MIGRATE_SQL.busyTimeout(busy))
  const ms = now() - t0
  const deadline = now() + state.lockTimeoutMs
  await beginImmediate(c, deadline)
  try {
    record(state, migration, direction, ms, false)
    c.run(sql.setStep, [null, null, lock.owner])
    await commit(c, deadline)
  } catch (error) {
    rollbackQuietly(c)
    throw error
  }
  return done(state, migration, direction, ms, false)
}

function done(
  state: RunState,
  migration: Migration,
  direction: 'up' | 'down',
  ms: number,
  transaction: boolean,
): StepReport {
  state.changed = true
  state.emit({ type: 'done', direction, migration: migration.name, ms, transaction })
  return { version: migration.version, name: migration.name, direction, ms, transaction }
}

/** After a failed non-transactional step: restore this run's backup, or mark the lock interrupted. */
async function recover(
  state: RunState,
  migration: Migration,
  direction: 'up' | 'down',
  error: unknown,
): Promise<MigrationFailedError> {
  const backup = state.restorePoint
  if (backup !== undefined) {
    try {
      await restoreBackup(state.c, backup, state.lockTimeoutMs, [state.sql.lock])
      await state.lock.setStep(null)
      state.emit({ type: 'restored', file: backup })
      return new MigrationFailedError(migration.name, direction, error, {
        transactional: false,
        restoredFrom: backup,
      })
    } catch (restoreError) {
      state.keepLock = true
      await state.lock.markInterrupted().catch(() => undefined)
      return new MigrationFailedError(migration.name, direction, error, {
        transactional: false,
        restoreError,
      })
    }
  }
  state.keepLock = true
  await state.lock.markInterrupted().catch(() => undefined)
  return new MigrationFailedError(migration.name, direction, error, { transactional: false })
}
