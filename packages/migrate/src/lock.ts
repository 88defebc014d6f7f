import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { retryWhileBusy } from '@litepool/pool-core'
import { BEGIN_SQL, SQL, type SqliteConnection } from '@litepool/sqlite-base'
import { type LockHolder, MigrationError, MigrationLockError } from './errors.js'
import { ensureTables, tableExists } from './history.js'
import type { TableSql } from './sql.js'

const now = (): number => performance.now()
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Runs a statement that takes the write lock; while another process holds it (`SQLITE_BUSY` after
 * the driver's short busy timeout) retries with pool-core's asynchronous backoff until `deadline`,
 * so the event loop never sleeps inside SQLite.
 */
export function retryBusy<T>(op: () => T, deadline: number, what: string): Promise<T> {
  return retryWhileBusy(op, {
    deadline,
    what,
    onDeadline: (error) =>
      new MigrationError(`the database stayed locked by another connection; gave up on ${what}`, {
        code: 'LITEPOOL_MIGRATION_LOCK_TIMEOUT',
        cause: error,
      }),
  })
}

/** `BEGIN IMMEDIATE` on the pinned connection, retried while another process writes. */
export function beginImmediate(c: SqliteConnection, deadline: number): Promise<void> {
  return retryBusy(() => c.exec(BEGIN_SQL.immediate), deadline, 'BEGIN IMMEDIATE')
}

/** `COMMIT`, retried while busy. */
export function commit(c: SqliteConnection, deadline: number): Promise<void> {
  return retryBusy(() => c.exec(SQL.commit), deadline, 'COMMIT')
}

/** Rolls back if a transaction is open; never throws (the caller is already handling an error). */
export function rollbackQuietly(c: SqliteConnection): void {
  try {
    if (c.inTransaction) c.exec(SQL.rollback)
  } catch {
    // the connection is reset (and rolled back) again when it returns to the pool
  }
}

interface LockRow {
  owner: string
  pid: number
  host: string
  acquired_at: string
  state: string
  step: string | null
  backup: string | null
}

/** The current lock row, if the lock table exists and holds one. */
export function readLock(c: SqliteConnection, sql: TableSql): LockHolder | undefined {
  if (!tableExists(c, sql, sql.lock)) return undefined
  const row = c.get<LockRow>(sql.selectLock)
  if (row === undefined) return undefined
  return {
    owner: row.owner,
    pid: Number(row.pid),
    host: row.host,
    acquiredAt: row.acquired_at,
    state: row.state === 'interrupted' ? 'interrupted' : 'running',
    step: row.step,
    backup: row.backup,
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as { code?: unknown }).code === 'EPERM'
  }
}

/**
 * What to make of someone else's lock row. WAL databases are only shared between processes of one
 * host, so a holder on this host whose pid is gone is dead for sure: its transaction was rolled
 * back by SQLite and its lock row is stale, unless it died in a step that ran outside a
 * transaction. A holder on another host (a shared volume) is presumed alive.
 */
export function judgeHolder(holder: LockHolder): 'live' | 'stale' | 'interrupted' {
  if (holder.state === 'interrupted') return 'interrupted'
  if (holder.host !== hostname() || pidAlive(holder.pid)) return 'live'
  return holder.step === null ? 'stale' : 'interrupted'
}

/** Describes a holder for messages: `pid 123 on host (since 2026-…)`. */
export function describeHolder(holder: LockHolder): string {
  return `pid ${holder.pid} on ${holder.host} (since ${holder.acquiredAt})`
}

function interruptedError(holder: LockHolder, target: string): MigrationLockError {
  const where = holder.step === null ? 'a step' : holder.step
  const backup = holder.backup === null ? 'no backup was made' : `its backup is ${holder.backup}`
  return new MigrationLockError(
    `a migration run on ${target} by ${describeHolder(holder)} stopped in the middle of ${where}, which runs outside a transaction, ` +
      `so the database may hold part of it (${backup}). Check the database, then run \`litepool-migrate unlock\` (or migrator.unlock()).`,
    holder,
    'LITEPOOL_MIGRATION_INTERRUPTED',
  )
}

/** Options of {@link RunLock.acquire}. */
export interface AcquireLockOptions {
  /** Runs inside the acquiring transaction before the tables are created; `fresh` = no history table yet. */
  readonly check?: (fresh: boolean) => void
  /** Called once when the run starts waiting for another holder. */
  readonly onWait?: (holder: LockHolder) => void
}

/**
 * The migration lock: one row in `<table>_lock`, written inside `BEGIN IMMEDIATE`, held for a whole
 * run — across transactions, and across steps that run outside any transaction. Waiters poll it
 * with plain reads (no write lock, so they never slow the holder down), and take over a row whose
 * process is gone.
 */
export class RunLock {
  /** Random id of this run, stored in the row. */
  readonly owner: string = randomUUID()
  readonly #c: SqliteConnection
  readonly #sql: TableSql
  readonly #timeoutMs: number
  readonly #target: string
  /** The stale holder this run took the lock over from, if any. */
  tookOverFrom: LockHolder | undefined

  constructor(c: SqliteConnection, sql: TableSql, timeoutMs: number, target: string) {
    this.#c = c
    this.#sql = sql
    this.#timeoutMs = timeoutMs
    this.#target = target
  }

  /** Takes the lock, waiting (asynchronously) up to the timeout for another run to finish. */
  async acquire(options: AcquireLockOptions = {}): Promise<void> {
    const deadline = now() + this.#timeoutMs
    let delay = 5
    let announced = false
    for (;;) {
      const holder = readLock(this.#c, this.#sql)
      const verdict =
        holder === undefined || holder.owner === this.owner ? 'free' : judgeHolder(holder)
      if (verdict === 'interrupted') throw interruptedError(holder as LockHolder, this.#target)
      if (verdict !== 'live' && (await this.#tryTake(deadline, options))) return
      const waitingFor = holder ?? readLock(this.#c, this.#sql)
      if (now() >= deadline && waitingFor !== undefined) {
        throw new MigrationLockError(
          `another migration run holds the lock on ${this.#target}: ${describeHolder(waitingFor)}; gave up after ${this.#timeoutMs} ms. ` +
            'If that process no longer exists, run `litepool-migrate unlock`.',
          waitingFor,
          'LITEPOOL_MIGRATION_LOCK_TIMEOUT',
        )
      }
      if (!announced && waitingFor !== undefined) {
        announced = true
        options.onWait?.(waitingFor)
      }
      await sleep(Math.min(delay * (0.5 + Math.random()), Math.max(1, deadline - now())))
      delay = Math.min(delay * 2, 250)
    }
  }

  /** One attempt inside BEGIN IMMEDIATE; false when a live holder got there first. */
  async #tryTake(deadline: number, options: AcquireLockOptions): Promise<boolean> {
    const c = this.#c
    await beginImmediate(c, deadline)
    try {
      options.check?.(!tableExists(c, this.#sql, this.#sql.history))
      ensureTables(c, this.#sql)
      const current = readLock(c, this.#sql)
      if (current !== undefined && current.owner !== this.owner) {
        const verdict = judgeHolder(current)
        if (verdict === 'interrupted') throw interruptedError(current, this.#target)
        if (verdict === 'live') {
          rollbackQuietly(c)
          return false
        }
        c.run(this.#sql.deleteLock)
        this.tookOverFrom = current
      }
      if (current?.owner !== this.owner) {
        c.run(this.#sql.insertLock, [this.owner, process.pid, hostname(), new Date().toISOString()])
      }
      await commit(c, deadline)
      return true
    } catch (error) {
      rollbackQuietly(c)
      throw error
    }
  }

  /** Records the step running outside a transaction (or `null` when it is done), and the backup. */
  setStep(step: string | null, backup?: string): Promise<void> {
    return retryBusy(
      () => this.#c.run(this.#sql.setStep, [step, backup ?? null, this.owner]),
      now() + this.#timeoutMs,
      'recording the migration step',
    ).then(() => undefined)
  }

  /** Keeps the lock set, marked interrupted, so later runs refuse until someone unlocks. */
  markInterrupted(): Promise<void> {
    return retryBusy(
      () => this.#c.run(this.#sql.setInterrupted, [this.owner]),
      now() + this.#timeoutMs,
      'marking the run interrupted',
    ).then(() => undefined)
  }

  /** Throws unless this run still owns the lock (someone may have run `unlock` under it). */
  assertOwned(): void {
    const holder = readLock(this.#c, this.#sql)
    if (holder?.owner !== this.owner) {
      throw new MigrationError(
        `the migration lock on ${this.#target} was taken away from this run${holder === undefined ? '' : ` by ${describeHolder(holder)}`}; stopping`,
        { code: 'LITEPOOL_MIGRATION_STATE' },
      )
    }
  }

  /** Deletes this run's lock row. */
  release(): Promise<void> {
    return retryBusy(
      () => this.#c.run(this.#sql.deleteOwnLock, [this.owner]),
      now() + this.#timeoutMs,
      'releasing the migration lock',
    ).then(() => undefined)
  }
}

/** Deletes whatever lock row there is and returns it: the manual way out of an interrupted run. */
export async function forceUnlock(
  c: SqliteConnection,
  sql: TableSql,
  timeoutMs: number,
): Promise<LockHolder | undefined> {
  const holder = readLock(c, sql)
  if (holder === undefined) return undefined
  await retryBusy(() => c.run(sql.deleteLock), now() + timeoutMs, 'removing the migration lock')
  return holder
}
