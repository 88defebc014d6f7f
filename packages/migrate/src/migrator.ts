import type { SqliteConnection } from '@litepool/sqlite-base'
import { backupFileName, makeBackup } from './backup.js'
import {
  type LockHolder,
  MigrationError,
  type MigrationProblem,
  MissingDownError,
  validationError,
} from './errors.js'
import {
  appliedBy,
  ensureTables,
  readHistory,
  recordApplied,
  tableExists,
  userObjectCount,
  userVersion,
} from './history.js'
import { directivesOf, hasDown, loadMigrations } from './loader.js'
import {
  beginImmediate,
  commit,
  describeHolder,
  forceUnlock,
  judgeHolder,
  RunLock,
  readLock,
  rollbackQuietly,
} from './lock.js'
import {
  type MigratorOptions,
  type ResolvedMigratorOptions,
  resolveMigratorOptions,
} from './options.js'
import { type Analysis, analyze, type MigrationStatusEntry, planDown, planUp } from './planner.js'
import { type RunState, runStep, type StepReport } from './runner.js'
import { type TableSql, tableSql } from './sql.js'
import type { Migration, MigrationKind } from './types.js'

/** What {@link Migrator.status} reports. */
export interface MigrationStatus {
  /** The database file. */
  readonly database: string
  /** Newest applied (or baselined) version; 0 when none. */
  readonly current: number
  /** `PRAGMA user_version`, which mirrors `current`. */
  readonly userVersion: number
  readonly baseline: number | undefined
  /** One entry per version found in the folder or the history, ascending. */
  readonly entries: readonly MigrationStatusEntry[]
  readonly pending: number
  readonly problems: readonly MigrationProblem[]
  /** The migration lock, when a run holds it (or left it behind). */
  readonly lock: (LockHolder & { readonly verdict: 'live' | 'stale' | 'interrupted' }) | undefined
}

/** One step of a {@link MigrationPlan}. */
export interface PlanStep {
  readonly direction: 'up' | 'down'
  readonly version: number
  readonly name: string
  readonly file: string
  readonly kind: MigrationKind
  readonly transaction: boolean
  readonly foreignKeys: boolean
  /** The SQL that would run (SQL files); `undefined` for modules, whose SQL exists only when they run. */
  readonly sql: string | undefined
}

/** What `up` or `down` would do; computed without changing anything. */
export interface MigrationPlan {
  readonly direction: 'up' | 'down'
  readonly from: number
  /** The version after the plan ran. */
  readonly to: number
  readonly steps: readonly PlanStep[]
}

/** What a run did. */
export interface MigrationRun {
  readonly direction: 'up' | 'down'
  readonly from: number
  readonly to: number
  readonly steps: readonly StepReport[]
  /** The backup made before the first step, if any. */
  readonly backup: string | undefined
  /** A dead run's lock this run took over, if any. */
  readonly tookOverFrom: LockHolder | undefined
}

/** Options of {@link Migrator.up}, {@link Migrator.down} and {@link Migrator.plan}. */
export interface TargetOptions {
  /** `up`: apply pending migrations up to this version. `down`: roll back to this version (0 = all). Default: up = all, down = one. */
  readonly to?: number
}

/**
 * Schema versions for a litepool SQLite pool. Create it with {@link createMigrator}.
 *
 * @example
 * ```ts
 * const migrator = createMigrator({ pool, migrations: new URL('./migrations', import.meta.url).pathname })
 * const { steps, backup } = await migrator.up()
 * console.log(`applied ${steps.length} migration(s); backup at ${backup}`)
 * ```
 */
export class Migrator {
  readonly #o: ResolvedMigratorOptions
  readonly #sql: TableSql

  constructor(options: MigratorOptions) {
    this.#o = resolveMigratorOptions(options)
    this.#sql = tableSql(this.#o.table)
  }

  /** The migrations in the folder, sorted by version. */
  migrations(): Promise<Migration[]> {
    return loadMigrations(this.#o.migrations)
  }

  /** Folder versus history, without taking any lock or creating anything. */
  async status(): Promise<MigrationStatus> {
    const migrations = await this.migrations()
    return this.#read((c) => {
      const analysis = analyze(migrations, readHistory(c, this.#sql))
      const lock = readLock(c, this.#sql)
      return {
        database: c.filename,
        current: analysis.current,
        userVersion: userVersion(c),
        baseline: analysis.baseline,
        entries: analysis.entries,
        pending: analysis.entries.filter((e) => e.state === 'pending').length,
        problems: analysis.problems,
        lock: lock === undefined ? undefined : { ...lock, verdict: judgeHolder(lock) },
      }
    })
  }

  /**
   * Throws {@link ChecksumMismatchError}, {@link MissingMigrationError} or
   * {@link OutOfOrderMigrationError} (or a {@link MigrationValidationError} for a mix) when the folder
   * and the history disagree; returns the status otherwise.
   */
  async validate(): Promise<MigrationStatus> {
    const status = await this.status()
    if (status.problems.length > 0) throw validationError(status.problems)
    return status
  }

  /** What `up` (default) or `down` would run, with each SQL file's SQL. Changes nothing. */
  async plan(
    options: TargetOptions & { readonly direction?: 'up' | 'down' } = {},
  ): Promise<MigrationPlan> {
    const direction = options.direction ?? 'up'
    const to = checkTarget(options.to)
    const migrations = await this.migrations()
    const analysis = await this.#read((c) => analyze(migrations, readHistory(c, this.#sql)))
    const chosen = direction === 'up' ? planUp(analysis, to) : await this.#downPlan(analysis, to)
    const steps: PlanStep[] = []
    for (const m of chosen) {
      const d = await directivesOf(m)
      const sql = m.kind === 'sql' ? (direction === 'up' ? m.upSql : m.downSql) : undefined
      steps.push({
        direction,
        version: m.version,
        name: m.name,
        file: m.file,
        kind: m.kind,
        transaction: d.transaction,
        foreignKeys: d.foreignKeys,
        sql,
      })
    }
    return {
      direction,
      from: analysis.current,
      to: resultingVersion(analysis, direction, chosen),
      steps,
    }
  }

  /**
   * Applies pending migrations (up to `to`), each in its own `BEGIN IMMEDIATE` transaction unless it
   * opts out, under the migration lock, after validating and backing up. Safe to call from many
   * processes at once: each migration is applied exactly once, the others wait and find nothing to do.
   */
  up(options: TargetOptions = {}): Promise<MigrationRun> {
    const to = checkTarget(options.to)
    return this.#run('up', (analysis) => Promise.resolve(planUp(analysis, to)))
  }

  /**
   * Rolls back the newest migration, or every migration above `to`, newest first. Refuses before
   * running anything when one of them has no down migration ({@link MissingDownError}).
   */
  async down(options: TargetOptions = {}): Promise<MigrationRun> {
    const to = checkTarget(options.to)
    // Without a history there is nothing to roll back; don't create the tables on the way.
    if (!(await this.#read((c) => tableExists(c, this.#sql, this.#sql.history)))) {
      return {
        direction: 'down',
        from: 0,
        to: 0,
        steps: [],
        backup: undefined,
        tookOverFrom: undefined,
      }
    }
    return this.#run('down', (analysis) => this.#downPlan(analysis, to))
  }

  /**
   * Adopts an existing database without running older migrations: records `version` (default: its
   * `PRAGMA user_version`) as the baseline; migrations up to it count as done. Refuses when the
   * database already has a history.
   */
  async baseline(
    options: { readonly version?: number } = {},
  ): Promise<{ version: number; name: string; previousUserVersion: number }> {
    const migrations = await this.migrations()
    return this.#locked(async (c, lock) => {
      const history = readHistory(c, this.#sql)
      if (history.length > 0) {
        throw new MigrationError(
          `${c.filename} already has a migration history (${history.length} rows, at version ${history.at(-1)?.version}); baseline only adopts a database without one`,
          {
            code: 'LITEPOOL_MIGRATION_BASELINE',
          },
        )
      }
      const previousUserVersion = userVersion(c)
      const version = options.version ?? previousUserVersion
      if (!Number.isSafeInteger(version) || version < 1) {
        throw new MigrationError(
          `baseline needs a version >= 1 (the database's user_version is ${previousUserVersion}): pass { version }`,
          {
            code: 'LITEPOOL_MIGRATION_BASELINE',
          },
        )
      }
      const name = migrations.find((m) => m.version === version)?.name ?? `${version}_baseline`
      const deadline = performance.now() + this.#o.lockTimeoutMs
      await beginImmediate(c, deadline)
      try {
        lock.assertOwned()
        ensureTables(c, this.#sql)
        recordApplied(c, this.#sql, {
          version,
          name,
          checksum: null,
          kind: 'baseline',
          transaction: true,
          appliedAt: new Date().toISOString(),
          durationMs: 0,
          appliedBy: appliedBy(),
        })
        await commit(c, deadline)
      } catch (error) {
        rollbackQuietly(c)
        throw error
      }
      return { version, name, previousUserVersion }
    })
  }

  /**
   * Removes the migration lock whoever holds it and returns what it held: the way out after a run
   * died in a step outside a transaction (once you checked the database). Never needed after a
   * crash in a transactional step: the next run takes a dead process's lock over by itself.
   */
  async unlock(): Promise<LockHolder | undefined> {
    const c = await this.#writer()
    try {
      return await forceUnlock(c, this.#sql, this.#o.lockTimeoutMs)
    } finally {
      await c.release()
    }
  }

  async #downPlan(analysis: Analysis, to: number | undefined): Promise<Migration[]> {
    const steps = planDown(analysis, to)
    const without: string[] = []
    for (const s of steps) if (!(await hasDown(s.migration))) without.push(s.migration.name)
    if (without.length > 0) throw new MissingDownError(without)
    return steps.map((s) => s.migration)
  }

  async #run(
    direction: 'up' | 'down',
    choose: (analysis: Analysis) => Promise<Migration[]>,
  ): Promise<MigrationRun> {
    const migrations = await this.migrations()
    const check =
      direction === 'up'
        ? (c: SqliteConnection, fresh: boolean) => this.#assertAdopted(c, fresh)
        : undefined
    return this.#locked(async (c, lock, state) => {
      const analysis = analyze(migrations, readHistory(c, this.#sql))
      const chosen = await choose(analysis)
      for (const m of chosen) await directivesOf(m) // import modules before spending a backup on them
      const { backup } = this.#o
      if (backup !== false && c.filename !== ':memory:' && c.filename !== '') {
        state.backUp = async () => {
          const file = backupFileName(
            c.filename,
            backup.dir,
            Number(readHistory(c, this.#sql).at(-1)?.version ?? 0),
          )
          const ms = makeBackup(c, file)
          state.restorePoint = file
          await lock.setStep(null, file)
          this.#o.onEvent({ type: 'backup', file, ms })
          return file
        }
      }
      const first = chosen.length > 0 ? await state.backUp?.() : undefined
      const steps: StepReport[] = []
      for (const m of chosen) {
        const step = await runStep(state, m, direction)
        if (step !== undefined) steps.push(step)
      }
      const to = Number(readHistory(c, this.#sql).at(-1)?.version ?? 0)
      return {
        direction,
        from: analysis.current,
        to,
        steps,
        backup: first,
        tookOverFrom: lock.tookOverFrom,
      }
    }, check)
  }

  /** Refuses to migrate a database that has a schema or a user_version but no history yet. */
  #assertAdopted(c: SqliteConnection, fresh: boolean): void {
    if (!fresh) return
    const objects = userObjectCount(c, this.#sql)
    const version = userVersion(c)
    if (objects === 0 && version === 0) return
    throw new MigrationError(
      `${c.filename} already has a schema (${objects} object${objects === 1 ? '' : 's'}, user_version ${version}) but no migration history: ` +
        'adopt it first with `litepool-migrate baseline [version]` (migrator.baseline()), so older migrations are not run against it',
      { code: 'LITEPOOL_MIGRATION_NOT_BASELINED' },
    )
  }

  /** Pins the writer, takes the migration lock, runs `fn`, releases both. */
  async #locked<T>(
    fn: (c: SqliteConnection, lock: RunLock, state: RunState) => Promise<T>,
    check?: (c: SqliteConnection, fresh: boolean) => void,
  ): Promise<T> {
    const c = await this.#writer()
    try {
      const lock = new RunLock(c, this.#sql, this.#o.lockTimeoutMs, c.filename)
      await lock.acquire({
        ...(check === undefined ? {} : { check: (fresh: boolean) => check(c, fresh) }),
        onWait: (holder) => this.#o.onEvent({ type: 'waiting', holder: describeHolder(holder) }),
      })
      const state: RunState = {
        c,
        sql: this.#sql,
        lock,
        lockTimeoutMs: this.#o.lockTimeoutMs,
        stepBusyTimeoutMs: this.#o.stepBusyTimeoutMs,
        emit: this.#o.onEvent,
        backUp: undefined,
        restorePoint: undefined,
        changed: false,
        keepLock: false,
      }
      let failed = false
      try {
        return await fn(c, lock, state)
      } catch (error) {
        failed = true
        throw error
      } finally {
        if (!state.keepLock) {
          await lock.release().catch((error: unknown) => {
            if (!failed) throw error
          })
        }
      }
    } finally {
      await c.release()
    }
  }

  async #writer() {
    const c = await this.#o.pool.acquire({ role: 'writer' })
    if (c.inTransaction) {
      await c.release()
      throw new MigrationError(
        'migrations cannot run inside a transaction: call the migrator outside pool.transaction()/pool.write()',
        {
          code: 'LITEPOOL_MIGRATION_STATE',
        },
      )
    }
    return c
  }

  async #read<T>(fn: (c: SqliteConnection) => T): Promise<T> {
    const c = await this.#o.pool.acquire({ role: 'reader' })
    try {
      return fn(c)
    } finally {
      await c.release()
    }
  }
}

function checkTarget(to: number | undefined): number | undefined {
  if (to === undefined || (Number.isSafeInteger(to) && to >= 0)) return to
  throw new MigrationError(`the target version must be an integer >= 0, not ${String(to)}`, {
    code: 'LITEPOOL_MIGRATION_TARGET',
  })
}

function resultingVersion(
  analysis: Analysis,
  direction: 'up' | 'down',
  chosen: readonly Migration[],
): number {
  if (direction === 'up') return chosen.at(-1)?.version ?? analysis.current
  const gone = new Set(chosen.map((m) => m.version))
  return analysis.history
    .filter((h) => !gone.has(h.version))
    .reduce((max, h) => Math.max(max, h.version), 0)
}

/**
 * Creates a {@link Migrator}. Options are validated at once (a `ConfigError` lists every bad field).
 *
 * @example
 * ```ts
 * import { createPool } from '@litepool/pool-core'
 * import { betterSqlite3 } from '@litepool/driver-better-sqlite3'
 * import { createMigrator } from '@litepool/migrate'
 *
 * const pool = createPool({ driver: betterSqlite3({ filename: 'app.db' }) })
 * await createMigrator({ pool, migrations: './migrations' }).up()
 * ```
 */
export function createMigrator(options: MigratorOptions): Migrator {
  return new Migrator(options)
}
