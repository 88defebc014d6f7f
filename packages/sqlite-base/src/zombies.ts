import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

let reclaiming: Promise<void> | undefined
let collect: (() => void) | undefined

/**
 * For bindings that cannot finalize statements themselves (the `@photostructure/sqlite` shim):
 * after `close()` such a handle stays a zombie (`sqlite3_close_v2`) that keeps the database,
 * `-wal` and `-shm` files open until every statement object is garbage collected. Once litepool's
 * references are dropped, one forced GC (shared by every caller in the same tick) lets the
 * statements' finalizers run; the promise resolves after they had their turn.
 * See docs/decisions/0012-close-drops-statements-first.md.
 *
 * @example
 * ```ts
 * const db: NativeDatabase<MyDb> = {
 *   raw, get inTransaction() { return raw.inTx }, prepare, exec,
 *   close() {
 *     raw.close()
 *     return reclaimZombieHandles()
 *   },
 * }
 * ```
 */
export function reclaimZombieHandles(): Promise<void> {
  reclaiming ??= new Promise<void>((resolve) => {
    setImmediate(() => {
      collect ??= (globalThis as { gc?: () => void }).gc ?? exposeGc()
      collect()
      setImmediate(() => {
        reclaiming = undefined
        resolve()
      })
    })
  })
  return reclaiming
}

function exposeGc(): () => void {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}
