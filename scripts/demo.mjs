#!/usr/bin/env node
// The Quick start demo: litepool on an embedded SQLite file, next to what goes wrong without it.
//
//   1. a generic pool of 4 better-sqlite3 connections doing async read-modify-write transfers
//      → SQLITE_BUSY errors (and, with SQLite's busy handler on, a frozen event loop)
//   2. litepool: the same transfers through the pool's writer lane → zero BUSY, money conserved
//   3. parallel reads on reader connections, a nested savepoint, status and metrics, clean close
//
// Uses the built packages (`pnpm build` first; `npm start` does it all).
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setImmediate as tick } from 'node:timers/promises'
import { betterSqlite3 } from '@litepool/driver-better-sqlite3'
import { CHANNELS, createPool } from '@litepool/pool-core'

const ACCOUNTS = 50
const TRANSFERS = 400
const START_BALANCE = 1_000

const dir = mkdtempSync(join(tmpdir(), 'litepool-demo-'))
const filename = join(dir, 'bank.db')
const log = (...args) => console.log(...args)
const pick = (n) => 1 + Math.floor(Math.random() * n)

function seed(db) {
  db.exec(`
    create table if not exists accounts (id integer primary key, balance integer not null check (balance >= 0));
    delete from accounts;
  `)
  const insert = db.prepare('insert into accounts (id, balance) values (?, ?)')
  for (let id = 1; id <= ACCOUNTS; id++) insert.run(id, START_BALANCE)
}

/**
 * 1. A generic pool (what generic-pool or tarn give you): 4 interchangeable connections, each
 * caller borrows one, runs BEGIN … await … UPDATE … COMMIT. SQLite's busy handler is off
 * (timeout 0): with it on, a waiting connection would sleep on the event loop's only thread.
 */
async function naive() {
  const require = createRequire(import.meta.resolve('@litepool/driver-better-sqlite3'))
  const Database = require('better-sqlite3')
  const free = Array.from({ length: 4 }, () => new Database(filename, { timeout: 0 }))
  const all = [...free]
  for (const db of all) db.pragma('journal_mode = WAL')
  seed(all[0])
  const waiting = []
  const borrow = () =>
    free.length > 0 ? Promise.resolve(free.pop()) : new Promise((r) => waiting.push(r))
  const giveBack = (db) => (waiting.length > 0 ? waiting.shift()(db) : free.push(db))
  let busy = 0
  let ok = 0
  await Promise.all(
    Array.from({ length: TRANSFERS }, async () => {
      const db = await borrow()
      const [from, to] = [pick(ACCOUNTS), pick(ACCOUNTS)]
      try {
        db.exec('BEGIN')
        const { balance } = db.prepare('select balance from accounts where id = ?').get(from)
        await tick() // any async work (a fetch, a log write) between read and write
        db.prepare('update accounts set balance = ? where id = ?').run(balance - 1, from)
        db.prepare('update accounts set balance = balance + 1 where id = ?').run(to)
        db.exec('COMMIT')
        ok++
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK')
        if (String(error.code).startsWith('SQLITE_BUSY')) busy++
      } finally {
        giveBack(db)
      }
    }),
  )
  const total = all[0].prepare('select sum(balance) as total from accounts').get().total
  for (const db of all) db.close()
  return { busy, ok, failed: TRANSFERS - ok, total }
}

/** 2 + 3. The same work through litepool. */
async function withLitepool() {
  const pool = createPool({ driver: betterSqlite3({ filename }), readers: { min: 1, max: 4 } })
  await pool.write((c) => {
    c.exec('delete from accounts')
    for (let id = 1; id <= ACCOUNTS; id++)
      c.run('insert into accounts (id, balance) values (?, ?)', [id, START_BALANCE])
  })

  let busy = 0
  const started = performance.now()
  const results = await Promise.allSettled(
    Array.from({ length: TRANSFERS }, () =>
      pool.transaction(async (tx) => {
        const [from, to] = [pick(ACCOUNTS), pick(ACCOUNTS)]
        const { balance } = tx.get('select balance from accounts where id = ?', [from])
        await tick()
        tx.run('update accounts set balance = ? where id = ?', [balance - 1, from])
        tx.run('update accounts set balance = balance + 1 where id = ?', [to])
      }),
    ),
  )
  const transferMs = performance.now() - started
  for (const r of results)
    if (r.status === 'rejected' && String(r.reason?.driverCode).startsWith('SQLITE_BUSY')) busy++
  const ok = results.filter((r) => r.status === 'fulfilled').length
  const { total } = await pool.read((c) => c.get('select sum(balance) as total from accounts'))

  // Parallel reads: count how many reader connections serve 200 concurrent reads.
  const readers = new Set()
  const onAcquire = (event) => event.role === 'reader' && readers.add(event.connection)
  subscribe(CHANNELS.acquire, onAcquire)
  await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      pool.read(async (c) => {
        await tick()
        return c.get('select balance from accounts where id = ?', [1 + (i % ACCOUNTS)])
      }),
    ),
  )
  unsubscribe(CHANNELS.acquire, onAcquire)

  // A nested transaction is a savepoint: its failure undoes only its own work.
  await pool.transaction(async (tx) => {
    tx.run('update accounts set balance = balance + 100 where id = 1')
    const { balance: before } = tx.get('select balance from accounts where id = 2')
    await pool
      .transaction((inner) => {
        inner.run('update accounts set balance = balance + 999 where id = 2')
        throw new Error('inner transfer refused')
      })
      .catch(() => {})
    const two = await pool.read((c) => c.get('select balance from accounts where id = 2'))
    log(
      `   nested savepoint: account 2 was ${before}, the inner transaction added 999 and threw; now ${two.balance} — only the inner work was undone`,
    )
    tx.run('update accounts set balance = balance - 100 where id = 1')
  })

  const metrics = pool.metrics()
  await pool.close()
  return { busy, ok, total, transferMs, readers: readers.size, state: pool.status().state, metrics }
}

function openFilesOf(path) {
  try {
    return readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith(path)
      } catch {
        return false
      }
    }).length
  } catch {
    return 0 // not Linux: skip the check
  }
}

log(`litepool demo — SQLite file ${filename}\n`)
log(
  `1. ${TRANSFERS} concurrent async transfers through a generic 4-connection pool (BEGIN … await … UPDATE):`,
)
const before = await naive()
log(
  `   ${before.ok} committed, ${before.failed} failed (${before.busy} with SQLITE_BUSY / SQLITE_BUSY_SNAPSHOT)`,
)

log(`\n2. the same ${TRANSFERS} transfers through litepool (one writer lane, BEGIN IMMEDIATE):`)
const after = await withLitepool()
log(
  `   ${after.ok} committed in ${after.transferMs.toFixed(0)} ms, ${after.busy} SQLITE_BUSY; sum of balances ${after.total} (expected ${ACCOUNTS * START_BALANCE})`,
)
log(`\n3. 200 concurrent reads were served by ${after.readers} reader connections in parallel`)
const m = after.metrics
log(
  `   connections opened: ${m['db.client.connection.create_time'].count}, acquires: ${m['db.client.connection.wait_time'].count}, timeouts: ${m['db.client.connection.timeouts']}`,
)
log(
  `   after close(): pool ${after.state}, open handles on the database files: ${openFilesOf(filename)}`,
)

rmSync(dir, { recursive: true, force: true })
const healthy =
  after.busy === 0 && after.ok === TRANSFERS && after.total === ACCOUNTS * START_BALANCE
log(
  healthy
    ? '\n✓ litepool: every transfer committed, no BUSY, no money lost'
    : '\n✗ unexpected result — please report it',
)
process.exit(healthy ? 0 : 1)
