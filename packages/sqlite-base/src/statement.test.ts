import { describe, expect, it } from 'vitest'
import type { NativeStatement } from './adapter.js'
import { SqliteStatement, type StatementOwner } from './statement.js'
import { reclaimZombieHandles } from './zombies.js'

/** A native statement whose iterator, like a real binding's, references the statement. */
function fakeNative(rows: readonly unknown[]): NativeStatement {
  const native: NativeStatement = {
    run: () => ({ changes: 0, lastInsertRowid: 0 }),
    get: () => rows[0],
    all: () => [...rows],
    iterate: () => {
      let i = 0
      return {
        next: () =>
          i < rows.length ? { done: false, value: rows[i++] } : { done: true, value: native },
        return: () => ({ done: true, value: undefined }),
      }
    },
  }
  return native
}

describe('SqliteStatement.iterate', () => {
  it('an ended loop the caller still holds does not pin the native statement (decision 0012)', async () => {
    const owner: StatementOwner = {
      iterators: new Set(),
      transactionMayChange: () => {},
      nativeExposed: () => {},
    }
    let native: NativeStatement | undefined = fakeNative([{ x: 1 }, { x: 2 }])
    const collected = new WeakRef(native)
    let statement: SqliteStatement | undefined = new SqliteStatement(native, 'select x', owner)
    native = undefined
    const loop = statement.iterate()
    statement = undefined
    expect(loop.next()).toEqual({ done: false, value: { x: 1 } })
    expect(owner.iterators.size).toBe(1)
    loop.return() // what closing the connection does to an open loop
    expect(owner.iterators.size).toBe(0)
    await reclaimZombieHandles() // forces a GC
    expect(collected.deref()).toBeUndefined()
    expect(loop.next()).toEqual({ done: true, value: undefined }) // `loop` is still held
  })
})
