import { AsyncLocalStorage } from 'node:async_hooks'
import type { Entry } from './entry.js'

/**
 * The transaction a piece of async code runs inside. Nested `transaction`/`write` calls find it
 * through AsyncLocalStorage and become savepoints on the same connection; `read` and `acquire`
 * use its connection, so they see the transaction's own writes and never wait for the writer
 * lane they already hold.
 */
export interface Scope {
  /** The pool this scope belongs to; another pool's calls ignore it. */
  readonly owner: object
  readonly entry: Entry<unknown>
  /** False once the transaction (or savepoint) finished; late calls then start fresh. */
  active: boolean
  /** Nested transactions started from this scope run one at a time, in call order. */
  tail: Promise<unknown>
}

/**
 * One store for every pool in the process: Node propagates each AsyncLocalStorage instance on
 * every async hop, so a store per pool would make a PoolManager with many pools slow everywhere.
 */
export const storage: AsyncLocalStorage<Scope> = new AsyncLocalStorage<Scope>()

let openTransactions = 0

/**
 * Runs `fn` inside the scope of a new outermost transaction. Pair with {@link endTransaction}.
 *
 * On Node 20, an enabled AsyncLocalStorage installs promise hooks that make every promise in the
 * process several times dearer (measured: an async call 60 → 245 ns). So the store is switched
 * on only while some transaction runs, and off again when the last one ends; reads between
 * transactions then pay nothing. (Node 24's AsyncContextFrame has no such cost.)
 */
export function runTransaction<R>(scope: Scope, fn: (arg: never) => R, arg: unknown): R {
  openTransactions++
  return storage.run(scope, fn as (arg: unknown) => R, arg)
}

/** Ends an outermost transaction's scope, after every nested call started from it has settled. */
export function endTransaction(scope: Scope): void {
  scope.active = false
  if (--openTransactions === 0) storage.disable()
}

/** The active scope of `owner` in the current async context, if any. */
export function currentScope(owner: object): Scope | undefined {
  const scope = storage.getStore()
  return scope?.active && scope.owner === owner ? scope : undefined
}
