/**
 * Property-based: random sequences of pool operations against a model of the committed state
 * (a Map) and of the pool's counts. Every operation must leave the database equal to the model
 * and the pool at rest (nothing borrowed, nobody waiting, counts equal to live handles).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  AcquireAbortedError,
  AcquireTimeoutError,
  createPool,
  type Pool,
  type TransactionMode,
} from './index.js'
import {
  type FakeConnection,
  type FakeDatabase,
  fakeDatabase,
  fakeDriver,
} from './test-utils/fake-driver.js'
import { expectAllClosed, expectIdle, recordingLogger, settle } from './test-utils/harness.js'

type Model = Map<string, number>

const key = fc.constantFrom('a', 'b', 'c', 'd')
const value = fc.integer({ min: 0, max: 99 })
const set = fc.record({ key, value, fail: fc.boolean() })

type Op =
  | { t: 'write'; key: string; value: number; fail: boolean }
  | {
      t: 'transaction'
      key: string
      value: number
      mode: TransactionMode
      nested: { key: string; value: number; fail: boolean }[]
      fail: boolean
    }
  | { t: 'read'; key: string }
  | { t: 'lease'; writer: boolean; leaveOpen: boolean; key: string; value: number }
  | { t: 'timeout'; key: string; ms: number }
  | { t: 'abort'; key: string }
  | { t: 'concurrent'; writes: { key: string; value: number; fail: boolean }[] }
  | { t: 'sloppy-read'; fail: boolean }

const op: fc.Arbitrary<Op> = fc.oneof(
  set.map((s) => ({ t: 'write' as const, ...s })),
  fc
    .record({
      key,
      value,
      mode: fc.constantFrom<TransactionMode>('deferred', 'immediate', 'exclusive'),
      nested: fc.array(set, { maxLength: 3 }),
      fail: fc.boolean(),
    })
    .map((r) => ({ t: 'transaction' as const, ...r })),
  key.map((k) => ({ t: 'read' as const, key: k })),
  fc
    .record({ writer: fc.boolean(), leaveOpen: fc.boolean(), key, value })
    .map((r) => ({ t: 'lease' as const, ...r })),
  fc
    .record({ key, ms: fc.integer({ min: 1, max: 4 }) })
    .map((r) => ({ t: 'timeout' as const, ...r })),
  key.map((k) => ({ t: 'abort' as const, key: k })),
  fc
    .array(set, { minLength: 2, maxLength: 6 })
    .map((writes) => ({ t: 'concurrent' as const, writes })),
  fc.boolean().map((fail) => ({ t: 'sloppy-read' as const, fail })),
)

class Planned extends Error {}

async function apply(pool: Pool<FakeConnection>, model: Model, o: Op): Promise<void> {
  switch (o.t) {
    case 'write': {
      const r = await settle(
        pool.write((c) => {
          c.set(o.key, o.value)
          if (o.fail) throw new Planned()
        }),
      )
      if (o.fail) expect(r.error).toBeInstanceOf(Planned)
      else model.set(o.key, o.value)
      return
    }
    case 'transaction': {
      const next = new Map(model)
      const r = await settle(
        pool.transaction(
          async (c) => {
            c.set(o.key, o.value)
            next.set(o.key, o.value)
            for (const n of o.nested) {
              const inner = await settle(
                pool.transaction(async (t) => {
                  t.set(n.key, n.value)
                  expect(await pool.read((x) => x.get(n.key))).toBe(n.value)
                  if (n.fail) throw new Planned()
                }),
              )
              if (n.fail) expect(inner.error).toBeInstanceOf(Planned)
              else next.set(n.key, n.value)
            }
            if (o.fail) throw new Planned()
          },
          { mode: o.mode },
        ),
      )
      if (o.fail) expect(r.error).toBeInstanceOf(Planned)
      else {
        expect(r.error).toBeUndefined()
        model.clear()
        for (const [k, v] of next) model.set(k, v)
      }
      return
    }
    case 'read':
      expect(await pool.read((c) => c.get(o.key))).toBe(model.get(o.key))
      return
    case 'lease': {
      const c = await pool.acquire({ role: o.writer ? 'writer' : 'reader' })
      expect(c.get(o.key)).toBe(model.get(o.key))
      if (o.leaveOpen && c.role === 'writer') {
        c.begin('immediate')
        c.set(o.key, o.value)
      }
      await c.release()
      return
    }
    case 'timeout': {
      const holder = await pool.acquire({ role: 'writer' })
      let ran = false
      const r = await settle(
        pool.write(
          (c) => {
            ran = true
            c.set(o.key, -1)
          },
          { timeoutMs: o.ms },
        ),
      )
      expect(r.error).toBeInstanceOf(AcquireTimeoutError)
      await holder.release()
      expect(ran).toBe(false)
      return
    }
    case 'abort': {
      const r = await settle(pool.write((c) => c.set(o.key, -1), { signal: AbortSignal.abort() }))
      expect(r.error).toBeInstanceOf(AcquireAbortedError)
      return
    }
    case 'sloppy-read': {
      // a read callback that begins a transaction and leaves it open, returning or throwing
      const r = await settle(
        pool.read((c) => {
          c.begin('deferred')
          if (o.fail) throw new Planned()
        }),
      )
      if (o.fail) expect(r.error).toBeInstanceOf(Planned)
      else expect(r.error).toBeUndefined()
      return
    }
    case 'concurrent': {
      const results = await Promise.all(
        o.writes.map((w) =>
          settle(
            pool.write(async (c) => {
              await Promise.resolve()
              c.set(w.key, w.value)
              if (w.fail) throw new Planned()
            }),
          ),
        ),
      )
      // the writer lane is FIFO: the successful writes land in call order
      o.writes.forEach((w, i) => {
        if (w.fail) expect(results[i]?.error).toBeInstanceOf(Planned)
        else model.set(w.key, w.value)
      })
      return
    }
  }
}

function expectModel(db: FakeDatabase, model: Model): void {
  expect(Object.fromEntries([...db.committed].sort())).toEqual(
    Object.fromEntries([...model].sort()),
  )
}

describe('pool against a model (fast-check)', () => {
  it('random operation sequences keep the committed state and the counts right', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 25 }),
        fc.boolean(),
        fc.record({ min: fc.integer({ min: 0, max: 2 }), extra: fc.integer({ min: 0, max: 2 }) }),
        async (ops, readers, size) => {
          const db = fakeDatabase()
          const pool = createPool<FakeConnection>({
            driver: fakeDriver(db, { readers }),
            logger: recordingLogger(),
            readers: { min: size.min, max: Math.max(1, size.min + size.extra) },
            acquireTimeoutMs: 2_000,
          })
          const model: Model = new Map()
          try {
            for (const o of ops) {
              await apply(pool, model, o)
              expectModel(db, model)
              expectIdle(pool, db)
            }
          } finally {
            await pool.close()
          }
          expectAllClosed(db)
          expectModel(db, model)
        },
      ),
      { numRuns: 150 },
    )
  }, 60_000)
})
