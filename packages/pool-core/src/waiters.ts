import type { Purpose } from './status.js'

/** A caller waiting for a connection. */
export interface Waiter<T> {
  readonly resolve: (value: T) => void
  readonly reject: (error: unknown) => void
  readonly purpose: Purpose
  readonly stack: string | undefined
  readonly enqueuedAt: number
  timer: NodeJS.Timeout | undefined
  readonly signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
}

/**
 * FIFO of waiters. A waiter leaves exactly once — served (`shift`), timed out or aborted
 * (`remove`) — and leaving clears its timer and abort listener, so a waiter that timed out can
 * never be handed a connection afterwards.
 */
export class WaiterQueue<T> {
  #items: (Waiter<T> | undefined)[] = []
  #head = 0
  #size = 0

  get size(): number {
    return this.#size
  }

  push(waiter: Waiter<T>): void {
    this.#items.push(waiter)
    this.#size++
  }

  /** Removes and returns the oldest waiter. */
  shift(): Waiter<T> | undefined {
    while (this.#head < this.#items.length) {
      const waiter = this.#items[this.#head]
      this.#items[this.#head++] = undefined
      if (waiter !== undefined) {
        this.#leave(waiter)
        this.#compact()
        return waiter
      }
    }
    return undefined
  }

  /** Removes `waiter` if it is still queued; false when it already left. */
  remove(waiter: Waiter<T>): boolean {
    const at = this.#items.indexOf(waiter, this.#head)
    if (at < 0) return false
    this.#items[at] = undefined
    this.#leave(waiter)
    return true
  }

  #leave(waiter: Waiter<T>): void {
    this.#size--
    clearTimeout(waiter.timer)
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort)
  }

  #compact(): void {
    if (this.#size === 0) {
      this.#items = []
      this.#head = 0
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
  }
}
