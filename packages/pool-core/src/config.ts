import { availableParallelism } from 'node:os'
import type { Driver } from './driver.js'
import { ConfigError, type ConfigIssue } from './errors.js'
import type { Logger } from './logger.js'
import { consoleLogger } from './logger.js'

/**
 * Options of {@link createPool}. Every duration is in milliseconds; `0` turns a feature off.
 *
 * @example
 * ```ts
 * const pool = createPool({
 *   driver: betterSqlite3({ filename: 'app.db' }),
 *   readers: { min: 1, max: 4 },
 *   acquireTimeoutMs: 5_000,
 * })
 * ```
 */
export interface PoolOptions<C, W = unknown> {
  /** The database driver, e.g. `betterSqlite3({ filename })`. */
  readonly driver: Driver<C, W>
  /** Name used in metrics, events and logs. Default: the driver's target. */
  readonly name?: string
  /** Reader connections: opened lazily up to `max`, kept at `min` or more. Default `{ min: 1, max: 4 }`. */
  readonly readers?: { readonly min?: number; readonly max?: number }
  /** How long a caller waits for a connection (and for another process's lock) before failing. Default 30 000. */
  readonly acquireTimeoutMs?: number
  /** Close reader connections idle this long while more than `readers.min` are open. Default 600 000. */
  readonly idleTimeoutMs?: number
  /** Retire connections after this age (minus up to 2.5 % jitter, so they don't all go at once). Default 1 800 000. */
  readonly maxLifetimeMs?: number
  /** Ping idle connections this often; failed ones are closed and replaced. Default 30 000. */
  readonly healthCheckIntervalMs?: number
  /** A connection idle longer than this is pinged before it is handed out. Default 500. */
  readonly validateAfterIdleMs?: number
  /** Warn, with the borrower's stack, about connections held longer than this. Default 0 (off). */
  readonly leakDetectionMs?: number
  /** How often the driver's maintenance (SQLite: WAL checkpoints) runs on the writer. Default 1 000. */
  readonly maintenanceIntervalMs?: number
  /** Publish a `litepool:slow` event when a callback holds a connection longer than this. Default 1 000. */
  readonly slowThresholdMs?: number
  /** Default deadline of `close()` for work still running. Default 10 000. */
  readonly closeTimeoutMs?: number
  /** Structured logger (pino-compatible). Default: warnings and errors to the console. */
  readonly logger?: Logger
  /** Readers in worker threads, and how reads are routed to them (drivers that offer them). */
  readonly workers?: WorkerOptions
}

/**
 * Where reads run: `main` on a connection of the main thread (no thread hop: the fastest for
 * quick statements), `worker` on a connection in a worker thread (the event loop stays free),
 * `auto` by the statement's measured cost (see {@link WorkerOptions.slowMs}).
 */
export type ThreadChoice = 'auto' | 'main' | 'worker'

/**
 * Worker-thread readers: each is a thread with its own connection, opened lazily up to `max`.
 *
 * @example
 * ```ts
 * createPool({ driver, workers: { max: 2, slowMs: 2 } })  // two threads; above 2 ms → worker
 * createPool({ driver, workers: { max: 0 } })             // no threads: every read on the main thread
 * ```
 */
export interface WorkerOptions {
  /** Worker readers kept open. Default 0: threads start on the first read routed to them. */
  readonly min?: number
  /**
   * Most worker readers. Default: the machine's available parallelism, between 1 and 4 (2 on a
   * 2-core machine: slow reads are CPU work that runs beside the main thread). `0` turns them off.
   */
  readonly max?: number
  /**
   * How `pool.get`/`all`/`iterate` and integrations (the Kysely dialect) pick a thread when the
   * call does not say. Default `auto`.
   */
  readonly route?: ThreadChoice
  /**
   * `auto` routing: a statement whose runs take longer than this on average (sampled) moves to a
   * worker, and back to the main thread when its runs there fall below a quarter of it.
   * Default 1 (ms); a point select takes ~0.005 ms, a worker round trip ~0.05 ms.
   */
  readonly slowMs?: number
}

/** Options after defaults, as the pool uses them. */
export interface ResolvedOptions<C, W = unknown> {
  readonly driver: Driver<C, W>
  readonly name: string
  readonly readers: { readonly min: number; readonly max: number }
  readonly acquireTimeoutMs: number
  readonly idleTimeoutMs: number
  readonly maxLifetimeMs: number
  readonly healthCheckIntervalMs: number
  readonly validateAfterIdleMs: number
  readonly leakDetectionMs: number
  readonly maintenanceIntervalMs: number
  readonly slowThresholdMs: number
  readonly closeTimeoutMs: number
  readonly logger: Logger
  readonly workers: {
    readonly min: number
    readonly max: number
    readonly route: ThreadChoice
    readonly slowMs: number
  }
}

const THREADS: readonly string[] = ['auto', 'main', 'worker']

/** Default `workers.max`: one thread per core the process may use, 1 to 4. */
export function defaultWorkerMax(): number {
  return Math.min(4, Math.max(1, availableParallelism()))
}

const DURATIONS = [
  ['acquireTimeoutMs', 30_000, 1],
  ['idleTimeoutMs', 600_000, 0],
  ['maxLifetimeMs', 1_800_000, 0],
  ['healthCheckIntervalMs', 30_000, 0],
  ['validateAfterIdleMs', 500, 0],
  ['leakDetectionMs', 0, 0],
  ['maintenanceIntervalMs', 1_000, 0],
  ['slowThresholdMs', 1_000, 0],
  ['closeTimeoutMs', 10_000, 0],
] as const

const KNOWN = new Set<string>([
  'driver',
  'name',
  'readers',
  'logger',
  'workers',
  ...DURATIONS.map((d) => d[0]),
])

/**
 * Validates `options` and fills in defaults. Throws one {@link ConfigError} listing every
 * invalid field (path, expected, received), not only the first.
 */
export function resolveOptions<C, W>(options: PoolOptions<C, W>): ResolvedOptions<C, W> {
  const issues: ConfigIssue[] = []
  const bad = (path: string, expected: string, value: unknown) =>
    issues.push({ path, expected, received: describe(value) })

  if (typeof options !== 'object' || options === null) {
    throw new ConfigError('pool options', [
      { path: '(root)', expected: 'an options object', received: describe(options) },
    ])
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) {
      issues.push({
        path: key,
        expected: `no such option (known: ${[...KNOWN].join(', ')})`,
        received: describe(options[key as keyof PoolOptions<C, W>]),
      })
    }
  }
  const driver = options.driver as Partial<Driver<C, W>> | undefined
  if (typeof driver !== 'object' || driver === null || typeof driver.open !== 'function') {
    bad('driver', 'a litepool driver (e.g. betterSqlite3({ filename }))', driver)
  }
  if (options.name !== undefined && (typeof options.name !== 'string' || options.name === '')) {
    bad('name', 'a non-empty string', options.name)
  }

  const durations: Record<string, number> = {}
  for (const [key, fallback, least] of DURATIONS) {
    const value = options[key] ?? fallback
    if (!isInteger(value) || value < least)
      bad(key, `an integer number of milliseconds >= ${least}`, value)
    durations[key] = value
  }

  const readers = options.readers ?? {}
  let min = 1
  let max = 4
  if (typeof readers !== 'object' || readers === null) {
    bad('readers', 'an object { min, max }', readers)
  } else {
    for (const key of Object.keys(readers)) {
      if (key !== 'min' && key !== 'max') {
        bad(
          `readers.${key}`,
          'no such option (known: min, max)',
          readers[key as keyof typeof readers],
        )
      }
    }
    // A bad `min` must not make the default `max` invalid too: report each field for itself.
    const minValid = readers.min === undefined || (isInteger(readers.min) && readers.min >= 0)
    max = readers.max ?? Math.max(4, minValid ? (readers.min ?? 0) : 0)
    min = readers.min ?? Math.min(1, max)
    if (!isInteger(max) || max < 1) bad('readers.max', 'an integer >= 1', readers.max)
    if (!minValid) bad('readers.min', 'an integer >= 0', readers.min)
    else if (isInteger(max) && min > max)
      bad('readers.min', `an integer <= readers.max (${max})`, min)
  }

  const logger = options.logger ?? consoleLogger
  if (
    typeof logger !== 'object' ||
    logger === null ||
    typeof logger.warn !== 'function' ||
    typeof logger.error !== 'function'
  ) {
    bad('logger', 'an object with warn() and error() (pino-compatible)', logger)
  }

  const workers = resolveWorkers(options.workers, bad)

  if (issues.length > 0) throw new ConfigError('pool options', issues)
  const valid = driver as Driver<C, W>
  return {
    ...(durations as Record<(typeof DURATIONS)[number][0], number>),
    driver: valid,
    name: options.name ?? valid.target,
    readers: { min, max },
    logger,
    workers,
  }
}

function resolveWorkers(
  value: WorkerOptions | undefined,
  bad: (path: string, expected: string, value: unknown) => void,
): ResolvedOptions<unknown>['workers'] {
  const workers = (value ?? {}) as Record<string, unknown>
  const fallback = { min: 0, max: defaultWorkerMax(), route: 'auto' as ThreadChoice, slowMs: 1 }
  if (typeof workers !== 'object' || workers === null) {
    bad('workers', 'an object { min, max, route, slowMs }', value)
    return fallback
  }
  for (const key of Object.keys(workers)) {
    if (!(key in fallback))
      bad(`workers.${key}`, 'no such option (known: min, max, route, slowMs)', workers[key])
  }
  const minGiven = workers.min ?? 0
  const max = workers.max ?? Math.max(fallback.max, isInteger(minGiven) ? minGiven : 0)
  const min = workers.min ?? 0
  const route = workers.route ?? 'auto'
  const slowMs = workers.slowMs ?? 1
  if (!isInteger(max) || max < 0)
    bad('workers.max', 'an integer >= 0 (0: no worker threads)', workers.max)
  if (!isInteger(min) || min < 0) bad('workers.min', 'an integer >= 0', workers.min)
  else if (isInteger(max) && max >= 0 && min > max)
    bad('workers.min', `an integer <= workers.max (${max})`, min)
  if (typeof route !== 'string' || !THREADS.includes(route))
    bad('workers.route', '"auto" | "main" | "worker"', workers.route)
  if (typeof slowMs !== 'number' || !Number.isFinite(slowMs) || slowMs <= 0)
    bad('workers.slowMs', 'a number of milliseconds > 0', workers.slowMs)
  return {
    min: min as number,
    max: max as number,
    route: route as ThreadChoice,
    slowMs: slowMs as number,
  }
}

/** A safe integer (durations and counts in options). */
export function isInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value)
}

/** Renders a received value for an error message: type plus a short literal. */
export function describe(value: unknown): string {
  if (value === undefined) return 'undefined'
  if (value === null) return 'null'
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${typeof value} ${String(value)}`
  }
  if (typeof value === 'function') return 'a function'
  if (Array.isArray(value)) return `an array of ${value.length}`
  return typeof value === 'object' ? 'an object' : typeof value
}
