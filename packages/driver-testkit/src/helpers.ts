import { readdirSync, readlinkSync } from 'node:fs'

/**
 * Open file descriptors of this process on a database's files.
 *
 * @example
 * ```ts
 * const { db, wal, shm, total }: OpenFiles = countOpenFiles('/tmp/app.db') ?? { db: 0, wal: 0, shm: 0, total: 0 }
 * ```
 */
export interface OpenFiles {
  readonly db: number
  readonly wal: number
  readonly shm: number
  readonly total: number
}

/**
 * Counts this process's file descriptors (`/proc/self/fd`) that point at `filename`, its `-wal`
 * and its `-shm` file. Returns `undefined` where `/proc/self/fd` does not exist (not Linux).
 *
 * @example
 * ```ts
 * await driver.close(connection)
 * expect(countOpenFiles(filename)?.total).toBe(0)
 * ```
 */
export function countOpenFiles(filename: string): OpenFiles | undefined {
  let fds: string[]
  try {
    fds = readdirSync('/proc/self/fd')
  } catch {
    return undefined
  }
  let db = 0
  let wal = 0
  let shm = 0
  for (const fd of fds) {
    let target: string
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`)
    } catch {
      continue // the fd readdir itself used, already closed
    }
    if (target === filename) db++
    else if (target === `${filename}-wal`) wal++
    else if (target === `${filename}-shm`) shm++
  }
  return { db, wal, shm, total: db + wal + shm }
}

/**
 * This process's threads (`/proc/self/task`), or `undefined` off Linux: a worker thread that
 * was not ended shows up here.
 *
 * @example
 * ```ts
 * const before = countThreads()
 * await pool.close()
 * expect(countThreads()).toBe(before)
 * ```
 */
export function countThreads(): number | undefined {
  try {
    return readdirSync('/proc/self/task').length
  } catch {
    return undefined
  }
}

/**
 * Polls `read` until it returns `expected` or `ms` pass (threads and descriptors of an ended
 * worker go away shortly after it reports its exit); returns the last value read.
 *
 * @example
 * ```ts
 * expect(await settlesTo(() => countThreads(), before)).toBe(before)
 * ```
 */
export async function settlesTo<T>(read: () => T, expected: T, ms = 3_000): Promise<T> {
  const deadline = Date.now() + ms
  let value = read()
  while (value !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10))
    value = read()
  }
  return value
}

/**
 * A promise with its resolver outside: concurrency tests wait on gates, not on sleeps.
 *
 * @example
 * ```ts
 * const released: Gate = gate()
 * setTimeout(() => released.open(), 10)
 * await released.promise
 * ```
 */
export interface Gate<T = void> {
  readonly promise: Promise<T>
  open(value: T): void
}

/**
 * Creates a {@link Gate}.
 *
 * @example
 * ```ts
 * const locked = gate()
 * void pool.write(async () => { locked.open(); await release.promise })
 * await locked.promise
 * ```
 */
export function gate<T = void>(): Gate<T> {
  let open!: (value: T) => void
  const promise = new Promise<T>((resolve) => {
    open = resolve
  })
  return { promise, open }
}

/**
 * Rejects when `promise` has not settled within `ms`: every wait in the suite is bounded.
 *
 * @example
 * ```ts
 * await within(child.done, 20_000, 'child writers')
 * ```
 */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RangeError(`${what} did not finish within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}
