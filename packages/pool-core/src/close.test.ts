import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, vi } from 'vitest'
import { createPool, PoolClosedError, silentLogger } from './index.js'
import {
  type FakeConnection,
  fakeDatabase,
  fakeDriver,
  liveConnections,
} from './test-utils/fake-driver.js'
import { expectAllClosed, gate, settle, ticks, until, useTestPools } from './test-utils/harness.js'

const makePool = useTestPools()

describe('close()', () => {
  it('is idempotent: every call returns the same promise', async () => {
    const { pool, db } = makePool()
    await pool.read(() => {})
    const first = pool.close()
    expect(pool.close()).toBe(first)
    expect(pool[Symbol.asyncDispose]()).toBe(first)
    await first
    expect(pool.status()).toMatchObject({ state: 'closed', closed: true })
    expectAllClosed(db)
  })

  it('rejects queued waiters with PoolClosedError at once', async () => {
    const { pool } = makePool({ readers: { min: 0, max: 1 } })
    const g = gate()
    const running = pool.write(() => g.promise)
    const reader = await pool.acquire()
    const queuedWrite = settle(pool.write(() => {}))
    const queuedRead = settle(pool.read(() => {}))
    await ticks()
    const closing = pool.close()
    expect((await queuedWrite).error).toBeInstanceOf(PoolClosedError)
    expect((await queuedRead).error).toBeInstanceOf(PoolClosedError)
    expect(pool.status().state).toBe('closing')
    g.open()
    await running
    await reader.release()
    await closing
  })

  it('waits for work in flight to finish (and commit) within the timeout', async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool()
    const g = gate()
    const write = pool.write(async (c) => {
      await g.promise
      c.set('a', 1)
      await pool.transaction((t) => t.set('b', 2))
      return pool.read((r) => r.get('b'))
    })
    await ticks()
    let closed = false
    const closing = pool.close({ timeoutMs: 1_000 }).then(() => {
      closed = true
    })
    await vi.advanceTimersByTimeAsync(500)
    expect(closed).toBe(false)
    // nested work of an in-flight transaction still runs while the pool is closing
    g.open()
    expect(await write).toBe(2)
    await closing
    expect(db.committed.get('a')).toBe(1)
    expectAllClosed(db)
  })

  it('at the deadline closes connections under their holders: their work rejects and is not committed', async () => {
    vi.useFakeTimers()
    const { pool, db, logger } = makePool({ closeTimeoutMs: 100 })
    const untouched = gate()
    const touching = gate()
    const write = settle(
      pool.write(async (c) => {
        c.set('a', 1)
        await untouched.promise
      }),
    )
    const read = settle(
      pool.read(async (c) => {
        await touching.promise
        return c.get('a') // the connection is closed by now
      }),
    )
    await ticks()
    const closing = pool.close()
    await vi.advanceTimersByTimeAsync(100)
    await closing
    expect(liveConnections(db)).toEqual({ reader: 0, writer: 0 })
    expect(logger.events('forced-close')[0]?.fields).toMatchObject({
      connections: 2,
      timeoutMs: 100,
    })
    untouched.open()
    touching.open()
    expect((await write).error).toBeInstanceOf(PoolClosedError)
    expect((await read).error).toBeInstanceOf(PoolClosedError)
    expect(db.committed.size).toBe(0)
    expect(db.log).not.toContain('#1 COMMIT')
    expectAllClosed(db)
  })

  it('a transaction closed under touches its connection again: still PoolClosedError, cause kept', async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool()
    const g = gate()
    const write = settle(
      pool.write(async (c) => {
        await g.promise
        c.set('a', 1)
      }),
    )
    await ticks()
    const closing = pool.close({ timeoutMs: 10 })
    await vi.advanceTimersByTimeAsync(10)
    await closing
    g.open()
    const { error } = await write
    expect(error).toBeInstanceOf(PoolClosedError)
    expect((error as PoolClosedError).cause).toBeDefined()
    expect(db.committed.size).toBe(0)
  })

  it('runs the final maintenance with reason "close" after every reader is closed, then closes the writer', async () => {
    const { pool, db } = makePool(
      { readers: { min: 2, max: 4 } },
      {
        patch: (d, fake) => ({
          ...d,
          maintain: (c, reason) => {
            fake.log.push(
              `maintain ${reason}: live readers ${liveConnections(fake).reader}, writer closed ${c.closed}`,
            )
            return d.maintain?.(c, reason)
          },
        }),
      },
    )
    db.closeDelayMs = 5 // an asynchronous driver.close()
    await pool.ready()
    await pool.write((c) => c.set('a', 1))
    await pool.close()
    expect(db.maintenance).toEqual(['close'])
    expect(db.log.at(-1)).toBe('maintain close: live readers 0, writer closed false')
    // close() resolved only after every handle was really closed
    expectAllClosed(db)
  })

  it('after close, every call rejects with PoolClosedError', async () => {
    const { pool } = makePool()
    await pool.close()
    const calls = [
      pool.read(() => {}),
      pool.write(() => {}),
      pool.transaction(() => {}),
      pool.acquire(),
      pool.acquire({ role: 'writer' }),
      pool.ready(),
    ]
    for (const call of calls) await expect(call).rejects.toBeInstanceOf(PoolClosedError)
  })

  it('closes a connection that finishes opening after close() began', async () => {
    const { pool, db } = makePool({ readers: { min: 0, max: 2 } })
    db.openDelayMs = 20
    const read = settle(pool.read(() => 'x'))
    await until(() => db.openAttempts.reader === 1)
    await pool.close({ timeoutMs: 1_000 })
    expect((await read).error).toBeInstanceOf(PoolClosedError)
    expectAllClosed(db)
    expect(db.opened).toHaveLength(1)
  })

  it('`await using` closes the pool at the end of the scope', async () => {
    const db = fakeDatabase()
    {
      await using pool = createPool<FakeConnection>({
        driver: fakeDriver(db),
        logger: silentLogger,
      })
      await pool.write((c) => c.set('a', 1))
    }
    expectAllClosed(db)
  })
})

describe('timers are unref()ed', () => {
  const fixture = fileURLToPath(new URL('./test-utils/unref-fixture.mjs', import.meta.url))
  const dist = fileURLToPath(new URL('../dist/index.mjs', import.meta.url))

  it('a process that used a pool and left it open exits on its own', async () => {
    expect(
      existsSync(dist),
      `${dist} is missing: run pnpm --filter @litepool/pool-core build`,
    ).toBe(true)
    const child = spawn(process.execPath, [fixture], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    )
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
    const code = await exited
    clearTimeout(timer)
    expect(out).toContain('used 2 readers')
    expect(code).toBe(0)
  })
})
