/**
 * The progress line: rewritten in place on a terminal, one line per step elsewhere (CI logs).
 * Written to stderr so stdout keeps only the result tables; logs get a line every 2 s at most.
 */
export class Progress {
  private done = 0
  private total: number
  private readonly started = Date.now()
  private readonly tty: boolean
  private readonly silent: boolean
  private lastWidth = 0
  private lastPrinted = 0

  /** `output`: rewrite one line (a terminal), print a line every 2 s (a log), or nothing (tests). */
  constructor(
    total: number,
    output: 'tty' | 'log' | 'silent' = process.stderr.isTTY === true ? 'tty' : 'log',
  ) {
    this.total = total
    this.tty = output === 'tty'
    this.silent = output === 'silent'
  }

  /** Adds steps discovered later (e.g. a suite that is planned after another ran). */
  grow(steps: number): void {
    this.total += steps
  }

  /** Announces the step now running. */
  step(label: string): void {
    this.done++
    if (this.silent) return
    const seconds = ((Date.now() - this.started) / 1000).toFixed(0)
    const line = `[${String(this.done).padStart(String(this.total).length)}/${this.total} ${seconds}s] ${label}`
    if (this.tty) {
      const padded = line.padEnd(this.lastWidth)
      this.lastWidth = line.length
      process.stderr.write(`\r${padded.slice(0, (process.stderr.columns ?? 120) - 1)}`)
    } else if (Date.now() - this.lastPrinted >= 2000 || this.done === this.total) {
      // Logs get one line every couple of seconds, not one per step.
      this.lastPrinted = Date.now()
      process.stderr.write(`${line}\n`)
    }
  }

  /** Ends the progress line. */
  finish(message: string): void {
    if (this.tty) process.stderr.write(`\r${' '.repeat(Math.min(this.lastWidth, 200))}\r`)
    process.stderr.write(`${message}\n`)
  }

  /** A message that must not be overwritten by the next progress update. */
  note(message: string): void {
    if (this.tty) process.stderr.write(`\r${' '.repeat(Math.min(this.lastWidth, 200))}\r`)
    process.stderr.write(`${message}\n`)
    this.lastWidth = 0
  }
}
