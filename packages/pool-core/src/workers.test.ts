/**
 * Worker-thread readers: the `workers` option, `pool.read(fn, { thread: 'worker' })`, routed
 * reads (`get`, `all`, `iterate`, `routedRead`) and the worker lane's faults, shutdown and
 * housekeeping — on the fake driver's worker readers (test-utils/fake-driver.ts).
 *
 * "Slow" statements are made with fake timers: a callback (or the fake's `onQuery` hook) calls
 * `vi.advanceTimersByTime(ms)`, which moves the pool's clock (`performance.now`) on while the
 * statement "runs", so every timing the router sees is exact.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { defaultWorkerMax, resolveOptions } from './config.js'
import {
  AcquireAbortedError,
  AcquireTimeoutError,
  ConfigError,
  ConnectionHealthError,
  createPool,
  DatabaseError,
  type Pool,
  PoolClosedError,
  type PoolOptions,
} from './index.js'
import {
  type FakeAsyncConnection,
  type FakeConnection,
  type FakeRow,
  type FakeView,
  type FakeWorkerConnection,
  fakeDriver,
  liveConnections,
} from './test-utils/fake-driver.js'
import {
  expectAllClosed,
  expectAllWorkersClosed,
  expectWorkersIdle,
  gate,
  settle,
  ticks,
  until,
  useWorkerPools,
} from './test-utils/harness.js'

/** What `availableParallelism()` answers in this file (undefined: the machine's own). */
const cores = vi.hoisted(() => ({ value: undefined as number | undefined }))
vi.mock('node:os', async (importOriginal) => {
  const os = await importOriginal<typeof import('node:os')>()
  return { ...os, availableParallelism: () => cores.value ?? os.availableParallelism() }
})

const makePool = useWorkerPools()

type WorkerPool = Pool<FakeConnection, FakeAsyncConnection>

function configError(options: unknown): ConfigError {
  try {
    createPool(options as PoolOptions<FakeConnection>)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new RangeError('createPool accepted invalid options')
}

/** The error a promise rejects with (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  const { value, error } = await settle(promise)
  expect(error, `resolved with ${String(value)}`).toBeDefined()
  return error
}

async function collect<T>(rows: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const row of rows) out.push(row)
  return out
}

function seed(db: { committed: Map<string, number> }, entries: Record<string, number>): void {
  for (const [key, value] of Object.entries(entries)) db.committed.set(key, value)
}

/** A routed read whose main run takes `mainMs` and worker run `workerMs` (fake clock). */
function costing(mainMs: number, workerMs = 0) {
  return {
    main: (c: FakeConnection) => {
      if (mainMs > 0) vi.advanceTimersByTime(mainMs)
      return `main:${c.role}`
    },
    worker: async (w: FakeAsyncConnection) => {
      if (workerMs > 0) vi.advanceTimersByTime(workerMs)
      return `${w.thread}:${w.id}`
    },
  }
}

/** Holds every worker statement until the returned gate opens. */
function holdWorkerCalls(db: { workerHold: unknown }) {
  const g = gate()
  ;(db as { workerHold: () => Promise<void> }).workerHold = () => g.promise
  return g
}

// ---- configuration -----------------------------------------------------------------------------

describe('the workers option', () => {
  afterEach(() => {
    cores.value = undefined
  })

  it('defaults to min 0, max = available parallelism clamped to 1..4, route auto, slowMs 1', () => {
    for (const [n, max] of [
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
      [16, 4],
      [0, 1],
    ] as const) {
      cores.value = n
      expect(defaultWorkerMax()).toBe(max)
      expect(resolveOptions({ driver: fakeDriver() }).workers).toEqual({
        min: 0,
        max,
        route: 'auto',
        slowMs: 1,
      })
    }
  })

  it('takes given values; max follows a min above the default; slowMs may be fractional', () => {
    cores.value = 2
    const resolve = (workers: NonNullable<PoolOptions<FakeConnection>['workers']>) =>
      resolveOptions({ driver: fakeDriver(), workers }).workers
    expect(resolve({ min: 1, max: 3, route: 'worker', slowMs: 0.25 })).toEqual({
      min: 1,
      max: 3,
      route: 'worker',
      slowMs: 0.25,
    })
    expect(resolve({ min: 3 })).toMatchObject({ min: 3, max: 3 })
    expect(resolve({ min: 1 })).toMatchObject({ min: 1, max: 2 })
    expect(resolve({ max: 0 })).toMatchObject({ min: 0, max: 0 })
    expect(resolve({ route: 'main' }).route).toBe('main')
  })

  it('reports every bad field of workers in one ConfigError, each once', () => {
    const error = configError({
      driver: fakeDriver(),
      acquireTimeoutMs: 0,
      workers: { min: -1, max: 2.5, route: 'fast', slowMs: 0, threads: 2 },
    })
    expect(error.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'acquireTimeoutMs' }),
        { path: 'workers.min', expected: 'an integer >= 0', received: 'number -1' },
        {
          path: 'workers.max',
          expected: 'an integer >= 0 (0: no worker threads)',
          received: 'number 2.5',
        },
        { path: 'workers.route', expected: '"auto" | "main" | "worker"', received: '"fast"' },
        { path: 'workers.slowMs', expected: 'a number of milliseconds > 0', received: 'number 0' },
        {
          path: 'workers.threads',
          expected: 'no such option (known: min, max, route, slowMs)',
          received: 'number 2',
        },
      ]),
    )
    expect(error.issues).toHaveLength(6)
    expect(error.message).toContain('invalid pool options (6 issues)')
  })

  it.each([
    [{ min: 1.5 }, 'workers.min', 'an integer >= 0'],
    [{ min: '1' }, 'workers.min', 'an integer >= 0'],
    [{ min: 3, max: 2 }, 'workers.min', 'an integer <= workers.max (2)'],
    [{ min: 1, max: 0 }, 'workers.min', 'an integer <= workers.max (0)'],
    [{ max: -1 }, 'workers.max', 'an integer >= 0 (0: no worker threads)'],
    [{ max: Number.POSITIVE_INFINITY }, 'workers.max', 'an integer >= 0 (0: no worker threads)'],
    [{ route: 5 }, 'workers.route', '"auto" | "main" | "worker"'],
    [{ route: 'Worker' }, 'workers.route', '"auto" | "main" | "worker"'],
    [{ slowMs: -1 }, 'workers.slowMs', 'a number of milliseconds > 0'],
    [{ slowMs: Number.NaN }, 'workers.slowMs', 'a number of milliseconds > 0'],
    [{ slowMs: Number.POSITIVE_INFINITY }, 'workers.slowMs', 'a number of milliseconds > 0'],
    [{ slowMs: '1' }, 'workers.slowMs', 'a number of milliseconds > 0'],
  ])('rejects workers: %o with one issue at %s', (workers, path, expected) => {
    const error = configError({ driver: fakeDriver(), workers })
    expect(error.issues.map((i) => [i.path, i.expected])).toEqual([[path, expected]])
  })

  it('rejects a workers value that is not an object', () => {
    const error = configError({ driver: fakeDriver(), workers: 4 })
    expect(error.issues).toEqual([
      { path: 'workers', expected: 'an object { min, max, route, slowMs }', received: 'number 4' },
    ])
  })

  it('workers.max: 0 means no worker lane: worker reads run on a view of a main-thread reader', async () => {
    const { pool, db } = makePool({ workers: { max: 0 } })
    seed(db, { a: 1 })
    expect(pool.status().workers).toEqual({
      open: 0,
      idle: 0,
      inUse: 0,
      opening: 0,
      waiting: 0,
      min: 0,
      max: 0,
    })
    const seen = await pool.read(
      async (w) => ({
        thread: w.thread,
        role: (w as FakeView).connection.role,
        a: await w.get('a'),
      }),
      { thread: 'worker' },
    )
    expect(seen).toEqual({ thread: 'view', role: 'reader', a: 1 })
    // Routed reads forced to a worker run on the main thread too.
    expect(await pool.get('a', undefined, { thread: 'worker' })).toBe(1)
    expect(await pool.routedRead('k', costing(0), { thread: 'worker' })).toBe('main:reader')
    expect(db.workerOpenAttempts).toBe(0)
    expect(db.workerCalls).toEqual([])
    expect(pool.status().readers).toMatchObject({ inUse: 0, idle: 1 })
  })
})

// ---- pool.read(fn, { thread: 'worker' }) -----------------------------------------------------

describe("pool.read(fn, { thread: 'worker' })", () => {
  it('runs fn on a worker connection, opened on first use and reused after', async () => {
    const { pool, db } = makePool()
    seed(db, { a: 1 })
    expect(pool.status().workers).toMatchObject({ open: 0, min: 0, max: defaultWorkerMax() })
    expect(db.workerOpenAttempts).toBe(0)

    const first = await pool.read(
      async (w) => ({ thread: w.thread, id: w.id, a: await w.get('a'), all: await w.all('') }),
      { thread: 'worker' },
    )
    expect(first).toEqual({ thread: 'worker', id: 1, a: 1, all: [{ key: 'a', value: 1 }] })
    expect(pool.status().workers).toMatchObject({ open: 1, idle: 1, inUse: 0 })
    expect(await pool.read((w) => w.id, { thread: 'worker' })).toBe(1) // a synchronous fn
    expect(db.workers).toHaveLength(1)
    expect(db.workerOpenAttempts).toBe(1)
    // No main-thread connection was needed.
    expect(db.opened).toEqual([])
    expectWorkersIdle(pool, db)
  })

  it('returns the worker when fn throws (sync or async), and the caller gets the error', async () => {
    const { pool, db } = makePool()
    const boom = new Error('app failure')
    expect(
      await failure(
        pool.read(
          () => {
            throw boom
          },
          { thread: 'worker' },
        ),
      ),
    ).toBe(boom)
    expect(await failure(pool.read(() => Promise.reject(boom), { thread: 'worker' }))).toBe(boom)
    expect(await pool.read((w) => w.id, { thread: 'worker' })).toBe(1)
    expect(db.workers).toHaveLength(1)
    expect(db.workers[0]?.closeCount).toBe(0)
    expectWorkersIdle(pool, db)
  })

  it('runs up to workers.max reads at once; more callers wait and are served FIFO', async () => {
    const { pool, db } = makePool({ workers: { max: 2 } })
    const gates = [gate(), gate(), gate(), gate()]
    const order: string[] = []
    const reads = gates.map((g, i) =>
      pool.read(
        async (w) => {
          order.push(`start ${i} on #${w.id}`)
          await g.promise
          order.push(`end ${i}`)
          return i
        },
        { thread: 'worker' },
      ),
    )
    await until(() => order.length === 2)
    await ticks()
    expect(pool.status().workers).toMatchObject({ open: 2, inUse: 2, idle: 0, waiting: 2 })
    expect(pool.status().waiting).toBe(2)
    gates[1]?.open()
    await until(() => order.length === 4)
    gates[0]?.open()
    await until(() => order.length === 6)
    expect(order).toEqual([
      'start 0 on #1',
      'start 1 on #2',
      'end 1',
      'start 2 on #2',
      'end 0',
      'start 3 on #1',
    ])
    gates[3]?.open()
    gates[2]?.open()
    expect(await Promise.all(reads)).toEqual([0, 1, 2, 3])
    expect(db.workers).toHaveLength(2)
    expectWorkersIdle(pool, db)
  })

  it('times out like the other lanes: AcquireTimeoutError naming the worker lane', async () => {
    vi.useFakeTimers()
    const { pool } = makePool({ workers: { max: 1 }, acquireTimeoutMs: 1_000 })
    const g = gate()
    const holder = pool.read(() => g.promise, { thread: 'worker' })
    await until(() => pool.status().workers.inUse === 1)
    const short = settle(pool.read(() => 'late', { thread: 'worker', timeoutMs: 100 }))
    let byDefaultSettled = false
    const byDefault = settle(pool.read(() => 'late', { thread: 'worker' })).then((r) => {
      byDefaultSettled = true
      return r
    })
    await ticks()
    expect(pool.status().workers.waiting).toBe(2)

    await vi.advanceTimersByTimeAsync(100)
    const { error } = await short
    expect(error).toBeInstanceOf(AcquireTimeoutError)
    const timeout = error as AcquireTimeoutError
    expect(timeout.message).toContain(
      'timed out after 100 ms waiting for a worker connection to fake.db',
    )
    expect(timeout.message).toContain(
      'worker readers 1 in use, 0 idle, 0 opening (max 1), 1 waiting',
    )
    expect(timeout.status.workers).toMatchObject({ inUse: 1, waiting: 1 })

    await vi.advanceTimersByTimeAsync(899)
    expect(byDefaultSettled).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect((await byDefault).error).toBeInstanceOf(AcquireTimeoutError)
    expect(pool.status().workers.waiting).toBe(0)
    g.open()
    await holder
  })

  it('honours an AbortSignal: aborted before (even with a worker idle) or while waiting', async () => {
    const { pool } = makePool({ workers: { max: 1 } })
    await pool.read(() => {}, { thread: 'worker' }) // one idle worker now
    const reason = new Error('stop')
    const before = await failure(
      pool.read(() => 'ran', { thread: 'worker', signal: AbortSignal.abort(reason) }),
    )
    expect(before).toBeInstanceOf(AcquireAbortedError)
    expect((before as AcquireAbortedError).cause).toBe(reason)

    const g = gate()
    const holder = pool.read(() => g.promise, { thread: 'worker' })
    await until(() => pool.status().workers.inUse === 1)
    const controller = new AbortController()
    const aborted = settle(pool.read(() => 'ran', { thread: 'worker', signal: controller.signal }))
    const next = pool.read((w) => `next on #${w.id}`, { thread: 'worker' })
    await ticks()
    expect(pool.status().workers.waiting).toBe(2)
    controller.abort('no more')
    const { error } = await aborted
    expect(error).toBeInstanceOf(AcquireAbortedError)
    expect((error as AcquireAbortedError).cause).toBe('no more')
    expect(pool.status().workers.waiting).toBe(1)
    g.open()
    await holder
    expect(await next).toBe('next on #1')
    // A signal that never aborts changes nothing.
    expect(
      await pool.read((w) => w.id, { thread: 'worker', signal: new AbortController().signal }),
    ).toBe(1)
  })

  it('counts the worker lane in status() and metrics()', async () => {
    const { pool } = makePool({ readers: { min: 0, max: 2 }, workers: { min: 0, max: 3 } })
    const g = gate()
    const reads = [0, 1].map(() => pool.read(() => g.promise, { thread: 'worker' }))
    await until(() => pool.status().workers.inUse === 2)
    expect(pool.status().workers).toEqual({
      open: 2,
      idle: 0,
      inUse: 2,
      opening: 0,
      waiting: 0,
      min: 0,
      max: 3,
    })
    const metrics = pool.metrics()
    expect(metrics['db.client.connection.max']).toBe(1 + 2 + 3)
    expect(metrics['db.client.connection.count']).toEqual({ idle: 0, used: 2 })
    g.open()
    await Promise.all(reads)
    expect(pool.status().workers).toMatchObject({ open: 2, idle: 2, inUse: 0 })
    expect(pool.metrics()['db.client.connection.count']).toEqual({ idle: 2, used: 0 })
  })

  it('rejects with a ConfigError naming thread when the driver has no worker readers', async () => {
    const { pool, db } = makePool({}, { workers: false })
    const expected = [
      {
        path: 'thread',
        expected: '"main" (the fake driver has no worker readers)',
        received: '"worker"',
      },
    ]
    const error = await failure(pool.read(() => 'ran', { thread: 'worker' }))
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).issues).toEqual(expected)
    // …inside a transaction too (the call is wrong wherever it runs).
    await pool.transaction(async () => {
      const inside = await failure(pool.read(() => 'ran', { thread: 'worker' }))
      expect((inside as ConfigError).issues).toEqual(expected)
    })
    expect(await pool.read((c) => c.role, { thread: 'main' })).toBe('reader')
    expect(pool.status().workers.max).toBe(0)
    expect(db.workerOpenAttempts).toBe(0)
  })

  it("inside a transaction gets a view of the transaction's connection (read-your-writes)", async () => {
    const { pool, db } = makePool()
    seed(db, { k: 1, other: 9 })
    let tx: FakeConnection | undefined
    const seen = await pool.transaction(async (c) => {
      tx = c
      c.set('k', 2)
      c.set('k2', 3)
      return pool.read(
        async (w) => ({
          thread: w.thread,
          same: (w as FakeView).connection === c,
          k: await w.get('k'),
          all: await w.all('k'),
          iterated: await collect(w.iterate('k')),
        }),
        { thread: 'worker' },
      )
    })
    const rows = [
      { key: 'k', value: 2 },
      { key: 'k2', value: 3 },
    ]
    expect(seen).toEqual({ thread: 'view', same: true, k: 2, all: rows, iterated: rows })
    expect(tx?.role).toBe('writer')
    expect(db.workerOpenAttempts).toBe(0)
    // After the commit a real worker sees the writes.
    expect(await pool.read((w) => w.get('k'), { thread: 'worker' })).toBe(2)
    expect(db.workers).toHaveLength(1)
  })

  it('on a pool without readers (private in-memory) gets a view of the writer, and nested calls join it', async () => {
    const { pool, db } = makePool({ acquireTimeoutMs: 200 }, { readers: false })
    seed(db, { a: 1 })
    expect(pool.status().workers.max).toBe(0)
    const seen = await pool.read(
      async (w) => ({
        thread: w.thread,
        role: (w as FakeView).connection.role,
        a: await w.get('a'),
        // The view holds the only connection: a nested read must join it, not wait for it.
        nested: await pool.read((c) => c.get('a')),
      }),
      { thread: 'worker' },
    )
    expect(seen).toEqual({ thread: 'view', role: 'writer', a: 1, nested: 1 })
    expect(db.workerOpenAttempts).toBe(0)
    expect(pool.status().writer).toMatchObject({ open: true, inUse: false })
  })
})

// ---- call options ------------------------------------------------------------------------------

describe('call options of worker and routed reads', () => {
  it.each(['auto', 'gpu', 1, null])(
    'read rejects thread: %o (only main | worker)',
    async (thread) => {
      const { pool, db } = makePool()
      const error = await failure(pool.read(() => 'ran', { thread } as never))
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).issues).toEqual([
        expect.objectContaining({ path: 'thread', expected: '"main" | "worker"' }),
      ])
      expect(db.opened).toEqual([])
      expect(db.workerOpenAttempts).toBe(0)
    },
  )

  it('get, all and routedRead accept thread auto | main | worker and reject anything else', async () => {
    const { pool, db } = makePool()
    seed(db, { a: 1 })
    for (const thread of ['auto', 'main', 'worker'] as const) {
      expect(await pool.get('a', undefined, { thread })).toBe(1)
      expect(await pool.all('a', undefined, { thread })).toEqual([{ key: 'a', value: 1 }])
    }
    const calls = [
      pool.get('a', undefined, { thread: 'both' } as never),
      pool.all('a', undefined, { thread: 'both' } as never),
      pool.routedRead('a', costing(0), { thread: 'both' } as never),
    ]
    for (const call of calls) {
      const error = await failure(call)
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).issues).toEqual([
        { path: 'thread', expected: '"auto" | "main" | "worker"', received: '"both"' },
      ])
    }
  })

  it('get and all reject a chunkSize (an iterate option) and other unknown or bad options', async () => {
    const { pool } = makePool()
    const error = (await failure(
      pool.get('a', undefined, { chunkSize: 5, timeoutMs: 0 } as never),
    )) as ConfigError
    expect(error.issues.map((i) => i.path).sort()).toEqual(['chunkSize', 'timeoutMs'])
    expect(error.issues.find((i) => i.path === 'chunkSize')?.expected).toBe(
      'no such option (known: signal, timeoutMs, thread)',
    )
  })

  it('names the method called in the error for bad options, as for bad SQL', async () => {
    const { pool } = makePool()
    const badOptions = (await failure(
      pool.get('a', undefined, { thread: 'x' } as never),
    )) as ConfigError
    const badSql = (await failure(pool.get(5 as never))) as ConfigError
    expect(badSql.message).toMatch(/^invalid pool\.get\/all\(\) arguments/)
    expect(badOptions.message).toMatch(/^invalid pool\.get\/all\(\) arguments/)
  })

  it('rejects SQL that is not a string, listing bad options beside it', async () => {
    const { pool, db } = makePool()
    const error = (await failure(pool.get(5 as never))) as ConfigError
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.issues).toEqual([
      { path: 'sql', expected: 'the SQL text (a string)', received: 'number' },
    ])
    const both = (await failure(
      pool.all(undefined as never, undefined, { thread: 'x' } as never),
    )) as ConfigError
    expect(both.issues.map((i) => i.path)).toEqual(['sql', 'thread'])
    const key = (await failure(pool.routedRead(null as never, costing(0)))) as ConfigError
    expect(key.issues.map((i) => i.path)).toEqual(['sql'])
    expect(db.opened).toEqual([])
    expect(db.workerCalls).toEqual([])
  })

  it('iterate checks its SQL and options when iteration starts: thread, chunkSize', async () => {
    const { pool, db } = makePool()
    const rows = pool.iterate(7 as never)
    const error = (await failure(rows.next())) as ConfigError
    expect(error.message).toMatch(/^invalid pool\.iterate\(\) arguments/)
    expect(error.issues.map((i) => i.path)).toEqual(['sql'])
    for (const chunkSize of [0, 1.5, '5', -1]) {
      const bad = (await failure(
        pool.iterate('a', undefined, { chunkSize } as never).next(),
      )) as ConfigError
      expect(bad.issues).toEqual([expect.objectContaining({ path: 'chunkSize' })])
      expect(bad.issues[0]?.expected).toBe('an integer >= 1')
    }
    const thread = (await failure(
      pool.iterate('a', undefined, { thread: 'gpu' } as never).next(),
    )) as ConfigError
    expect(thread.issues).toEqual([
      { path: 'thread', expected: '"auto" | "main" | "worker"', received: '"gpu"' },
    ])
    expect(db.opened).toEqual([])
    expect(db.workerCalls).toEqual([])
  })

  it('passes chunkSize to the worker iteration (and none when the call gives none)', async () => {
    const { pool, db } = makePool({ workers: { route: 'worker' } })
    seed(db, { a: 1 })
    await collect(pool.iterate('a', undefined, { chunkSize: 2 }))
    await collect(pool.iterate('a'))
    expect(db.workerCalls.map((c) => c.options)).toEqual([{ chunkSize: 2 }, {}])
  })
})

// ---- routing -----------------------------------------------------------------------------------

describe('routing by measured cost (workers.route auto)', () => {
  it('runs a key on the main thread until its runs there are slow, then on a worker', async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool({ workers: { slowMs: 4 } })
    expect(await pool.routedRead('q', costing(2))).toBe('main:reader')
    expect(pool.slowStatements).toEqual([])
    // Average 4.4 > 4, but one slow run alone does not move it.
    expect(await pool.routedRead('q', costing(10))).toBe('main:reader')
    expect(pool.slowStatements).toEqual([])
    expect(await pool.routedRead('q', costing(10))).toBe('main:reader') // the next still runs here
    expect(db.workers).toHaveLength(0)
    expect(pool.slowStatements).toEqual(['q']) // two slow runs in a row, average 6.08 > 4
    expect(await pool.routedRead('q', costing(10, 5))).toBe('worker:1')
    expect(await pool.routedRead('q', costing(10, 5))).toBe('worker:1')
    expect(db.workers).toHaveLength(1)
    // Other keys have their own record.
    expect(await pool.routedRead('other', costing(0))).toBe('main:reader')
    expect(pool.slowStatements).toEqual(['q'])
  })

  it('brings a key back to the main thread once its worker runs average below slowMs / 4', async () => {
    vi.useFakeTimers()
    const { pool } = makePool({ workers: { slowMs: 4 } })
    const where: string[] = []
    where.push(await pool.routedRead('q', costing(2)))
    where.push(await pool.routedRead('q', costing(10))) // 4.4
    where.push(await pool.routedRead('q', costing(10))) // 6.08, second slow run: to a worker
    // Worker runs of 0 ms: 6.08 · 0.7^k falls below 1 at k = 6.
    for (let i = 0; i < 7; i++) where.push(await pool.routedRead('q', costing(0, 0)))
    expect(where).toEqual([
      'main:reader',
      'main:reader',
      'main:reader',
      'worker:1',
      'worker:1',
      'worker:1',
      'worker:1',
      'worker:1',
      'worker:1',
      'main:reader',
    ])
    expect(pool.slowStatements).toEqual([])
  })

  it('keeps a key on a worker while its worker runs stay above slowMs / 4', async () => {
    vi.useFakeTimers()
    const { pool } = makePool({ workers: { slowMs: 4 } })
    await pool.routedRead('q', costing(20)) // 20 > 4
    expect(pool.slowStatements).toEqual([])
    await pool.routedRead('q', costing(20))
    expect(pool.slowStatements).toEqual(['q'])
    const where: string[] = []
    for (let i = 0; i < 20; i++) where.push(await pool.routedRead('q', costing(0, 2)))
    expect(new Set(where)).toEqual(new Set(['worker:1']))
    expect(pool.slowStatements).toEqual(['q'])
  })

  it('samples main-thread runs: after 8 timed runs only one in 16 is timed', async () => {
    vi.useFakeTimers()
    const { pool } = makePool({ workers: { slowMs: 2 } })
    const where: string[] = []
    for (let i = 0; i < 8; i++) where.push(await pool.routedRead('q', costing(0)))
    // Slow from now on, but runs 9..23 are not timed; run 24 is: 0 · 0.7 + 10 · 0.3 = 3 > 2,
    // the first slow timed run: not enough.
    for (let i = 0; i < 16; i++) where.push(await pool.routedRead('q', costing(10)))
    expect(pool.slowStatements).toEqual([])
    // Runs 25..39 are not timed (they neither count nor reset the count); run 40 is: 5.1.
    for (let i = 0; i < 15; i++) where.push(await pool.routedRead('q', costing(10)))
    expect(pool.slowStatements).toEqual([])
    where.push(await pool.routedRead('q', costing(10)))
    expect(where).toHaveLength(40)
    expect(where.every((w) => w === 'main:reader')).toBe(true)
    expect(pool.slowStatements).toEqual(['q'])
    expect(await pool.routedRead('q', costing(10))).toBe('worker:1')
  })

  it('times pool.get and pool.all by their SQL text, as one key', async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool({ workers: { slowMs: 4 } })
    seed(db, { slow: 7, fast: 1 })
    db.onQuery = (sql, thread) => {
      if (sql === 'slow' && thread === 'main') vi.advanceTimersByTime(10)
    }
    expect(await pool.get('slow')).toBe(7)
    expect(await pool.get('fast')).toBe(1)
    expect(pool.slowStatements).toEqual([])
    expect(await pool.all('slow')).toEqual([{ key: 'slow', value: 7 }]) // the same key's 2nd run
    expect(db.workerCalls).toEqual([])
    expect(pool.slowStatements).toEqual(['slow'])
    expect(await pool.get('slow', [1])).toBe(7)
    expect(await pool.all('slow')).toEqual([{ key: 'slow', value: 7 }])
    expect(await pool.get('fast')).toBe(1)
    expect(db.workerCalls).toEqual([
      { connection: 1, method: 'get', sql: 'slow', params: [1] },
      { connection: 1, method: 'all', sql: 'slow', params: undefined },
    ])
  })

  it('times the first step of a main-thread iterate, and moves a slow one to a worker', async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool({ workers: { slowMs: 4 } })
    seed(db, { e1: 1, e2: 2 })
    db.onQuery = (sql, thread) => {
      if (sql === 'e' && thread === 'main') vi.advanceTimersByTime(10)
    }
    const rows = [
      { key: 'e1', value: 1 },
      { key: 'e2', value: 2 },
    ]
    expect(await collect(pool.iterate('e'))).toEqual(rows)
    expect(pool.slowStatements).toEqual([])
    expect(await collect(pool.iterate('e'))).toEqual(rows)
    expect(db.workerCalls).toEqual([])
    expect(pool.slowStatements).toEqual(['e'])
    expect(await collect(pool.iterate('e'))).toEqual(rows)
    expect(db.workerCalls.map((c) => [c.method, c.sql])).toEqual([['iterate', 'e']])
  })

  it('a call may force its thread: main for a slow key, worker for a new one', async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool({ workers: { slowMs: 4 } })
    seed(db, { x: 5 })
    await pool.routedRead('q', costing(20))
    await pool.routedRead('q', costing(20))
    expect(pool.slowStatements).toEqual(['q'])
    expect(await pool.routedRead('q', costing(0), { thread: 'main' })).toBe('main:reader')
    expect(await pool.routedRead('new', costing(0), { thread: 'worker' })).toBe('worker:1')
    expect(await pool.routedRead('q', costing(0), { thread: 'auto' })).toBe('worker:1')
    expect(await pool.routedRead('new', costing(0))).toBe('main:reader') // auto: a new key
    expect(await pool.get('x', undefined, { thread: 'worker' })).toBe(5)
    expect(db.workerCalls.map((c) => c.sql)).toEqual(['x'])
    expect(await collect(pool.iterate('x', undefined, { thread: 'worker' }))).toEqual([
      { key: 'x', value: 5 },
    ])
    expect(db.workerCalls.map((c) => c.method)).toEqual(['get', 'iterate'])
  })

  it("workers.route: 'main' runs everything on the main thread unless a call says otherwise", async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool({ workers: { route: 'main', slowMs: 4 } })
    for (let i = 0; i < 3; i++) expect(await pool.routedRead('q', costing(20))).toBe('main:reader')
    expect(pool.slowStatements).toEqual([]) // routed 'main' by the pool: not measured
    // A call routed 'auto' is measured, from the start: two slow runs move the key.
    expect(await pool.routedRead('q', costing(20), { thread: 'auto' })).toBe('main:reader')
    expect(pool.slowStatements).toEqual([])
    expect(await pool.routedRead('q', costing(20), { thread: 'auto' })).toBe('main:reader')
    expect(pool.slowStatements).toEqual(['q'])
    expect(db.workers).toHaveLength(0)
    expect(await pool.routedRead('q', costing(0))).toBe('main:reader') // the pool's route wins
    expect(await pool.routedRead('q', costing(0), { thread: 'auto' })).toBe('worker:1')
    expect(await pool.routedRead('q', costing(0), { thread: 'worker' })).toBe('worker:1')
    expect(db.workers).toHaveLength(1)
  })

  it("workers.route: 'worker' runs everything on a worker unless a call says otherwise", async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool({ workers: { route: 'worker' } })
    seed(db, { a: 1 })
    expect(await pool.routedRead('fresh', costing(0))).toBe('worker:1')
    expect(await pool.get('a')).toBe(1)
    expect(await pool.routedRead('fresh', costing(0), { thread: 'main' })).toBe('main:reader')
    expect(db.workerCalls.map((c) => c.sql)).toEqual(['a'])
  })

  it('calls forcing their thread never teach the router: not slow runs, nor record counts', async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool({ workers: { slowMs: 4 } })
    seed(db, { g: 1, e1: 2 })
    db.onQuery = (sql) => {
      if (sql === 'g' || sql === 'e') vi.advanceTimersByTime(20) // slow on either thread
    }
    // Slow forced calls, on both threads, by every helper: nothing is recorded as slow.
    for (let i = 0; i < 3; i++) {
      expect(await pool.routedRead('q', costing(20, 20), { thread: 'main' })).toBe('main:reader')
      expect(await pool.routedRead('q', costing(20, 20), { thread: 'worker' })).toBe('worker:1')
      expect(await pool.get('g', undefined, { thread: 'main' })).toBe(1)
      expect(await pool.all('g', undefined, { thread: 'worker' })).toEqual([{ key: 'g', value: 1 }])
      await collect(pool.iterate('e', undefined, { thread: 'main' }))
      await collect(pool.iterate('e', undefined, { thread: 'worker' }))
    }
    expect(pool.slowStatements).toEqual([])
    // Auto calls then see the keys as new: on the main thread, first runs timed.
    expect(await pool.routedRead('q', costing(0))).toBe('main:reader')
    expect(await pool.get('g')).toBe(1)
    expect(await collect(pool.iterate('e'))).toEqual([{ key: 'e1', value: 2 }])
    expect(pool.slowStatements).toEqual([])

    // Record counts: 8 forced runs of a key would, if counted, start its sampling, and the
    // two slow auto runs after them would go untimed. Uncounted, they are timed and move it.
    for (let i = 0; i < 8; i++) await pool.routedRead('k', costing(0), { thread: 'main' })
    for (let i = 0; i < 8; i++) await pool.routedRead('k', costing(0), { thread: 'worker' })
    expect(await pool.routedRead('k', costing(10))).toBe('main:reader')
    expect(await pool.routedRead('k', costing(10))).toBe('main:reader')
    expect(pool.slowStatements).toEqual(['k'])
    expect(await pool.routedRead('k', costing(10))).toBe('worker:1')
  })

  it('a forced worker call of a new key does not make it route to workers under auto', async () => {
    vi.useFakeTimers()
    const { pool } = makePool({ workers: { slowMs: 4 } })
    // Slow worker round trips (e.g. a thread's warm-up), forced, several in a row.
    for (let i = 0; i < 4; i++) {
      expect(await pool.routedRead('new', costing(0, 20), { thread: 'worker' })).toBe('worker:1')
    }
    expect(pool.slowStatements).toEqual([])
    expect(await pool.routedRead('new', costing(0, 20))).toBe('main:reader')
    expect(await pool.routedRead('new', costing(0, 20), { thread: 'auto' })).toBe('main:reader')
    expect(pool.slowStatements).toEqual([])
  })

  it("workers.route: 'worker' and 'main' pools do not teach the router either", async () => {
    vi.useFakeTimers()
    const { pool } = makePool({ workers: { route: 'worker', slowMs: 4 } })
    for (let i = 0; i < 4; i++) {
      expect(await pool.routedRead('q', costing(20, 20))).toBe('worker:1')
      expect(await pool.routedRead('q', costing(20, 20), { thread: 'main' })).toBe('main:reader')
    }
    expect(pool.slowStatements).toEqual([])
    // Routed 'auto' by the call: the key is new, on the main thread, and learns from here.
    expect(await pool.routedRead('q', costing(20), { thread: 'auto' })).toBe('main:reader')
    expect(await pool.routedRead('q', costing(20), { thread: 'auto' })).toBe('main:reader')
    expect(pool.slowStatements).toEqual(['q'])
    expect(await pool.routedRead('q', costing(0), { thread: 'auto' })).toBe('worker:1')

    const { pool: onMain } = makePool({ workers: { route: 'main', slowMs: 4 } })
    for (let i = 0; i < 8; i++) await onMain.routedRead('m', costing(20))
    expect(onMain.slowStatements).toEqual([])
    // Not counted either: the first auto runs are timed, so two slow ones move the key.
    expect(await onMain.routedRead('m', costing(20), { thread: 'auto' })).toBe('main:reader')
    expect(onMain.slowStatements).toEqual([])
    expect(await onMain.routedRead('m', costing(20), { thread: 'auto' })).toBe('main:reader')
    expect(onMain.slowStatements).toEqual(['m'])
  })

  it("inside a transaction runs on the transaction's connection, whatever the route", async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool({ workers: { route: 'worker' } })
    seed(db, { a: 1 })
    const seen = await pool.transaction(async (tx) => {
      tx.set('a', 2)
      return {
        routed: await pool.routedRead('q', costing(0), { thread: 'worker' }),
        get: await pool.get('a', undefined, { thread: 'worker' }),
        all: await pool.all('a'),
        iterated: await collect(pool.iterate('a', undefined, { thread: 'worker' })),
      }
    })
    expect(seen).toEqual({
      routed: 'main:writer',
      get: 2,
      all: [{ key: 'a', value: 2 }],
      iterated: [{ key: 'a', value: 2 }],
    })
    expect(db.workerOpenAttempts).toBe(0)
  })

  it('a driver without worker readers runs every routed read on the main thread', async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool({ workers: { slowMs: 4 } }, { workers: false })
    seed(db, { a: 1 })
    await pool.routedRead('q', costing(20))
    expect(await pool.routedRead('q', costing(0))).toBe('main:reader')
    expect(await pool.get('a', undefined, { thread: 'worker' })).toBe(1)
    expect(db.workerOpenAttempts).toBe(0)
  })
})

// ---- faults ------------------------------------------------------------------------------------

describe('worker faults', () => {
  it('a worker that dies during a call: the caller gets the broken error, the worker is closed, the next read opens another', async () => {
    const { pool, db } = makePool()
    seed(db, { a: 1 })
    const hold = holdWorkerCalls(db)
    const read = settle(pool.read((w) => w.get('a'), { thread: 'worker' }))
    await until(() => db.workerCalls.length === 1)
    const dying = db.workers[0] as FakeWorkerConnection
    dying.die()
    const { error } = await read
    expect(error).toBeInstanceOf(DatabaseError)
    expect(error).toMatchObject({ kind: 'broken', driverCode: 'LITEPOOL_WORKER_EXIT' })
    expect(dying.closeCount).toBe(1)
    expect(pool.status().workers).toMatchObject({ open: 0, inUse: 0, idle: 0 })

    hold.open()
    expect(await pool.read((w) => w.get('a'), { thread: 'worker' })).toBe(1)
    expect(db.workers.map((w) => w.id)).toEqual([1, 2])
    expectWorkersIdle(pool, db)
  })

  it('a routed read on a worker that dies rejects with the broken error and discards it', async () => {
    const { pool, db } = makePool({ workers: { route: 'worker' } })
    holdWorkerCalls(db)
    const get = settle(pool.get('a'))
    await until(() => db.workerCalls.length === 1)
    db.workers[0]?.die()
    expect((await get).error).toMatchObject({ kind: 'broken', driverCode: 'LITEPOOL_WORKER_EXIT' })
    expect(db.workers[0]?.closeCount).toBe(1)
    expect(pool.status().workers.open).toBe(0)
  })

  it('a worker that died while idle fails the next call on it and is discarded', async () => {
    const { pool, db } = makePool({ validateAfterIdleMs: 0 })
    await pool.read(() => {}, { thread: 'worker' })
    db.workers[0]?.die()
    const error = await failure(pool.read((w) => w.get('a'), { thread: 'worker' }))
    expect(error).toMatchObject({ kind: 'broken' })
    expect(db.workers[0]?.closeCount).toBe(1)
    expect(await pool.read((w) => w.id, { thread: 'worker' })).toBe(2)
  })

  it('a stale idle worker is pinged before it is handed out; a dead one is replaced unseen', async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool({ validateAfterIdleMs: 100 })
    await pool.read(() => {}, { thread: 'worker' })
    const first = db.workers[0] as FakeWorkerConnection
    await vi.advanceTimersByTimeAsync(50)
    expect(await pool.read((w) => w.id, { thread: 'worker' })).toBe(1) // fresh: no ping
    expect(first.pings).toBe(0)
    await vi.advanceTimersByTimeAsync(200)
    expect(await pool.read((w) => w.id, { thread: 'worker' })).toBe(1) // stale: pinged, fine
    expect(first.pings).toBe(1)
    first.die()
    await vi.advanceTimersByTimeAsync(200)
    expect(await pool.read((w) => w.id, { thread: 'worker' })).toBe(2)
    expect(first.pings).toBe(2)
    expect(first.closeCount).toBe(1)
  })

  it('an application error keeps the worker; a worker error of another kind too', async () => {
    const { pool, db } = makePool()
    await failure(pool.read(() => Promise.reject(new Error('app')), { thread: 'worker' }))
    db.workerHold = () =>
      Promise.reject(new DatabaseError('no such table: t', { kind: 'other', driverCode: 'X' }))
    expect(await failure(pool.read((w) => w.get('t'), { thread: 'worker' }))).toMatchObject({
      kind: 'other',
    })
    db.workerHold = undefined
    expect(await pool.read((w) => w.id, { thread: 'worker' })).toBe(1)
    expect(db.workers).toHaveLength(1)
    expectWorkersIdle(pool, db)
  })

  it('resets a worker that needs it before anyone else gets it, even a caller already waiting', async () => {
    const { pool, db } = makePool({ workers: { max: 1 } })
    const g = gate()
    const dirtying = pool.read(
      async (w) => {
        ;(w as FakeWorkerConnection).dirty = true
        await g.promise
        return 'first'
      },
      { thread: 'worker' },
    )
    await until(() => pool.status().workers.inUse === 1)
    const waiting = pool.read(
      (w) => {
        const worker = w as FakeWorkerConnection
        return { id: worker.id, dirty: worker.dirty, resets: worker.resets }
      },
      { thread: 'worker' },
    )
    await ticks()
    g.open()
    expect(await dirtying).toBe('first')
    expect(await waiting).toEqual({ id: 1, dirty: false, resets: 1 })
    // A clean return is not reset.
    await pool.read(() => {}, { thread: 'worker' })
    expect(db.workers[0]?.resets).toBe(1)
    expectWorkersIdle(pool, db)
  })

  it('closes a worker whose reset fails; the caller still gets its own result or error', async () => {
    const { pool, db } = makePool()
    db.failWorkerReset = () => true
    const dirty = (w: FakeAsyncConnection) => {
      ;(w as FakeWorkerConnection).dirty = true
    }
    expect(
      await pool.read(
        (w) => {
          dirty(w)
          return 'value'
        },
        { thread: 'worker' },
      ),
    ).toBe('value')
    expect(db.workers[0]).toMatchObject({ resets: 1, closeCount: 1, closed: true })
    expect(pool.status().workers.open).toBe(0)

    const boom = new Error('app')
    expect(
      await failure(
        pool.read(
          (w) => {
            dirty(w)
            throw boom
          },
          { thread: 'worker' },
        ),
      ),
    ).toBe(boom)
    expect(db.workers[1]).toMatchObject({ resets: 1, closeCount: 1 })
    expect(await pool.read((w) => w.id, { thread: 'worker' })).toBe(3)
  })

  it('a worker that cannot start fails the read with ConnectionHealthError; the next read starts one', async () => {
    const { pool, db } = makePool()
    db.failWorkerOpens = 1
    const error = await failure(pool.read(() => 'ran', { thread: 'worker' }))
    expect(error).toBeInstanceOf(ConnectionHealthError)
    expect((error as Error).message).toContain('could not open a worker connection to fake.db')
    expect((error as Error).cause).toMatchObject({ driverCode: 'FAKE_WORKER_CANTOPEN' })
    expect(pool.status().lastConnectError).toBe('the worker thread failed to start')
    expect(await pool.read((w) => w.id, { thread: 'worker' })).toBe(1)
    expect(db.workerOpenAttempts).toBe(2)
    expect(pool.status().lastConnectError).toBeUndefined()
  })
})

// ---- iterate -----------------------------------------------------------------------------------

describe('pool.iterate', () => {
  const five = { e1: 1, e2: 2, e3: 3, e4: 4, e5: 5, x: 0 }
  const fiveRows: FakeRow[] = [1, 2, 3, 4, 5].map((n) => ({ key: `e${n}`, value: n }))

  describe('on a worker', () => {
    it('yields every row, then returns the worker', async () => {
      const { pool, db } = makePool({ workers: { route: 'worker' } })
      seed(db, five)
      expect(await collect(pool.iterate<FakeRow>('e'))).toEqual(fiveRows)
      const w = db.workers[0] as FakeWorkerConnection
      expect(w.iterations).toEqual(['done'])
      expect(db.workerCalls).toEqual([
        { connection: 1, method: 'iterate', sql: 'e', params: undefined, options: {} },
      ])
      expectWorkersIdle(pool, db)
      expect(db.opened).toEqual([])
    })

    it('holds the worker while the loop runs, and borrows nothing before it starts', async () => {
      const { pool, db } = makePool({ workers: { route: 'worker' } })
      seed(db, five)
      const rows = pool.iterate('e')
      await ticks()
      expect(db.workerOpenAttempts).toBe(0)
      await rows.next()
      expect(pool.status().workers).toMatchObject({ inUse: 1, idle: 0 })
      await rows.return()
      expect(pool.status().workers).toMatchObject({ inUse: 0, idle: 1 })
    })

    it("leaving the loop early ends the worker's iteration and returns the worker", async () => {
      const { pool, db } = makePool({ workers: { route: 'worker' } })
      seed(db, five)
      const seen: FakeRow[] = []
      for await (const row of pool.iterate<FakeRow>('e')) {
        seen.push(row)
        if (seen.length === 2) break
      }
      expect(seen).toEqual(fiveRows.slice(0, 2))
      const w = db.workers[0] as FakeWorkerConnection
      expect(w.iterations).toEqual(['return'])
      expect(w.openIterators).toBe(0)
      expectWorkersIdle(pool, db)
      expect(await collect(pool.iterate('e'))).toHaveLength(5)
      expect(db.workers).toHaveLength(1)
    })

    it('an error thrown in the loop propagates; the worker is returned', async () => {
      const { pool, db } = makePool({ workers: { route: 'worker' } })
      seed(db, five)
      const boom = new Error('consumer failed')
      const run = async () => {
        for await (const _ of pool.iterate('e')) throw boom
      }
      expect(await failure(run())).toBe(boom)
      expect(db.workers[0]?.iterations).toEqual(['return'])
      expectWorkersIdle(pool, db)
    })

    it('a statement error propagates; the worker is kept unless it is broken', async () => {
      const { pool, db } = makePool({ workers: { route: 'worker' } })
      seed(db, five)
      const sqlError = new DatabaseError('no such table', { kind: 'other', driverCode: 'X' })
      db.workerHold = () => Promise.reject(sqlError)
      expect(await failure(collect(pool.iterate('e')))).toBe(sqlError)
      expect(db.workers[0]?.iterations).toEqual(['error'])
      expectWorkersIdle(pool, db)
      expect(pool.status().workers.open).toBe(1)
    })

    it('a worker that dies mid-iteration fails the loop with the broken error and is closed', async () => {
      const { pool, db } = makePool({ workers: { route: 'worker' } })
      seed(db, five)
      const seen: FakeRow[] = []
      const run = async () => {
        for await (const row of pool.iterate<FakeRow>('e')) {
          seen.push(row)
          if (seen.length === 2) db.workers[0]?.die()
        }
      }
      expect(await failure(run())).toMatchObject({
        kind: 'broken',
        driverCode: 'LITEPOOL_WORKER_EXIT',
      })
      expect(seen).toHaveLength(2)
      expect(db.workers[0]?.closeCount).toBe(1)
      expect(pool.status().workers).toMatchObject({ open: 0, inUse: 0 })
    })

    it('resets the worker after an iteration that left it needing it', async () => {
      const { pool, db } = makePool({ workers: { route: 'worker' } })
      seed(db, five)
      for await (const _ of pool.iterate('e')) {
        ;(db.workers[0] as FakeWorkerConnection).dirty = true
        break
      }
      expect(db.workers[0]).toMatchObject({ resets: 1, dirty: false })
      expectWorkersIdle(pool, db)
    })
  })

  describe('on the main thread', () => {
    it('yields every row, then returns the reader', async () => {
      const { pool, db } = makePool({ workers: { route: 'main' } })
      seed(db, five)
      expect(await collect(pool.iterate<FakeRow>('e'))).toEqual(fiveRows)
      const reader = db.opened[0] as FakeConnection
      expect(reader.role).toBe('reader')
      expect(reader.openIterators).toBe(0)
      expect(pool.status().readers).toMatchObject({ inUse: 0, idle: 1 })
      expect(db.workerOpenAttempts).toBe(0)
    })

    it("leaving the loop early ends the connection's iteration and returns the reader", async () => {
      const { pool, db } = makePool({ workers: { route: 'main' } })
      seed(db, five)
      const seen: FakeRow[] = []
      for await (const row of pool.iterate<FakeRow>('e')) {
        seen.push(row)
        if (seen.length === 1) {
          expect(pool.status().readers.inUse).toBe(1)
          break
        }
      }
      expect(seen).toEqual(fiveRows.slice(0, 1))
      expect((db.opened[0] as FakeConnection).openIterators).toBe(0)
      expect(pool.status().readers).toMatchObject({ inUse: 0, idle: 1 })
    })

    it('an error thrown in the loop propagates; the reader is returned', async () => {
      const { pool, db } = makePool({ workers: { route: 'main' } })
      seed(db, five)
      const boom = new Error('consumer failed')
      const run = async () => {
        for await (const _ of pool.iterate('e')) throw boom
      }
      expect(await failure(run())).toBe(boom)
      expect((db.opened[0] as FakeConnection).openIterators).toBe(0)
      expect(pool.status().readers).toMatchObject({ inUse: 0, idle: 1 })
    })

    it('a statement error propagates and returns the reader; a broken one closes it', async () => {
      const { pool, db } = makePool({ workers: { route: 'main' } })
      seed(db, five)
      const sqlError = new DatabaseError('no such table', { kind: 'other', driverCode: 'X' })
      db.onQuery = () => {
        throw sqlError
      }
      expect(await failure(collect(pool.iterate('e')))).toBe(sqlError)
      expect(pool.status().readers).toMatchObject({ open: 1, inUse: 0, idle: 1 })
      const ioError = new DatabaseError('disk I/O error', { kind: 'broken', driverCode: 'IO' })
      db.onQuery = () => {
        throw ioError
      }
      expect(await failure(collect(pool.iterate('e')))).toBe(ioError)
      expect(pool.status().readers).toMatchObject({ open: 0, inUse: 0 })
      expect(liveConnections(db).reader).toBe(0)
    })

    it('on a pool without readers iterates on the writer and returns it', async () => {
      const { pool, db } = makePool({}, { readers: false })
      seed(db, five)
      expect(await collect(pool.iterate('e', undefined, { thread: 'worker' }))).toEqual(fiveRows)
      expect(pool.status().writer).toMatchObject({ open: true, inUse: false })
      expect(db.workerOpenAttempts).toBe(0)
    })
  })
})

// ---- close -------------------------------------------------------------------------------------

describe('close() and the worker lane', () => {
  it('closes every worker connection exactly once (a discarded one is not closed again)', async () => {
    const { pool, db } = makePool({ workers: { max: 3 } })
    const g = gate()
    const reads = [0, 1, 2].map(() => pool.read(() => g.promise, { thread: 'worker' }))
    await until(() => pool.status().workers.inUse === 3)
    g.open()
    await Promise.all(reads)
    db.workers[2]?.die()
    await failure(
      Promise.all([0, 1, 2].map(() => pool.read((w) => w.get('a'), { thread: 'worker' }))),
    )
    await until(() => pool.status().workers.open === 2)
    await pool.close()
    expect(db.workers).toHaveLength(3)
    expectAllWorkersClosed(db)
    expectAllClosed(db)
    expect(pool.status()).toMatchObject({ state: 'closed', workers: { open: 0, idle: 0 } })
  })

  it('waits for a worker read in flight (within timeoutMs), which may still use its worker', async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool()
    seed(db, { a: 1 })
    const g = gate()
    const read = pool.read(
      async (w) => {
        await g.promise
        return w.get('a')
      },
      { thread: 'worker' },
    )
    await until(() => pool.status().workers.inUse === 1)
    let closed = false
    const closing = pool.close({ timeoutMs: 1_000 }).then(() => {
      closed = true
    })
    await vi.advanceTimersByTimeAsync(500)
    expect(closed).toBe(false)
    expect(db.workers[0]?.closed).toBe(false)
    expect(await failure(pool.read(() => 1, { thread: 'worker' }))).toBeInstanceOf(PoolClosedError)
    g.open()
    expect(await read).toBe(1)
    await closing
    expectAllWorkersClosed(db)
  })

  it('at the deadline closes workers under their holders, who get PoolClosedError', async () => {
    vi.useFakeTimers()
    const { pool, db, logger } = makePool()
    holdWorkerCalls(db) // the first read's statement never answers
    const waitingOnWorker = settle(pool.read((w) => w.get('a'), { thread: 'worker' }))
    const g = gate()
    const notTouching = settle(
      pool.read(
        async () => {
          await g.promise
          return 'done'
        },
        { thread: 'worker' },
      ),
    )
    await until(() => pool.status().workers.inUse === 2)
    const closing = pool.close({ timeoutMs: 100 })
    await vi.advanceTimersByTimeAsync(100)
    const { error } = await waitingOnWorker
    expect(error).toBeInstanceOf(PoolClosedError)
    expect((error as Error).message).toContain('while this worker read was running')
    expect((error as Error).cause).toMatchObject({ kind: 'broken' })
    await closing
    expectAllWorkersClosed(db)
    expect(logger.events('forced-close')[0]?.fields.connections).toBe(2)
    g.open()
    expect((await notTouching).error).toBeInstanceOf(PoolClosedError)
    expectAllWorkersClosed(db)
  })

  it('at the deadline fails an iteration in progress with PoolClosedError (worker and main)', async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool()
    seed(db, { e1: 1, e2: 2, e3: 3 })
    const onWorker = pool.iterate('e', undefined, { thread: 'worker' })
    const onMain = pool.iterate('e', undefined, { thread: 'main' })
    expect((await onWorker.next()).value).toEqual({ key: 'e1', value: 1 })
    expect((await onMain.next()).value).toEqual({ key: 'e1', value: 1 })
    const closing = pool.close({ timeoutMs: 100 })
    await vi.advanceTimersByTimeAsync(100)
    await closing
    expect(await failure(onWorker.next())).toBeInstanceOf(PoolClosedError)
    expect(await failure(onMain.next())).toBeInstanceOf(PoolClosedError)
    expectAllWorkersClosed(db)
    expectAllClosed(db)
  })

  it('rejects callers waiting for a worker with PoolClosedError at once', async () => {
    const { pool } = makePool({ workers: { max: 1 } })
    const g = gate()
    const holder = pool.read(() => g.promise.then(() => 'held'), { thread: 'worker' })
    await until(() => pool.status().workers.inUse === 1)
    const queued = settle(pool.read(() => 'ran', { thread: 'worker' }))
    await ticks()
    const closing = pool.close()
    const { error } = await queued
    expect(error).toBeInstanceOf(PoolClosedError)
    expect((error as Error).message).toContain('closed while waiting for a worker connection')
    g.open()
    expect(await holder).toBe('held')
    await closing
  })

  it('after close every worker-bound or routed read rejects with PoolClosedError', async () => {
    const { pool, db } = makePool()
    await pool.read(() => {}, { thread: 'worker' })
    await pool.close()
    const calls: Promise<unknown>[] = [
      pool.read(() => 1, { thread: 'worker' }),
      pool.get('a'),
      pool.get('a', undefined, { thread: 'worker' }),
      pool.all('a', undefined, { thread: 'main' }),
      pool.routedRead('k', costing(0), { thread: 'worker' }),
      pool.iterate('a', undefined, { thread: 'worker' }).next(),
      pool.iterate('a', undefined, { thread: 'main' }).next(),
    ]
    for (const call of calls) expect(await failure(call)).toBeInstanceOf(PoolClosedError)
    expect(db.workerOpenAttempts).toBe(1)
    expect(db.workerCalls).toEqual([])
  })

  it('without a worker lane (workers.max 0) a worker read after close rejects too', async () => {
    const { pool } = makePool({ workers: { max: 0 } })
    await pool.close()
    expect(await failure(pool.read(() => 1, { thread: 'worker' }))).toBeInstanceOf(PoolClosedError)
  })
})

// ---- housekeeping ------------------------------------------------------------------------------

describe('housekeeping of the worker lane', () => {
  /** Borrows `n` workers at once and gives them back. */
  async function useWorkers(pool: WorkerPool, n: number): Promise<void> {
    const g = gate()
    const reads = Array.from({ length: n }, () => pool.read(() => g.promise, { thread: 'worker' }))
    await until(() => pool.status().workers.inUse === n)
    g.open()
    await Promise.all(reads)
  }

  it('opens workers.min workers on its first round', async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool({ workers: { min: 2, max: 3 } }) // rounds every 500 ms
    expect(db.workerOpenAttempts).toBe(0)
    await vi.advanceTimersByTimeAsync(500)
    expect(pool.status().workers).toMatchObject({ open: 2, idle: 2, min: 2 })
    expect(db.workers).toHaveLength(2)
  })

  it('closes workers idle past idleTimeoutMs while above min, keeping min', async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool({ idleTimeoutMs: 1_000, workers: { min: 1, max: 3 } })
    await useWorkers(pool, 3)
    expect(pool.status().workers).toMatchObject({ open: 3, idle: 3 })
    await vi.advanceTimersByTimeAsync(900)
    expect(pool.status().workers.open).toBe(3)
    await vi.advanceTimersByTimeAsync(600)
    expect(pool.status().workers).toMatchObject({ open: 1, idle: 1 })
    expect(db.workers.filter((w) => w.closed)).toHaveLength(2)
    expect(db.workers.every((w) => w.closeCount === (w.closed ? 1 : 0))).toBe(true)
    // The one kept is not closed later on.
    await vi.advanceTimersByTimeAsync(5_000)
    expect(pool.status().workers.open).toBe(1)
  })

  it('with min 0 closes every idle worker after idleTimeoutMs', async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool({ idleTimeoutMs: 1_000, workers: { max: 2 } })
    await useWorkers(pool, 2)
    await vi.advanceTimersByTimeAsync(1_500)
    expect(pool.status().workers.open).toBe(0)
    expectAllWorkersClosed(db)
  })

  it('pings idle workers every healthCheckIntervalMs; a failed one is closed and min refilled', async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool({ healthCheckIntervalMs: 1_000, workers: { min: 1 } })
    await vi.advanceTimersByTimeAsync(500)
    const first = db.workers[0] as FakeWorkerConnection
    expect(first).toBeDefined()
    await vi.advanceTimersByTimeAsync(1_000)
    expect(first.pings).toBe(1)
    db.failWorkerPing = (w) => w.id === 1
    await vi.advanceTimersByTimeAsync(1_000)
    expect(first.closeCount).toBe(1)
    await vi.advanceTimersByTimeAsync(500)
    expect(db.workers).toHaveLength(2)
    expect(pool.status().workers).toMatchObject({ open: 1, idle: 1 })
  })

  it('refills min after a broken worker was discarded', async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool({ workers: { min: 1 } })
    await vi.advanceTimersByTimeAsync(500)
    db.workers[0]?.die()
    await failure(pool.read((w) => w.get('a'), { thread: 'worker' }))
    expect(pool.status().workers.open).toBe(0)
    await vi.advanceTimersByTimeAsync(500)
    expect(pool.status().workers.open).toBe(1)
    expect(db.workers).toHaveLength(2)
  })

  it('ready() opens workers.min worker readers (none with min 0) and fails when one cannot start', async () => {
    const none = makePool()
    await none.pool.ready()
    expect(none.db.workerOpenAttempts).toBe(0)

    const two = makePool({ workers: { min: 2, max: 3 } })
    await two.pool.ready()
    expect(two.pool.status().workers).toMatchObject({ open: 2, idle: 2, inUse: 0 })

    const failing = makePool({ workers: { min: 1 } })
    failing.db.failWorkerOpens = 1
    expect(await failure(failing.pool.ready())).toBeInstanceOf(ConnectionHealthError)
    await failing.pool.ready() // a failed ready() may be retried
    expect(failing.pool.status().workers.open).toBe(1)
  })

  it('opens no worker after close', async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool({ workers: { min: 2 } })
    await pool.close()
    await vi.advanceTimersByTimeAsync(2_000)
    expect(db.workerOpenAttempts).toBe(0)
  })
})
