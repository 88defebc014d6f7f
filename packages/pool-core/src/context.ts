import { AsyncLocalStorage, executionAsyncId } from 'node:async_hooks'
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
  /** The transaction's connection; {@link NOT_STARTED} while a bound context waits for it. */
  entry: Entry<unknown>
  /** False once the transaction (or savepoint) finished; late calls then start fresh. */
  active: boolean
  /** Nested transactions started from this scope run one at a time, in call order. */
  tail: Promise<unknown>
  /** A plain read's scope (pool without readers): no transaction encloses its nested calls. */
  readonly plain?: true
}

/**
 * One store for every pool in the process: Node propagates each AsyncLocalStorage instance on
 * every async hop, so a store per pool would make a PoolManager with many pools slow everywhere.
 */
export const storage: AsyncLocalStorage<Scope> = new AsyncLocalStorage<Scope>()

/** Settled: a scope with nothing nested pending. */
export const RESOLVED: Promise<unknown> = Promise.resolve()

/** The `entry` of a bound context whose transaction has not started yet. */
export const NOT_STARTED = Object.freeze({}) as Entry<unknown>

/** Outermost transactions running plus {@link trackAsyncContext} holds: the store is on while > 0. */
let holds = 0

/**
 * Runs `fn` inside the scope of a new outermost transaction. Pair with {@link endTransaction}.
 *
 * On Node 20, an enabled AsyncLocalStorage installs promise hooks that make every promise in the
 * process several times dearer (measured: an async call 60 → 245 ns). So the store is switched
 * on only while some transaction runs, and off again when the last one ends; reads between
 * transactions then pay nothing. (Node 24's AsyncContextFrame has no such cost.)
 */
export function runTransaction<R>(scope: Scope, fn: (arg: never) => R, arg: unknown): R {
  holds++
  return storage.run(scope, fn as (arg: unknown) => R, arg)
}

/** Ends an outermost transaction's scope, after every nested call started from it has settled. */
export function endTransaction(scope: Scope): void {
  scope.active = false
  unhold()
}

/**
 * Switching the store on installs Node 20's promise hooks, which costs ~1–1.5 µs (off: ~0.3 µs);
 * done per transaction or per Kysely query, that was a measurable share of each. So the store
 * goes off only once the event loop gets past its current turn with nothing holding it: steady
 * transactional load keeps it on, and reads between bursts still pay nothing.
 *
 * The loop may not turn for a long time, though: a synchronous SQLite driver never does I/O, so
 * a script that awaits pool calls in a loop runs entirely on microtasks. Left to the timer, one
 * transaction at its start would keep every promise in the process dearer until it ends
 * (measured: pool.read 0.85× → 0.82× raw, generic-pool 0.73× → 0.66×). So pool calls made
 * while nothing holds the store also count down to the switch-off ({@link noteUnheldCall}).
 */
function unhold(): void {
  if (--holds > 0) return
  countdown = SWITCH_OFF_AFTER_CALLS
  if (turnQueued) return // at most one pending immediate, however often holds end in a turn
  turnQueued = true
  setImmediate(onTurn).unref()
}

/** An immediate that will switch the store off is pending. */
let turnQueued = false

/** Pool calls left before the store goes off without the loop turning; 0 = not counting. */
let countdown = 0

/**
 * After this many pool calls with nothing holding the store, it goes off without waiting for the
 * loop to turn. A hooked promise costs ~0.2 µs more, and a pool call makes one to three, so a
 * few dozen calls cost more than switching off and on again; a Kysely query or a transaction
 * ends a hold each time, which restarts the count, so steady use of those never toggles it.
 */
const SWITCH_OFF_AFTER_CALLS = 32

/**
 * Called by every pool call: a long run of them with nothing holding switches the store off.
 * Node 20 only: Node 24's store costs nothing while on, so it keeps the timer alone.
 */
export function noteUnheldCall(): void {
  if (countdown > 0 && hookBased && holds === 0 && --countdown === 0) switchOffIfIdle()
}

function onTurn(): void {
  turnQueued = false
  switchOffIfIdle()
}

function switchOffIfIdle(): void {
  countdown = 0
  if (holds === 0) storage.disable()
}

/**
 * Node 20 (and 22 without AsyncContextFrame) implements AsyncLocalStorage with async hooks: a
 * promise created while the store is off has no context of its own, and its continuations run
 * in the process's top-level context. Node 24 carries the context in V8 instead and has neither
 * the hooks nor this method.
 */
const hookBased =
  typeof (AsyncLocalStorage.prototype as { _enable?: unknown })._enable === 'function'

/** A store value that differs from every scope: `run` with it switches the store on. */
const TRACKING = Object.freeze({}) as Scope

/**
 * Keeps AsyncLocalStorage on until the returned function is called (once; later calls do
 * nothing). Integrations call it synchronously before the async chain that will later call
 * `pool.bindContext()` is created: on Node 20 a promise made while the store is off belongs to
 * no context, and binding in its continuation is refused (see `pool.bindContext()`).
 *
 * @example
 * ```ts
 * const untrack = trackAsyncContext()
 * try {
 *   await somethingThatBindsAContextLater()
 * } finally {
 *   untrack()
 * }
 * ```
 */
export function trackAsyncContext(): () => void {
  holds++
  storage.run(TRACKING, noop)
  let held = true
  return () => {
    if (!held) return
    held = false
    unhold()
  }
}

const noop = (): void => {}

/**
 * Makes the rest of the current async context run inside a transaction that starts later (see
 * `pool.bindContext()`). Returns the scope to start that transaction with, or undefined when
 * the context is already inside one of `owner`'s transactions or cannot be bound safely: on
 * Node 20, in a continuation that belongs to no context, the store would be set on the
 * process's top-level context and leak into unrelated code.
 */
export function bindScope(owner: object): Scope | undefined {
  if (currentScope(owner) !== undefined) return undefined
  if (hookBased && executionAsyncId() === 0) return undefined
  const scope: Scope = { owner, entry: NOT_STARTED, active: false, tail: RESOLVED }
  storage.enterWith(scope)
  return scope
}

/** The active scope of `owner` in the current async context, if any. */
export function currentScope(owner: object): Scope | undefined {
  const scope = storage.getStore()
  return scope?.active && scope.owner === owner ? scope : undefined
}
