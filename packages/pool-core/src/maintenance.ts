import { now } from './clock.js'
import type { ResolvedOptions } from './config.js'
import type { MaintenanceReason } from './driver.js'
import type { Entry } from './entry.js'
import { channels } from './events.js'
import type { Lane } from './lane.js'
import { message } from './transaction.js'

/**
 * The driver's maintenance (for SQLite, WAL checkpoints) on the writer, off the hot path: when
 * the writer is idle on the housekeeping schedule, after the commit that makes it due, and at
 * close. The pool knows nothing of what it does; it only picks the moment and holds the writer.
 */
export class Maintenance<C> {
  readonly #options: ResolvedOptions<C, unknown>
  readonly #writer: Lane<C>
  #writesSince = 0
  #lastAt = now()
  /** Maintenance to run when the writer is next released, and why. */
  #due: MaintenanceReason | undefined

  constructor(options: ResolvedOptions<C, unknown>, writer: Lane<C>) {
    this.#options = options
    this.#writer = writer
  }

  /** Counts a commit; asks the driver whether maintenance is due already (checkpoint steps). */
  committed(entry: Entry<C>): void {
    this.#writesSince++
    const { driver, maintenanceIntervalMs } = this.#options
    if (
      this.#due === undefined &&
      maintenanceIntervalMs > 0 &&
      driver.maintenanceDue?.(entry.connection) === true
    ) {
      this.#due = 'due'
    }
  }

  /** The maintenance owed when the writer comes back, taken (so it runs once). */
  takeDue(): MaintenanceReason | undefined {
    const due = this.#due
    this.#due = undefined
    return due
  }

  /** Housekeeping's part: maintenance once `maintenanceIntervalMs` passed with writes since. */
  housekeep(): void {
    const { maintenanceIntervalMs, driver } = this.#options
    if (driver.maintain === undefined || maintenanceIntervalMs === 0 || this.#writesSince === 0)
      return
    if (now() - this.#lastAt < maintenanceIntervalMs) return
    const writer = this.#writer.takeIdleForMaintenance()
    if (writer === undefined) {
      this.#due = 'interval' // run when the writer is next released
      return
    }
    void this.run(writer, 'idle').then(() => this.#writer.release(writer))
  }

  /** Runs the driver's maintenance on the writer; failures are logged and published, never thrown. */
  async run(entry: Entry<C>, reason: MaintenanceReason): Promise<void> {
    const { driver, name, logger } = this.#options
    if (driver.maintain === undefined) return
    const started = now()
    this.#writesSince = 0
    let failure: unknown
    try {
      await driver.maintain(entry.connection, reason)
    } catch (error) {
      failure = error
      logger.warn(
        { event: 'maintenance-failed', pool: name, reason, error },
        `maintenance (${reason}) failed: ${message(error)}`,
      )
    }
    this.#lastAt = now()
    if (channels.maintenance.hasSubscribers) {
      channels.maintenance.publish({
        pool: name,
        reason,
        ms: this.#lastAt - started,
        ...(failure === undefined ? {} : { error: failure }),
      })
    }
  }

  /** With readers closed (so nothing pins the WAL), the closing checkpoint; then the writer closes. */
  async final(): Promise<number> {
    const writer = this.#writer.takeIdleForMaintenance()
    if (writer !== undefined) {
      await this.run(writer, 'close')
      this.#writer.release(writer)
    }
    return this.#writer.destroyAll()
  }
}
