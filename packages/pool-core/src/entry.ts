import { PoolError } from './errors.js'
import type { LaneRole, Purpose } from './status.js'

/**
 * Where a pooled connection is in its life. Changed only by `transition()`, which rejects
 * illegal moves (HikariCP's PoolEntry states, made explicit):
 *
 * ```
 * idle ⇄ in-use      idle ⇄ checking      idle | in-use | checking → closing → closed
 * ```
 */
export type EntryState = 'idle' | 'in-use' | 'checking' | 'closing' | 'closed'

/** Why a connection was closed; appears in events and logs. */
export type CloseReason =
  | 'idle-timeout'
  | 'max-lifetime'
  | 'health-failed'
  | 'broken'
  | 'reset-failed'
  | 'pool-closed'
  | 'forced'

/** The legal moves, as in the diagram above (a switch: asked twice per borrow, no table to load). */
function allowed(from: EntryState, to: EntryState): boolean {
  switch (from) {
    case 'idle':
      return to === 'in-use' || to === 'checking' || to === 'closing'
    case 'in-use':
    case 'checking':
      return to === 'idle' || to === 'closing'
    case 'closing':
      return to === 'closed'
    case 'closed':
      return false
  }
}

let nextId = 1

/** One connection and what the pool knows about it. */
export class Entry<C> {
  readonly id: number = nextId++
  state: EntryState = 'in-use'
  readonly createdAt: number
  /** When this connection should be retired (creation + maxLifetime − jitter); Infinity = never. */
  readonly retireAt: number
  /** When the connection was last returned by a borrower (the idle timeout counts from here). */
  lastUsedAt: number
  /** When the connection last passed a ping (validation before hand-out, keepalive). */
  lastCheckedAt = 0
  /** When the current borrow began: precise when `timed`, else at event-loop-turn resolution. */
  borrowedAt = 0
  /** Whether the current borrow is timed precisely (metrics observed, listeners, leak watch). */
  timed = false
  purpose: Purpose = 'acquire'
  /** Set when the connection must not be reused (max lifetime passed while in use, broken). */
  retireReason: CloseReason | undefined
  /** Borrower's stack, captured only with leak detection on. */
  borrowStack: string | undefined
  leakTimer: NodeJS.Timeout | undefined
  leakReported = false

  constructor(
    readonly connection: C,
    readonly role: LaneRole,
    now: number,
    maxLifetimeMs: number,
  ) {
    this.createdAt = now
    this.lastUsedAt = now
    // Up to 2.5 % jitter (HikariCP), so connections opened together are not all retired together.
    this.retireAt =
      maxLifetimeMs > 0
        ? now + maxLifetimeMs * (1 - Math.random() * 0.025)
        : Number.POSITIVE_INFINITY
  }
}

/** Moves `entry` to `to`, or throws when the move is illegal (a pool bug, never user error). */
export function transition(entry: Entry<unknown>, to: EntryState): void {
  if (!allowed(entry.state, to)) {
    throw new PoolError(
      `internal: connection #${entry.id} cannot go from ${entry.state} to ${to}`,
      {
        code: 'LITEPOOL_INTERNAL_STATE',
      },
    )
  }
  entry.state = to
}

/** When the connection was last known to work: its last use or its last successful ping. */
export function lastSeenAlive(entry: Entry<unknown>): number {
  return Math.max(entry.lastUsedAt, entry.lastCheckedAt)
}
