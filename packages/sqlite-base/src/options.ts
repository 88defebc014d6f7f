import { resolve } from 'node:path'
import { ConfigError, type ConfigIssue } from '@litepool/pool-core'
import { PRAGMA_KEYWORD_PATTERN, PRAGMA_NAME_PATTERN, type PragmaValue } from './sql.js'

/**
 * Options every litepool SQLite driver accepts (drivers may add a few of their own).
 *
 * @example
 * ```ts
 * const options: SqliteDriverOptions = {
 *   filename: 'app.db',
 *   pragmas: { cache_size: -64000 },
 *   checkpoint: { restartAtBytes: 8 * 1024 * 1024 },
 * }
 * ```
 */
export interface SqliteDriverOptions {
  /** Database file. `':memory:'` and `''` are private to one connection (no reader connections). */
  readonly filename: string
  /** Open every connection read-only (`SQLITE_OPEN_READONLY`). Default `false`. */
  readonly readonly?: boolean
  /**
   * SQLite's `busy_timeout` in milliseconds. Default 5. Kept short on purpose: SQLite's busy
   * handler sleeps on the only JavaScript thread, so the pool retries `BEGIN IMMEDIATE` with async
   * backoff instead of letting SQLite block the event loop. `0` fails at once with `SQLITE_BUSY`.
   */
  readonly busyTimeoutMs?: number
  /** Read integers as `bigint` (and report `lastInsertRowid` as `bigint`). Default `false`. */
  readonly safeIntegers?: boolean
  /** Prepared statements kept per connection (LRU). Default 100; `0` turns the cache off. */
  readonly statementCacheSize?: number
  /**
   * Extra pragmas for every connection, applied after litepool's own (so `synchronous` or
   * `foreign_keys` can be overridden). Pragmas litepool manages through options are rejected.
   */
  readonly pragmas?: Readonly<Record<string, PragmaValue>>
  /** `journal_size_limit`: bytes the `-wal` file keeps after a checkpoint resets it. Default 64 MiB; `-1` = no limit. */
  readonly journalSizeLimitBytes?: number
  /**
   * `wal_autocheckpoint` pages on the writer. Default `0` (off): SQLite's automatic checkpoint runs
   * inside whichever COMMIT crosses the threshold and stalls it; the pool calls `maintain` instead.
   */
  readonly autoCheckpointPages?: number
  /** When `maintain` escalates from a PASSIVE checkpoint. */
  readonly checkpoint?: CheckpointThresholds
}

/**
 * `-wal` sizes at which `maintain` escalates its checkpoint. `0` turns an escalation off.
 *
 * @example
 * ```ts
 * betterSqlite3({ filename: 'app.db', checkpoint: { restartAtBytes: 4 << 20, truncateAtBytes: 32 << 20 } })
 * ```
 */
export interface CheckpointThresholds {
  /** Try `RESTART` (wait briefly for readers, so the WAL restarts from the top). Default 16 MiB. */
  readonly restartAtBytes?: number
  /** Try `TRUNCATE` (as RESTART, then shrink the file to 0 bytes). Default 64 MiB. */
  readonly truncateAtBytes?: number
  /**
   * Opt-in: under sustained writes, checkpoint every so many commits instead of once per
   * `maintenanceIntervalMs`, with the count tuned so that one checkpoint takes about this long on
   * the event loop (10 is a good value). Trades write throughput for shorter stalls: measured,
   * event-loop stalls 90–177 ms → 12–16 ms, but ~25 % fewer single-row inserts per second in a
   * tight loop, which then pays for its checkpoints as it goes. Default `0`: interval and idle.
   */
  readonly stepMs?: number
}

/**
 * Options after validation and defaults: what a driver actually uses.
 *
 * @example
 * ```ts
 * const { busyTimeoutMs, memory } = betterSqlite3({ filename: ':memory:' }).options // 5, true
 * ```
 */
export interface ResolvedSqliteOptions {
  /** Absolute path of the database file, or the in-memory name as given. */
  readonly filename: string
  /** True for `':memory:'` and `''`: one private database per connection. */
  readonly memory: boolean
  readonly readonly: boolean
  readonly busyTimeoutMs: number
  readonly safeIntegers: boolean
  readonly statementCacheSize: number
  readonly pragmas: Readonly<Record<string, PragmaValue>>
  readonly journalSizeLimitBytes: number
  readonly autoCheckpointPages: number
  readonly checkpoint: Required<CheckpointThresholds>
}

const MiB = 1024 * 1024

/**
 * litepool's defaults for SQLite connections.
 *
 * @example
 * ```ts
 * SQLITE_DEFAULTS.busyTimeoutMs // 5
 * ```
 */
export const SQLITE_DEFAULTS: Readonly<{
  busyTimeoutMs: number
  statementCacheSize: number
  journalSizeLimitBytes: number
  autoCheckpointPages: number
  restartAtBytes: number
  truncateAtBytes: number
  checkpointStepMs: number
}> = Object.freeze({
  busyTimeoutMs: 5,
  statementCacheSize: 100,
  journalSizeLimitBytes: 64 * MiB,
  autoCheckpointPages: 0,
  restartAtBytes: 16 * MiB,
  truncateAtBytes: 64 * MiB,
  checkpointStepMs: 0,
})

/** Pragmas with a dedicated option (or managed by role); `pragmas` may not set them. */
const MANAGED_PRAGMAS: Readonly<Record<string, string>> = Object.freeze({
  journal_mode: 'WAL is required for reader connections',
  query_only: 'set by role: ON for readers',
  busy_timeout: 'use busyTimeoutMs',
  wal_autocheckpoint: 'use autoCheckpointPages',
  journal_size_limit: 'use journalSizeLimitBytes',
})

const SHARED_KEYS = [
  'filename',
  'readonly',
  'busyTimeoutMs',
  'safeIntegers',
  'statementCacheSize',
  'pragmas',
  'journalSizeLimitBytes',
  'autoCheckpointPages',
  'checkpoint',
]

/**
 * Renders a received value for a {@link ConfigIssue}.
 *
 * @example
 * ```ts
 * describeValue('x') // '"x"'
 * describeValue([1]) // 'an array'
 * ```
 */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined'
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'function') return 'a function'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object' && value !== null) return 'an object'
  return String(value)
}

/**
 * What a driver adds to validation: its own option keys and the issues it found in them.
 *
 * @example
 * ```ts
 * resolveSqliteOptions(options, 'subject', { knownKeys: ['backend'], issues: [] })
 * ```
 */
export interface ExtraOptionIssues {
  readonly knownKeys?: readonly string[]
  readonly issues?: readonly ConfigIssue[]
}

/**
 * Validates driver options and applies {@link SQLITE_DEFAULTS}. Throws one {@link ConfigError}
 * listing every invalid field (unknown keys included), never only the first.
 *
 * @example
 * ```ts
 * const resolved = resolveSqliteOptions({ filename: 'app.db' }, 'better-sqlite3 driver options')
 * resolved.busyTimeoutMs // 5
 * ```
 */
export function resolveSqliteOptions(
  input: unknown,
  subject: string,
  extra: ExtraOptionIssues = {},
): ResolvedSqliteOptions {
  const issues: ConfigIssue[] = [...(extra.issues ?? [])]
  const issue = (path: string, expected: string, value: unknown) =>
    issues.push({ path, expected, received: describeValue(value) })
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ConfigError(subject, [
      { path: '(root)', expected: 'an options object', received: describeValue(input) },
    ])
  }
  const o = input as Record<string, unknown>
  const known = new Set([...SHARED_KEYS, ...(extra.knownKeys ?? [])])
  for (const key of Object.keys(o)) {
    if (!known.has(key)) issue(key, `a known option (${[...known].join(', ')})`, o[key])
  }
  const bool = (key: string): boolean => {
    const v = o[key]
    if (v === undefined) return false
    if (typeof v !== 'boolean') issue(key, 'a boolean', v)
    return v === true
  }
  const int = (path: string, v: unknown, fallback: number, min: number): number => {
    if (v === undefined) return fallback
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
      issue(path, `an integer >= ${min}`, v)
      return fallback
    }
    return v
  }

  const filename = o.filename
  if (typeof filename !== 'string') issue('filename', 'a string (path, or ":memory:")', filename)
  const name = typeof filename === 'string' ? filename : ''
  const memory = name === '' || name === ':memory:'

  const pragmas: Record<string, PragmaValue> = {}
  if (o.pragmas !== undefined) {
    if (typeof o.pragmas !== 'object' || o.pragmas === null || Array.isArray(o.pragmas)) {
      issue('pragmas', 'an object of pragma name to value', o.pragmas)
    } else {
      for (const [key, value] of Object.entries(o.pragmas)) {
        const path = `pragmas.${key}`
        const bare = key.slice(key.indexOf('.') + 1).toLowerCase()
        if (!PRAGMA_NAME_PATTERN.test(key)) issue(path, 'a pragma name (identifier)', key)
        else if (MANAGED_PRAGMAS[bare] !== undefined)
          issue(path, `no value: litepool manages it (${MANAGED_PRAGMAS[bare]})`, value)
        else if (
          !(typeof value === 'boolean') &&
          !(typeof value === 'number' && Number.isFinite(value)) &&
          !(typeof value === 'string' && PRAGMA_KEYWORD_PATTERN.test(value))
        )
          issue(path, 'a number, a boolean or one keyword', value)
        else pragmas[key] = value
      }
    }
  }

  const checkpointInput = o.checkpoint
  let cp: Record<string, unknown> = {}
  if (checkpointInput !== undefined) {
    if (typeof checkpointInput !== 'object' || checkpointInput === null) {
      issue(
        'checkpoint',
        'an object { restartAtBytes?, truncateAtBytes?, stepMs? }',
        checkpointInput,
      )
    } else {
      cp = checkpointInput as Record<string, unknown>
      for (const key of Object.keys(cp)) {
        if (key !== 'restartAtBytes' && key !== 'truncateAtBytes' && key !== 'stepMs')
          issue(`checkpoint.${key}`, 'restartAtBytes, truncateAtBytes or stepMs', cp[key])
      }
    }
  }

  const resolved: ResolvedSqliteOptions = {
    filename: memory ? name : resolve(name),
    memory,
    readonly: bool('readonly'),
    busyTimeoutMs: int('busyTimeoutMs', o.busyTimeoutMs, SQLITE_DEFAULTS.busyTimeoutMs, 0),
    safeIntegers: bool('safeIntegers'),
    statementCacheSize: int(
      'statementCacheSize',
      o.statementCacheSize,
      SQLITE_DEFAULTS.statementCacheSize,
      0,
    ),
    pragmas: Object.freeze(pragmas),
    journalSizeLimitBytes: int(
      'journalSizeLimitBytes',
      o.journalSizeLimitBytes,
      SQLITE_DEFAULTS.journalSizeLimitBytes,
      -1,
    ),
    autoCheckpointPages: int(
      'autoCheckpointPages',
      o.autoCheckpointPages,
      SQLITE_DEFAULTS.autoCheckpointPages,
      0,
    ),
    checkpoint: Object.freeze({
      restartAtBytes: int(
        'checkpoint.restartAtBytes',
        cp.restartAtBytes,
        SQLITE_DEFAULTS.restartAtBytes,
        0,
      ),
      truncateAtBytes: int(
        'checkpoint.truncateAtBytes',
        cp.truncateAtBytes,
        SQLITE_DEFAULTS.truncateAtBytes,
        0,
      ),
      stepMs: int('checkpoint.stepMs', cp.stepMs, SQLITE_DEFAULTS.checkpointStepMs, 0),
    }),
  }
  if (issues.length > 0) throw new ConfigError(subject, issues)
  return Object.freeze(resolved)
}
