import { setImmediate } from 'node:timers'

/**
 * The pool's clock, in milliseconds (`performance.now()`), for durations: metrics, timeouts,
 * events. Each read costs more than it looks: next to real work — a SQLite point select — two
 * reads per borrow measured 4–5 % of its throughput on Linux (clock_gettime is a serialising
 * `rdtsc` that waits for the work in flight), so the hot path avoids it (see {@link turnNow}).
 */
export const now = (): number => performance.now()

let cached = 0
let valid = false
/** The clock `cached` came from: fake timers swap `performance`, and time bases must not mix. */
let source: () => number = performance.now

function invalidate(): void {
  valid = false
}

/**
 * {@link now}, read at most once per event-loop turn: the value may lag by as long as the
 * current turn has run. For bookkeeping that needs no better — when a connection was last used
 * (idle timeout, validation after idle), its lifetime — never for durations or deadlines.
 * Invalidated by Node's own `setImmediate` (imported, so fake timers in tests do not freeze it),
 * and at once when `performance.now` is swapped (fake timers installed), so fake and real time
 * never mix — in our tests or in those of an application using the pool.
 */
export function turnNow(): number {
  const clock = performance.now
  if (valid && clock === source) return cached
  source = clock
  cached = performance.now()
  if (valid) return cached // the invalidation is already scheduled
  valid = true
  setImmediate(invalidate).unref()
  return cached
}
