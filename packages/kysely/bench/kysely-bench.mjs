#!/usr/bin/env node
// Kysely on litepool (LitepoolDialect) vs Kysely's built-in SqliteDialect on one better-sqlite3
// connection, measured side by side in one run, rounds interleaved (A B A B …) so machine noise
// hits both alike. Reports the median of the rounds.
//
//   pnpm --filter @litepool/kysely bench            # build, then run (≈ 40 s)
//   node bench/kysely-bench.mjs --quick             # short rounds, to prove it runs
//   node bench/kysely-bench.mjs --json out.json     # also write the figures as JSON
//
// Scenarios:
//   single       one caller, point selects by primary key, one after another (dialect overhead)
//   (the mixed scenarios' fast callers do one select per event-loop turn, like request handlers)
//   stream       8 async callers: 7 point-select loops, 1 "slow read" that streams 10 000 rows and
//                awaits between chunks (a slow consumer, e.g. an export to a slow client)
//   snapshot     8 async callers: 7 point-select loops, 1 read-only transaction that awaits 1 ms
//                between its three selects (a report calling out to something)
//   sync-heavy   8 async callers: 7 point-select loops, 1 heavy synchronous aggregate (~ms); it
//                blocks the event loop for everyone in both dialects: expect parity
// Throughput is point selects per second of the 7 fast callers (and slow reads completed).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep, setImmediate as tick } from 'node:timers/promises'
import { betterSqlite3 } from '@litepool/driver-better-sqlite3'
import { LitepoolDialect } from '@litepool/kysely'
import { createPool } from '@litepool/pool-core'
import Database from 'better-sqlite3'
import { Kysely, SqliteDialect, sql } from 'kysely'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const jsonPath = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined
const ROUND_MS = quick ? 250 : 1000
const ROUNDS = quick ? 2 : 7
const ROWS = 10_000

const dir = mkdtempSync(join(tmpdir(), 'litepool-kysely-bench-'))
const filename = join(dir, 'bench.db')
const seedDb = new Database(filename)
seedDb.pragma('journal_mode = WAL')
seedDb.exec(
  'create table users (id integer primary key, name text not null, email text not null, score integer not null)',
)
const insert = seedDb.prepare('insert into users (name, email, score) values (?, ?, ?)')
seedDb.transaction(() => {
  for (let i = 0; i < ROWS; i++) insert.run(`user ${i}`, `user${i}@example.com`, i % 1000)
})()
seedDb.close()

const builtinDb = new Database(filename)
builtinDb.pragma('synchronous = NORMAL')
const builtin = new Kysely({ dialect: new SqliteDialect({ database: builtinDb }) })
const pool = createPool({ driver: betterSqlite3({ filename }), readers: { min: 1, max: 4 } })
const litepool = new Kysely({ dialect: new LitepoolDialect({ pool }) })
const dialects = { 'Kysely SqliteDialect': builtin, LitepoolDialect: litepool }

let nextId = 0
const pointSelect = (db) =>
  db
    .selectFrom('users')
    .selectAll()
    .where('id', '=', (nextId++ % ROWS) + 1)
    .executeTakeFirst()

const HEAVY = sql`with recursive s(x) as (select 1 union all select x + 1 from s where x < 60000) select sum(x) as total from s`

const slowReads = {
  stream: async (db) => {
    let n = 0
    for await (const _ of db.selectFrom('users').selectAll().stream(100)) {
      if (++n % 100 === 0) await tick()
    }
  },
  snapshot: (db) =>
    db
      .transaction()
      .setAccessMode('read only')
      .execute(async (trx) => {
        for (let i = 0; i < 3; i++) {
          await trx
            .selectFrom('users')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirst()
          await sleep(1)
        }
      }),
  'sync-heavy': (db) => HEAVY.execute(db),
}

async function single(db, ms) {
  const end = performance.now() + ms
  let ops = 0
  while (performance.now() < end) {
    await pointSelect(db)
    ops++
  }
  return { ops: ops / (ms / 1000) }
}

async function mixed(db, ms, slow) {
  const end = performance.now() + ms
  let fast = 0
  let slowDone = 0
  // Each fast caller serves one "request" per event-loop turn (as an HTTP handler would): without
  // the tick, seven promise-only loops would starve timers and I/O, the slow reader's included.
  const fastCaller = async () => {
    while (performance.now() < end) {
      await pointSelect(db)
      fast++
      await tick()
    }
  }
  const slowCaller = async () => {
    while (performance.now() < end) {
      await slow(db)
      slowDone++
      await tick()
    }
  }
  const started = performance.now()
  await Promise.all([slowCaller(), ...Array.from({ length: 7 }, fastCaller)])
  const seconds = (performance.now() - started) / 1000
  return { ops: fast / seconds, slow: slowDone / seconds }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const scenarios = {
  single: (db) => single(db, ROUND_MS),
  stream: (db) => mixed(db, ROUND_MS, slowReads.stream),
  snapshot: (db) => mixed(db, ROUND_MS, slowReads.snapshot),
  'sync-heavy': (db) => mixed(db, ROUND_MS, slowReads['sync-heavy']),
}

const results = {}
for (const [name, run] of Object.entries(scenarios)) {
  for (const db of Object.values(dialects)) await run(db) // warm-up
  const samples = Object.fromEntries(Object.keys(dialects).map((k) => [k, { ops: [], slow: [] }]))
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? Object.entries(dialects) : Object.entries(dialects).reverse()
    for (const [label, db] of order) {
      const r = await run(db)
      samples[label].ops.push(r.ops)
      if (r.slow !== undefined) samples[label].slow.push(r.slow)
    }
  }
  results[name] = Object.fromEntries(
    Object.entries(samples).map(([label, s]) => [
      label,
      {
        opsPerSec: median(s.ops),
        slowReadsPerSec: s.slow.length > 0 ? median(s.slow) : undefined,
        rounds: s.ops,
      },
    ]),
  )
  // Ratio per round (both dialects measured back to back), so slow drift of the machine cancels out.
  const ratios = samples.LitepoolDialect.ops.map(
    (b, i) => b / samples['Kysely SqliteDialect'].ops[i],
  )
  results[name].ratio = {
    median: median(ratios),
    min: Math.min(...ratios),
    max: Math.max(...ratios),
  }
}

const fmt = (n) =>
  n === undefined ? '–' : n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1)
const lines = [
  `Kysely ${JSON.parse((await import('node:fs')).readFileSync(new URL('../node_modules/kysely/package.json', import.meta.url), 'utf8')).version}, Node ${process.version}, ${ROUNDS} interleaved rounds of ${ROUND_MS} ms, median`,
  '',
  '| scenario | SqliteDialect ops/s | LitepoolDialect ops/s | litepool / builtin (per-round range) | slow reads/s (builtin → litepool) |',
  '| --- | ---: | ---: | ---: | ---: |',
]
for (const [name, r] of Object.entries(results)) {
  const a = r['Kysely SqliteDialect']
  const b = r.LitepoolDialect
  lines.push(
    `| ${name} | ${fmt(a.opsPerSec)} | ${fmt(b.opsPerSec)} | ${r.ratio.median.toFixed(2)}× (${r.ratio.min.toFixed(2)}–${r.ratio.max.toFixed(2)}) | ${fmt(a.slowReadsPerSec)} → ${fmt(b.slowReadsPerSec)} |`,
  )
}
console.log(lines.join('\n'))
if (jsonPath)
  writeFileSync(
    jsonPath,
    `${JSON.stringify({ node: process.version, roundMs: ROUND_MS, rounds: ROUNDS, results }, null, 2)}\n`,
  )

await builtin.destroy()
await litepool.destroy()
await pool.close()
rmSync(dir, { recursive: true, force: true })
