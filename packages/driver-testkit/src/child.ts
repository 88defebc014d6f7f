// Child-process side of the stress suite: forked by `forkChild`, builds the driver under test from
// the harness's module and export name, runs one task and reports over IPC.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createPool, isBusyError, LockTimeoutError, silentLogger } from '@litepool/pool-core'
import type { SqliteDriver, SqliteDriverOptions } from '@litepool/sqlite-base'
import type { ChildMessage, ChildResult, ChildTask, ParentMessage } from './protocol.js'

const send = (message: ChildMessage) => process.send?.(message)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const parentSays = (type: ParentMessage['type']) =>
  new Promise<void>((resolve) => {
    const listener = (message: ParentMessage) => {
      if (message.type !== type) return
      process.off('message', listener)
      resolve()
    }
    process.on('message', listener)
  })

async function driverFor(task: ChildTask): Promise<SqliteDriver> {
  const module = (await import(task.module)) as Record<string, unknown>
  const factory = module[task.exportName]
  if (typeof factory !== 'function') {
    throw new TypeError(`${task.module} has no export ${task.exportName}`)
  }
  return (factory as (o: SqliteDriverOptions) => SqliteDriver)(task.driverOptions)
}

/** Holds the write lock in bursts: BEGIN IMMEDIATE, insert, block `holdMs`, COMMIT, pause. */
async function contend(driver: SqliteDriver, task: ChildTask, result: ChildResult): Promise<void> {
  const c = await driver.open('writer')
  const stop = parentSays('stop')
  let stopped = false
  void stop.then(() => {
    stopped = true
  })
  const block = new Int32Array(new SharedArrayBuffer(4))
  send({ type: 'ready' })
  while (!stopped) {
    try {
      driver.transactions.begin(c, 'immediate')
    } catch (error) {
      if (!isBusyError(error)) throw error
      await sleep(1)
      continue
    }
    c.run('insert into contention(who) values (?)', [task.id])
    Atomics.wait(block, 0, 0, task.holdMs ?? 20) // a long write transaction, blocking this process
    driver.transactions.commit(c)
    result.writes++
    await sleep(task.pauseMs ?? 5)
  }
  await driver.close(c)
}

/** Holds BEGIN IMMEDIATE until the parent says `release`. */
async function holdLock(driver: SqliteDriver): Promise<void> {
  const c = await driver.open('writer')
  driver.transactions.begin(c, 'immediate')
  send({ type: 'locked' })
  await parentSays('release')
  driver.transactions.commit(c)
  await driver.close(c)
}

/** `writes` inserts through the child's own pool, each followed by a read. */
async function write(driver: SqliteDriver, task: ChildTask, result: ChildResult): Promise<void> {
  const pool = createPool({
    driver,
    readers: { min: 1, max: 2 },
    acquireTimeoutMs: task.acquireTimeoutMs ?? 30_000,
    logger: silentLogger,
  })
  send({ type: 'ready' })
  await parentSays('go')
  const one = async (seq: number) => {
    try {
      await pool.write((c) => c.run('insert into writes(proc, seq) values (?, ?)', [task.id, seq]))
      result.writes++
      await pool.read((c) => c.get('select count(*) as n from writes where proc = ?', [task.id]))
      result.reads++
    } catch (error) {
      if (isBusyError(error)) result.busyErrors++
      else if (error instanceof LockTimeoutError) result.lockTimeouts++
      else result.otherErrors.push(String(error))
    }
  }
  const concurrency = task.concurrency ?? 4
  for (let seq = 0; seq < (task.writes ?? 0); seq += concurrency) {
    const batch = []
    for (let k = seq; k < Math.min(seq + concurrency, task.writes ?? 0); k++) batch.push(one(k))
    await Promise.all(batch)
  }
  await pool.close()
}

/** Reads in a tight loop on its own connection until the parent says `stop`. */
async function read(driver: SqliteDriver, result: ChildResult): Promise<void> {
  const c = await driver.open('reader')
  let stopped = false
  void parentSays('stop').then(() => {
    stopped = true
  })
  send({ type: 'ready' })
  while (!stopped) {
    for (let i = 0; i < 20; i++) {
      for (const _row of c.iterate('select id, length(x) from v order by id desc limit 50')) {
        result.reads++
      }
    }
    await sleep(0)
  }
  await driver.close(c)
}

async function main(): Promise<void> {
  const task = await new Promise<ChildTask>((resolve) => {
    process.once('message', (message: ParentMessage) => {
      if (message.type === 'task') resolve(message.task)
    })
  })
  const delay = monitorEventLoopDelay({ resolution: 1 })
  const result: ChildResult = {
    id: task.id,
    writes: 0,
    reads: 0,
    busyErrors: 0,
    lockTimeouts: 0,
    otherErrors: [],
    maxDelayMs: 0,
    p99DelayMs: 0,
  }
  try {
    const driver = await driverFor(task)
    delay.enable() // after loading the native module, which blocks while it loads
    if (task.kind === 'contend') await contend(driver, task, result)
    else if (task.kind === 'hold-lock') await holdLock(driver)
    else if (task.kind === 'write') await write(driver, task, result)
    else await read(driver, result)
    delay.disable()
    result.maxDelayMs = delay.max / 1e6
    result.p99DelayMs = delay.percentile(99) / 1e6
    send({ type: 'done', result })
  } catch (error) {
    send({
      type: 'failed',
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    })
  }
  process.disconnect?.()
}

void main()
