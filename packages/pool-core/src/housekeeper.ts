import type { ResolvedOptions } from './config.js'

/**
 * The pool's one periodic timer (HikariCP's HouseKeeper): idle timeout, max lifetime,
 * keepalive pings, refilling to `min`, scheduled maintenance. Unref'd, so an idle pool never
 * keeps the process alive; stopped by `close()`.
 */
export class Housekeeper {
  #timer: NodeJS.Timeout | undefined
  readonly intervalMs: number

  constructor(
    options: ResolvedOptions<unknown>,
    private readonly tick: () => void,
  ) {
    this.intervalMs = housekeepingInterval(options)
  }

  start(): void {
    if (this.#timer !== undefined) return
    this.#timer = setInterval(this.tick, this.intervalMs)
    this.#timer.unref()
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }
}

/** Half the shortest enabled period, kept between 50 ms and 30 s. */
export function housekeepingInterval(options: ResolvedOptions<unknown>): number {
  const periods = [
    options.idleTimeoutMs,
    options.healthCheckIntervalMs,
    options.maxLifetimeMs,
    options.maintenanceIntervalMs,
  ].filter((ms) => ms > 0)
  const shortest = periods.length > 0 ? Math.min(...periods) : 60_000
  return Math.min(30_000, Math.max(50, Math.floor(shortest / 2)))
}
