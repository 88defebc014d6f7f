/**
 * Issue 7's Kysely suite: `@litepool/kysely` (LitepoolDialect) next to Kysely's built-in
 * SqliteDialect on better-sqlite3, both running the same query-builder code.
 *
 * - {@link kyselyLitepoolSubject} is the `kysely-litepool` subject for the throughput and
 *   contention suites (built with `kyselyInstance`, like `kysely`): its point-select ×1 cell is the
 *   single-caller overhead.
 * - {@link runKyselySuite}: 8 async callers, 7 doing point selects (one per event-loop turn, like
 *   request handlers) and 1 "slow read" — a `stream()` of 10 000 rows read by a slow consumer, or a
 *   read-only transaction that awaits between its selects. Reports the fast callers' ops/s and the
 *   slow reads/s, rounds interleaved.
 *
 * Wiring (files owned by apps/bench): add `"@litepool/kysely": "workspace:*"` to its dependencies,
 * `kyselyLitepoolSubject` to `SUBJECTS`, and a `kysely` suite calling `runKyselySuite` to `main.ts`.
 * The dialect is loaded by name at run time, so this file type-checks before that dependency exists.
 */
import { setTimeout as sleep, setImmediate as tick } from 'node:timers/promises'
import { betterSqlite3 } from '@litepool/driver-better-sqlite3'
import { createPool, type PoolStatus, silentLogger } from '@litepool/pool-core'
import Database from 'better-sqlite3'
import { type Dialect, Kysely, SqliteDialect } from 'kysely'
import { fileError, STEP_TIMEOUT_MS, type SuiteContext, withTimeout } from './context.js'
import { median, round } from './stats.js'
import type { Instance, OpenOptions, Subject } from './subjects/index.js'
import { type BenchDatabase, kyselyInstance, kyselySubject } from './subjects/kysely.js'
import { packageVersion } from './subjects/versions.js'

const LITEPOOL_KYSELY = '@litepool/kysely'
type DialectFactory = new (config: { pool: unknown }) => Dialect
let dialectClass: Promise<DialectFactory> | undefined

function litepoolDialect(): Promise<DialectFactory> {
  dialectClass ??= import(LITEPOOL_KYSELY).then(
    (m: { LitepoolDialect: DialectFactory }) => m.LitepoolDialect,
  )
  return dialectClass
}

/** What the threads suite reads of the pool under a LitepoolDialect. */
export interface PoolView {
  status(): PoolStatus
  readonly slowStatements: readonly string[]
}

/** Kysely on a litepool pool: reads on readers, writes and transactions on the writer lane. */
export async function openLitepoolKysely(
  filename: string,
  readers = 4,
): Promise<{ db: Kysely<BenchDatabase>; pool: PoolView; close: () => Promise<void> }> {
  const pool = createPool({
    driver: betterSqlite3({ filename }),
    readers: { min: 1, max: readers },
    logger: silentLogger,
  })
  await pool.ready()
  const LitepoolDialect = await litepoolDialect()
  const db = new Kysely<BenchDatabase>({ dialect: new LitepoolDialect({ pool }) })
  return {
    db,
    pool,
    close: async () => {
      await db.destroy() // the dialect leaves a pool it was handed open
      await pool.close()
    },
  }
}

/** The `kysely-litepool` subject: `@litepool/kysely` with a pool of 1 writer + 4 readers. */
export const kyselyLitepoolSubject: Subject = {
  id: 'kysely-litepool',
  label: 'Kysely LitepoolDialect',
  family: 'builder',
  driver: `better-sqlite3 ${packageVersion('better-sqlite3')}, kysely ${packageVersion('kysely')}, @litepool/kysely`,
  config: {
    connections: '1 writer + readers { min: 1, max: 4 } (selects on readers)',
    journal_mode: 'WAL',
    synchronous: 'NORMAL (litepool default)',
    wal_autocheckpoint: '0: checkpoints scheduled by the pool (litepool default)',
    busy_timeout: '5 ms + async BEGIN retry (litepool default)',
    statements: 'query builder; per-connection statement cache',
    'single insert': 'pool.write(): BEGIN IMMEDIATE … COMMIT',
    'batch transaction': 'db.transaction() (BEGIN IMMEDIATE on the writer lane)',
  },
  async open(filename: string, options: OpenOptions = {}): Promise<Instance> {
    const { db, close } = await openLitepoolKysely(filename, options.poolSize)
    return kyselyInstance(db, close)
  },
}

/** Kysely's SqliteDialect on one better-sqlite3 connection, as the `kysely` subject opens it. */
export function openBuiltinKysely(filename: string): Kysely<BenchDatabase> {
  const database = new Database(filename)
  database.pragma('journal_mode = WAL')
  database.pragma('synchronous = NORMAL')
  return new Kysely<BenchDatabase>({ dialect: new SqliteDialect({ database }) })
}

/** One cell of the Kysely suite. */
export interface KyselyRow {
  readonly scenario: 'stream' | 'snapshot'
  /** `kysely` or `kysely-litepool`. */
  readonly subject: string
  readonly callers: number
  /** Point selects per second of the 7 fast callers (median round). */
  readonly opsPerSec: number
  /** Slow reads completed per second (median round). */
  readonly slowPerSec: number
  readonly rounds: readonly number[]
}

type SlowRead = (db: Kysely<BenchDatabase>) => Promise<unknown>

const SLOW_READS: Readonly<Record<KyselyRow['scenario'], SlowRead>> = {
  stream: async (db) => {
    let n = 0
    for await (const _ of db.selectFrom('items').selectAll().limit(10_000).stream(100)) {
      if (++n % 100 === 0) await tick()
    }
  },
  snapshot: (db) =>
    db
      .transaction()
      .setAccessMode('read only')
      .execute(async (trx) => {
        for (let i = 0; i < 3; i++) {
          await trx
            .selectFrom('items')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirst()
          await sleep(1)
        }
      }),
}

const FAST_CALLERS = 7

interface Cell {
  readonly subject: Subject
  readonly db: Kysely<BenchDatabase>
  readonly ops: number[]
  readonly slow: number[]
  failed: boolean
}

async function mixed(db: Kysely<BenchDatabase>, rows: number, ms: number, slow: SlowRead) {
  const end = performance.now() + ms
  let fast = 0
  let slowDone = 0
  let next = 0
  const fastCaller = async () => {
    while (performance.now() < end) {
      const id = (next++ % rows) + 1
      const row = await db.selectFrom('items').selectAll().where('id', '=', id).executeTakeFirst()
      if (row?.id !== id) throw new RangeError(`point select ${id} returned ${row?.id}`)
      fast++
      await tick()
    }
  }
  const slowCaller = async () => {
    while (performance.now() < end) {
      await slow(db)
      slowDone++
      await tick()
    }
  }
  const started = performance.now()
  await Promise.all([slowCaller(), ...Array.from({ length: FAST_CALLERS }, fastCaller)])
  const seconds = (performance.now() - started) / 1000
  return { ops: fast / seconds, slow: slowDone / seconds }
}

/** Steps this suite reports to the progress line. */
export function kyselySteps(ctx: Pick<SuiteContext, 'settings'>): number {
  return Object.keys(SLOW_READS).length * 2 * ctx.settings.rounds
}

/** Runs the slow-read scenarios for both Kysely dialects, on fresh copies of the seeded file. */
export async function runKyselySuite(ctx: SuiteContext): Promise<KyselyRow[]> {
  const { settings } = ctx
  const windowMs = settings.timing.timeMs * 2
  const rows: KyselyRow[] = []
  for (const [scenario, slow] of Object.entries(SLOW_READS) as [
    KyselyRow['scenario'],
    SlowRead,
  ][]) {
    const builtin = openBuiltinKysely(ctx.fixtures.copy(settings.tableRows, 'kysely'))
    const litepool = await openLitepoolKysely(
      ctx.fixtures.copy(settings.tableRows, 'kysely-litepool'),
    )
    const cells: Cell[] = [
      { subject: kyselySubject, db: builtin, ops: [], slow: [], failed: false },
      { subject: kyselyLitepoolSubject, db: litepool.db, ops: [], slow: [], failed: false },
    ]
    for (let r = 0; r < settings.rounds; r++) {
      for (let k = 0; k < cells.length; k++) {
        const cell = cells[(k + r) % cells.length]!
        ctx.progress.step(`kysely ${scenario} ${cell.subject.label}`)
        if (cell.failed) continue
        try {
          const result = await withTimeout(
            mixed(cell.db, settings.tableRows, windowMs, slow),
            STEP_TIMEOUT_MS,
            'measuring',
          )
          cell.ops.push(result.ops)
          cell.slow.push(result.slow)
        } catch (error) {
          cell.failed = true
          fileError(ctx, { suite: 'kysely', subject: cell.subject, where: scenario }, error)
        }
      }
    }
    await builtin.destroy()
    await litepool.close()
    for (const cell of cells) {
      if (cell.failed || cell.ops.length === 0) continue
      rows.push({
        scenario,
        subject: cell.subject.id,
        callers: FAST_CALLERS + 1,
        opsPerSec: round(median(cell.ops)),
        slowPerSec: round(median(cell.slow)),
        rounds: cell.ops.map((x) => round(x)),
      })
    }
  }
  return rows
}
