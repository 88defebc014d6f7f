/** The slice of a raw connection the hand-written contention transaction uses. */
export interface ByHand {
  exec(sql: string): unknown
  /** Whether a transaction is open (better-sqlite3 `inTransaction`, node:sqlite `isTransaction`). */
  inTransaction(): boolean
  /** The counter's value (`SQL.counterGet`). */
  counter(): number
  /** Sets the counter (`SQL.counterSet`) and logs the event (`SQL.eventInsert`). */
  bump(n: number, worker: number): void
}

/**
 * The contention suite's read-modify-write as users write it on a synchronous driver, whose own
 * transaction helpers cannot span an `await`: `begin` … `COMMIT` by hand with `work` awaited in
 * between, rolled back when anything throws.
 */
export async function incrementByHand(
  db: ByHand,
  begin: string,
  work: () => Promise<void>,
  worker: number,
): Promise<void> {
  db.exec(begin)
  try {
    const n = db.counter()
    await work()
    db.bump(n + 1, worker)
    db.exec('COMMIT')
  } catch (error) {
    if (db.inTransaction()) db.exec('ROLLBACK')
    throw error
  }
}
