import { ConnectionReleasedError } from './errors.js'

/**
 * A connection borrowed with `pool.acquire()`. It has every member of the driver's connection,
 * plus `release()` and `Symbol.asyncDispose`, so `await using` returns it at the end of the scope.
 * After release, any use throws {@link ConnectionReleasedError}; a second release is a warned no-op.
 *
 * @example
 * ```ts
 * {
 *   await using c = await pool.acquire({ role: 'reader' })
 *   const n = c.get('select count(*) as n from users')
 * } // released here
 * ```
 */
export type Lease<C> = C &
  AsyncDisposable & {
    /** Returns the connection to the pool (after resetting it). Safe to call twice. */
    release(): Promise<void>
    /** True once released. */
    readonly released: boolean
  }

/** Wraps `connection` so it can be released exactly once and not used afterwards. */
export function createLease<C extends object>(
  connection: C,
  onRelease: () => Promise<void>,
  onDoubleRelease: () => void,
): Lease<C> {
  let released = false
  const release = async (): Promise<void> => {
    if (released) {
      onDoubleRelease()
      return
    }
    released = true
    await onRelease()
  }
  const bound = new Map<PropertyKey, unknown>()
  return new Proxy(connection, {
    get(target, property) {
      if (property === 'release' || property === Symbol.asyncDispose) return release
      if (property === 'released') return released
      if (released) {
        // `then` is probed whenever the lease is resolved from a promise (returned from an async
        // function, say); answering "not a thenable" keeps that working after release.
        if (property === 'then') return undefined
        throw new ConnectionReleasedError()
      }
      const value: unknown = Reflect.get(target, property, target)
      if (typeof value !== 'function') return value
      let fn = bound.get(property)
      if (fn === undefined) {
        fn = (value as (...args: unknown[]) => unknown).bind(target)
        bound.set(property, fn)
      }
      return fn
    },
    set(target, property, value) {
      if (released) throw new ConnectionReleasedError()
      return Reflect.set(target, property, value, target)
    },
  }) as Lease<C>
}
