/**
 * Measured cost per statement, deciding whether a routed read runs on the main thread or on a
 * worker (`workers.route: 'auto'`, decision 0015). The key is opaque to the pool (the SQLite
 * drivers' helpers and the Kysely dialect pass the SQL text).
 */

/** What the router knows of one key. */
export interface Cost {
  /** Runs timed so far. */
  runs: number
  /** Exponential moving average of the timed runs, ms. */
  averageMs: number
  /** Where the key runs now. */
  onWorker: boolean
  /** Runs since the last timed one, on the main thread. */
  untimed: number
  /** Timed main-thread runs in a row that took longer than `slowMs`. */
  over: number
}

/** Main-thread runs timed before sampling starts, and then one run in this many. */
const TIME_FIRST = 8
const SAMPLE_EVERY = 16
/** Weight of a new timing in the average: a steady change shows within a few runs. */
const WEIGHT = 0.3
/** Keys remembered; beyond this the oldest is forgotten (statements built with literals). */
const MAX_KEYS = 2_000

export class CostRouter {
  readonly #costs = new Map<string, Cost>()
  readonly #slowMs: number
  #lastKey: string | undefined
  #last: Cost | undefined

  constructor(slowMs: number) {
    this.#slowMs = slowMs
  }

  /** The record of `key` (created on first sight: it starts on the main thread). */
  of(key: string): Cost {
    // A hot loop repeats one statement: answer it without the Map.
    if (key === this.#lastKey && this.#last !== undefined) return this.#last
    let cost = this.#costs.get(key)
    if (cost !== undefined) {
      // Least recently used goes first when the cap is reached: a hot statement stays known.
      this.#costs.delete(key)
      this.#costs.set(key, cost)
    } else {
      if (this.#costs.size >= MAX_KEYS) {
        const oldest = this.#costs.keys().next().value
        if (oldest !== undefined) this.#costs.delete(oldest)
      }
      cost = { runs: 0, averageMs: 0, onWorker: false, untimed: 0, over: 0 }
      this.#costs.set(key, cost)
    }
    this.#lastKey = key
    this.#last = cost
    return cost
  }

  /**
   * Whether to time this main-thread run: the first few runs of a key, then one in
   * `SAMPLE_EVERY` (a clock read costs ~4 % of a point select; decision 0007).
   */
  shouldTime(cost: Cost): boolean {
    if (cost.runs < TIME_FIRST) return true
    if (++cost.untimed < SAMPLE_EVERY) return false
    cost.untimed = 0
    return true
  }

  /**
   * Adds one timing. A key moves to a worker once two timed main-thread runs in a row took
   * longer than `slowMs` and its average passed it: one run alone can be a preemption or a
   * garbage collection (measured: with two busy workers on 2 cores, ~1 in 1,500 point selects
   * takes over 1 ms, up to 8 ms). A key on a worker whose average (round trip included) falls
   * below a quarter of `slowMs` comes back.
   */
  record(cost: Cost, ms: number): void {
    cost.averageMs = cost.runs === 0 ? ms : cost.averageMs * (1 - WEIGHT) + ms * WEIGHT
    cost.runs++
    if (cost.onWorker) {
      if (cost.averageMs < this.#slowMs / 4) {
        cost.onWorker = false
        cost.over = 0
      }
      return
    }
    cost.over = ms > this.#slowMs ? cost.over + 1 : 0
    if (cost.over >= 2 && cost.averageMs > this.#slowMs) cost.onWorker = true
  }

  /** Keys routed to workers now (diagnostics). */
  get slowKeys(): string[] {
    return [...this.#costs].filter(([, cost]) => cost.onWorker).map(([key]) => key)
  }
}
