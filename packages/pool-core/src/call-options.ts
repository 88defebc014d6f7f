/**
 * What each pool call accepts besides its callback, and the check every call runs on it when it
 * passes options (or something that is not a function).
 */
import { describe, isInteger, type ThreadChoice } from './config.js'
import type { Role, TransactionMode } from './driver.js'
import { ConfigError, type ConfigIssue } from './errors.js'

/** Options of `read`, `write` and `transaction`. */
export interface CallOptions {
  /** Gives up waiting for a connection (or another process's lock) when this aborts. */
  readonly signal?: AbortSignal
  /** Overrides `acquireTimeoutMs` for this call. */
  readonly timeoutMs?: number
}

/** Options of `pool.read()`. */
export interface ReadOptions extends CallOptions {
  /**
   * `main` (default): `fn` gets a main-thread connection with synchronous methods. `worker`: `fn`
   * gets a connection in a worker thread whose methods return promises, so the statements never
   * block the event loop (inside a transaction: an asynchronous view of its connection).
   */
  readonly thread?: 'main' | 'worker'
}

/** Options of `pool.get()`, `pool.all()` and `pool.routedRead()`. */
export interface QueryOptions extends CallOptions {
  /** Where the statement runs; default the pool's `workers.route` (`auto`: by measured cost). */
  readonly thread?: ThreadChoice
}

/** Options of `pool.iterate()`. */
export interface IterateCallOptions extends QueryOptions {
  /** Rows a worker sends per round trip (one chunk is fetched ahead). Default 256. */
  readonly chunkSize?: number
}

/** Options of `pool.transaction()`. */
export interface TransactionOptions extends CallOptions {
  /** How the outermost transaction begins; ignored for nested ones (savepoints). Default `immediate`. */
  readonly mode?: TransactionMode
  /**
   * A context from `pool.bindContext()`: code running in it joins this transaction as if it
   * ran inside `fn`. Ignored for nested calls, which already run inside a transaction.
   */
  readonly context?: BoundContext | undefined
}

/**
 * An async context waiting to join a transaction: see `pool.bindContext()`. Opaque; pass it
 * to `pool.transaction()` once.
 */
export interface BoundContext {
  readonly __litepoolBoundContext: never
}

/** Options of `pool.acquire()`. */
export interface AcquireOptions extends CallOptions {
  /** `reader` (default) or `writer`. The writer is handed out in autocommit mode. */
  readonly role?: Role
}

/** Options of `pool.close()`. */
export interface CloseOptions {
  /** How long to wait for work in flight before closing under it. Default `closeTimeoutMs`. */
  readonly timeoutMs?: number
}

const MODES: readonly string[] = ['deferred', 'immediate', 'exclusive']
const THREADS: Readonly<Record<string, readonly string[]>> = {
  read: ['main', 'worker'],
  query: ['auto', 'main', 'worker'],
  iterate: ['auto', 'main', 'worker'],
}
const ROLES: readonly string[] = ['reader', 'writer']

/** The options each pool method takes (besides its callback). */
const CALL_OPTIONS = {
  read: ['signal', 'timeoutMs', 'thread'],
  query: ['signal', 'timeoutMs', 'thread'],
  iterate: ['signal', 'timeoutMs', 'thread', 'chunkSize'],
  write: ['signal', 'timeoutMs'],
  transaction: ['signal', 'timeoutMs', 'mode', 'context'],
  acquire: ['signal', 'timeoutMs', 'role'],
  close: ['timeoutMs'],
} as const

/**
 * Checks the arguments of one pool call: the callback (when the method takes one) and the
 * options. Returns a {@link ConfigError} listing every bad field, or undefined. Called only when
 * a call passes options or something that is not a function, so the common call pays nothing.
 */
export function checkCall(
  method: keyof typeof CALL_OPTIONS,
  fn: unknown,
  options: unknown,
): ConfigError | undefined {
  const issues: ConfigIssue[] = []
  const bad = (path: string, expected: string, value: unknown) =>
    issues.push({ path, expected, received: describe(value) })
  const takesCallback = method === 'read' || method === 'write' || method === 'transaction'
  if (takesCallback && typeof fn !== 'function') bad('fn', 'a function (connection) => …', fn)
  if (options !== undefined) {
    if (typeof options !== 'object' || options === null)
      bad('options', 'an options object', options)
    else {
      const o = options as Record<string, unknown>
      const known: readonly string[] = CALL_OPTIONS[method]
      for (const key of Object.keys(o)) {
        if (!known.includes(key)) bad(key, `no such option (known: ${known.join(', ')})`, o[key])
      }
      const least = method === 'close' ? 0 : 1
      if (o.timeoutMs !== undefined && (!isInteger(o.timeoutMs) || o.timeoutMs < least)) {
        bad('timeoutMs', `an integer number of milliseconds >= ${least}`, o.timeoutMs)
      }
      if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
        bad('signal', 'an AbortSignal', o.signal)
      }
      if (known.includes('mode') && o.mode !== undefined && !MODES.includes(o.mode as string)) {
        bad('mode', `one of ${MODES.join(', ')}`, o.mode)
      }
      if (known.includes('role') && o.role !== undefined && !ROLES.includes(o.role as string)) {
        bad('role', `one of ${ROLES.join(', ')}`, o.role)
      }
      const threads = THREADS[method]
      if (
        threads !== undefined &&
        o.thread !== undefined &&
        !threads.includes(o.thread as string)
      ) {
        bad('thread', threads.map((t) => `"${t}"`).join(' | '), o.thread)
      }
      if (o.chunkSize !== undefined && (!isInteger(o.chunkSize) || o.chunkSize < 1)) {
        bad('chunkSize', 'an integer >= 1', o.chunkSize)
      }
      if (known.includes('context') && o.context !== undefined && typeof o.context !== 'object') {
        bad('context', 'a context from pool.bindContext()', o.context)
      }
    }
  }
  return issues.length > 0 ? new ConfigError(`pool.${method}() arguments`, issues) : undefined
}
