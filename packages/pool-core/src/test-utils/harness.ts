/**
 * Shared helpers for pool-core's tests: a pool factory that closes every pool after each test,
 * a logger that records what it is told, promise gates and microtask flushing.
 */
import { afterEach, expect, vi } from 'vitest'
import { createPool, type Driver, type Logger, type Pool, type PoolOptions } from '../index.js'
import {
  type FakeAsyncConnection,
  type FakeConnection,
  type FakeDatabase,
  fakeDatabase,
  fakeDriver,
  liveConnections,
} from './fake-driver.js'

export interface LogRecord {
  readonly level: 'debug' | 'info' | 'warn' | 'error'
  readonly fields: Record<string, unknown>
  readonly message: string
}

export type RecordingLogger = Logger & {
  readonly records: LogRecord[]
  /** Records whose `fields.event` is `event`. */
  events(event: string): LogRecord[]
}

/** A pino-shaped logger that keeps every record (debug included) for assertions. */
export function recordingLogger(): RecordingLogger {
  const records: LogRecord[] = []
  const at =
    (level: LogRecord['level']) =>
    (fields: Record<string, unknown>, message: string): void => {
      records.push({ level, fields, message })
    }
  return {
    records,
    events: (event) => records.filter((r) => r.fields.event === event),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  }
}

export interface Gate<T = void> {
  readonly promise: Promise<T>
  open(value: T): void
  fail(error: unknown): void
}

/** A promise that settles only when the test says so. */
export function gate<T = void>(): Gate<T> {
  let open!: (value: T) => void
  let fail!: (error: unknown) => void
  const promise = new Promise<T>((resolve, reject) => {
    open = resolve
    fail = reject
  })
  return { promise, open, fail }
}

/** Lets pending promise reactions run (no timers involved). */
export async function ticks(n = 30): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve()
}

/** Settles `promise` into a value or an error without letting it reject unhandled. */
export function settle<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  )
}

export interface TestPool {
  readonly pool: Pool<FakeConnection>
  readonly db: FakeDatabase
  readonly logger: RecordingLogger
}

type TestOptions = Partial<PoolOptions<FakeConnection>>

export interface TestDriverOptions {
  /** `false` behaves like a private in-memory database (no reader connections). */
  readonly readers?: boolean
  /** Replaces parts of the fake driver, e.g. a failing commit. */
  readonly patch?: (driver: Driver<FakeConnection>, db: FakeDatabase) => Driver<FakeConnection>
}

/**
 * Registers an `afterEach` that switches back to real timers and closes every pool the test
 * made, then returns the factory. Call once at the top of a test file.
 */
export function useTestPools(): (options?: TestOptions, driver?: TestDriverOptions) => TestPool {
  const made: Pool<FakeConnection>[] = []
  afterEach(async () => {
    vi.useRealTimers()
    await Promise.all(made.splice(0).map((p) => p.close({ timeoutMs: 0 })))
  })
  return (options = {}, driver = {}) => {
    const db = fakeDatabase()
    const logger = recordingLogger()
    const base = fakeDriver(db, driver.readers === undefined ? {} : { readers: driver.readers })
    const pool = createPool<FakeConnection>({
      driver: driver.patch ? driver.patch(base, db) : base,
      logger,
      ...options,
    })
    made.push(pool)
    return { pool, db, logger }
  }
}

export interface WorkerTestPool {
  readonly pool: Pool<FakeConnection, FakeAsyncConnection>
  readonly db: FakeDatabase
  readonly logger: RecordingLogger
}

export interface WorkerDriverOptions {
  /** `false` behaves like a private in-memory database (no reader connections). */
  readonly readers?: boolean
  /** Whether the driver offers worker readers. Default true. */
  readonly workers?: boolean
}

/**
 * {@link useTestPools} for pools whose fake driver offers worker readers (`workers: false` makes
 * one without them, typed the same). Call once at the top of a test file.
 */
export function useWorkerPools(): (
  options?: Partial<PoolOptions<FakeConnection, FakeAsyncConnection>>,
  driver?: WorkerDriverOptions,
) => WorkerTestPool {
  const made: Pool<FakeConnection, FakeAsyncConnection>[] = []
  afterEach(async () => {
    vi.useRealTimers()
    await Promise.all(made.splice(0).map((p) => p.close({ timeoutMs: 0 })))
  })
  return (options = {}, driver = {}) => {
    const db = fakeDatabase()
    const logger = recordingLogger()
    const pool = createPool<FakeConnection, FakeAsyncConnection>({
      driver: fakeDriver(db, {
        workers: driver.workers ?? true,
        ...(driver.readers === undefined ? {} : { readers: driver.readers }),
      }),
      logger,
      ...options,
    })
    made.push(pool)
    return { pool, db, logger }
  }
}

/** Asserts the worker lane is at rest and its counts match the live fake workers. */
export function expectWorkersIdle(
  pool: Pool<FakeConnection, FakeAsyncConnection>,
  db: FakeDatabase,
): void {
  const s = pool.status().workers
  expect(s.inUse).toBe(0)
  expect(s.waiting).toBe(0)
  expect(s.opening).toBe(0)
  const live = db.workers.filter((w) => !w.closed)
  expect(live.length).toBe(s.open)
  expect(s.idle).toBe(s.open)
  expect(live.length).toBeLessThanOrEqual(s.max)
}

/** Asserts every worker connection ever opened was closed exactly once. */
export function expectAllWorkersClosed(db: FakeDatabase): void {
  expect(db.workers.map((w) => [w.id, w.closed, w.closeCount])).toEqual(
    db.workers.map((w) => [w.id, true, 1]),
  )
}

/** Asserts the pool is at rest: nothing borrowed, nobody waiting, counts match live handles. */
export function expectIdle(pool: Pool<FakeConnection>, db: FakeDatabase): void {
  const s = pool.status()
  expect(s.writer.inUse).toBe(false)
  expect(s.writer.queued).toBe(0)
  expect(s.readers.inUse).toBe(0)
  expect(s.waiting).toBe(0)
  const live = liveConnections(db)
  expect(live.reader).toBe(s.readers.open)
  expect(live.writer).toBe(s.writer.open ? 1 : 0)
  expect(live.reader).toBeLessThanOrEqual(s.readers.max)
  expect(db.writeLockHolder).toBeUndefined()
}

/** Asserts every connection ever opened was closed exactly once. */
export function expectAllClosed(db: FakeDatabase): void {
  expect(db.opened.map((c) => [c.id, c.closed, c.closeCount])).toEqual(
    db.opened.map((c) => [c.id, true, 1]),
  )
}

/** Flushes microtasks until `condition` holds; fails after `max` flushes (no timers involved). */
export async function until(condition: () => boolean, max = 2_000): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (condition()) return
    await Promise.resolve()
  }
  expect(condition(), 'condition never became true').toBe(true)
}
