import { isAbsolute } from 'node:path'
import { ConfigError } from '@litepool/pool-core'
import { type SqliteConnection, walSize } from '@litepool/sqlite-base'
import { expect } from 'vitest'
import type { ScenarioPool } from '../harness.js'
import { countOpenFiles } from '../helpers.js'
import { type Scenario, scenarios } from '../scenario.js'

const pragma = (c: { get(sql: string): unknown }, name: string) =>
  Object.values(c.get(`pragma ${name}`) as Record<string, unknown>)[0]

const walScenarios = scenarios('wal', [
  {
    key: 'reader-sees-committed',
    title: 'a reader sees what the writer committed',
    async run(t) {
      const writer = await t.open('writer')
      const reader = await t.open('reader')
      writer.exec('create table v(x)')
      writer.run('insert into v values (?)', ['committed'])
      expect(reader.all('select x from v')).toEqual([{ x: 'committed' }])
    },
  },
  {
    key: 'reader-isolated-from-uncommitted',
    title: 'a reader does not see an open transaction, and is not blocked by it',
    async run(t) {
      const writer = await t.open('writer')
      const reader = await t.open('reader')
      writer.exec('create table v(x)')
      writer.run('BEGIN IMMEDIATE')
      writer.run('insert into v values (1)')
      expect(reader.get('select count(*) as n from v')).toEqual({ n: 0 })
      writer.run('COMMIT')
      expect(reader.get('select count(*) as n from v')).toEqual({ n: 1 })
    },
  },
])

const setupScenarios = scenarios('setup', [
  {
    key: 'writer-pragmas',
    title:
      'the writer runs WAL, synchronous=NORMAL, foreign_keys, short busy_timeout, no autocheckpoint',
    async run(t) {
      const c = await t.open('writer')
      expect(pragma(c, 'journal_mode')).toBe('wal')
      expect(pragma(c, 'synchronous')).toBe(1)
      expect(pragma(c, 'foreign_keys')).toBe(1)
      expect(pragma(c, 'busy_timeout')).toBe(5)
      expect(pragma(c, 'wal_autocheckpoint')).toBe(0)
      expect(pragma(c, 'journal_size_limit')).toBe(64 * 1024 * 1024)
      expect(pragma(c, 'query_only')).toBe(0)
    },
  },
  {
    key: 'reader-pragmas',
    title: 'a reader is query_only with the same shared pragmas',
    async run(t) {
      await t.open('writer')
      const c = await t.open('reader')
      expect(pragma(c, 'query_only')).toBe(1)
      expect(pragma(c, 'journal_mode')).toBe('wal')
      expect(pragma(c, 'foreign_keys')).toBe(1)
      expect(pragma(c, 'busy_timeout')).toBe(5)
    },
  },
  {
    key: 'options-applied',
    title: 'busyTimeoutMs, journalSizeLimitBytes and user pragmas reach every connection',
    async run(t) {
      const options = {
        busyTimeoutMs: 20,
        journalSizeLimitBytes: 1024 * 1024,
        pragmas: { cache_size: -4000, synchronous: 'FULL' },
      }
      for (const role of ['writer', 'reader'] as const) {
        const c = await t.open(role, options)
        expect(pragma(c, 'busy_timeout')).toBe(20)
        expect(pragma(c, 'journal_size_limit')).toBe(1024 * 1024)
        expect(pragma(c, 'cache_size')).toBe(-4000)
        expect(pragma(c, 'synchronous')).toBe(2)
      }
    },
  },
  {
    key: 'readonly-option',
    title: 'readonly: true opens read-only handles that refuse writes',
    async run(t) {
      const writer = await t.open('writer')
      writer.exec('create table v(x); insert into v values (1)')
      const c = await t.open('writer', { readonly: true })
      expect(c.get('select x from v')).toEqual({ x: 1 })
      expect(() => c.run('insert into v values (2)')).toThrow(/readonly|read-only/i)
    },
  },
])

const lifecycleScenarios = [
  ...scenarios('reset', [
    {
      key: 'rolls-back-open-transaction',
      title: 'reset rolls back a transaction left open',
      async run(t) {
        const driver = t.driver()
        const c = await t.open('writer')
        c.exec('create table v(x)')
        c.run('BEGIN IMMEDIATE')
        c.run('insert into v values (1)')
        await driver.reset(c)
        expect(c.inTransaction).toBe(false)
        expect(c.get('select count(*) as n from v')).toEqual({ n: 0 })
      },
    },
    {
      key: 'restores-connection-pragmas',
      title: 'reset restores the pragmas litepool set when a caller changed them',
      async run(t) {
        const driver = t.driver()
        const writer = await t.open('writer')
        const reader = await t.open('reader')
        writer.run('pragma foreign_keys = OFF')
        reader.exec('pragma query_only = 0; pragma busy_timeout = 999')
        await driver.reset(writer)
        await driver.reset(reader)
        expect(pragma(writer, 'foreign_keys')).toBe(1)
        expect(pragma(reader, 'query_only')).toBe(1)
        expect(pragma(reader, 'busy_timeout')).toBe(5)
      },
    },
  ]),
  ...scenarios('ping', [
    {
      key: 'live-and-closed',
      title: 'ping passes on a live connection and throws on a closed one',
      async run(t) {
        const driver = t.driver()
        const c = await t.open('reader')
        await driver.ping(c)
        await t.close(c)
        expect(() => driver.ping(c)).toThrow()
      },
    },
  ]),
  ...scenarios('close', [
    {
      key: 'releases-file-descriptors',
      title: 'close releases every handle on the db, -wal and -shm files (/proc/self/fd)',
      async run(t) {
        const before = countOpenFiles(t.filename)
        if (before === undefined) return expect.soft(process.platform).not.toBe('linux')
        expect(before.total).toBe(0)
        const driver = t.driver()
        const writer = await driver.open('writer')
        const readers = [await driver.open('reader'), await driver.open('reader')]
        writer.exec('create table v(id integer primary key, x)')
        for (let i = 0; i < 50; i++) writer.run(`insert into v(x) values (${i})`) // 50 cached statements
        const abandoned = readers[0]?.iterate('select * from v')
        abandoned?.next() // an iteration left open by its caller
        for (const r of readers) r.prepare('select x from v where id = ?').get([1])
        const open = countOpenFiles(t.filename)
        expect(open?.db).toBe(3)
        expect(open?.wal).toBeGreaterThanOrEqual(3)
        await Promise.all([writer, ...readers].map((c) => driver.close(c)))
        expect(countOpenFiles(t.filename)).toEqual({ db: 0, wal: 0, shm: 0, total: 0 })
        // The caller still holds the iteration that close ended: it must not pin the statement.
        expect(abandoned?.next()).toEqual({ done: true, value: undefined })
        await driver.close(writer) // idempotent
      },
    },
  ]),
  ...scenarios('memory', [
    {
      key: 'no-reader-connections',
      title: "':memory:' and '' are private to one connection: capabilities.readers is false",
      async run(t) {
        for (const filename of [':memory:', '']) {
          const driver = t.driver({ filename })
          expect(driver.capabilities.readers).toBe(false)
          const c = await t.open('writer', { filename })
          c.exec('create table v(x); insert into v values (1)')
          expect(c.get('select x from v')).toEqual({ x: 1 })
          await driver.maintain(c, 'close')
        }
        expect(t.driver().capabilities.readers).toBe(true)
      },
    },
  ]),
  ...scenarios('driver', [
    {
      key: 'identity',
      title: 'the driver has a name and targets the absolute database path',
      async run(t) {
        const driver = t.driver()
        expect(driver.name).toMatch(/\S/)
        expect(driver.target).toBe(t.filename)
        expect(isAbsolute(driver.target)).toBe(true)
      },
    },
    {
      key: 'config-error-lists-every-field',
      title: 'invalid options throw one ConfigError listing every bad field',
      run(t) {
        let error: unknown
        try {
          t.driver({
            filename: 42,
            busyTimeoutMs: -1,
            statementCacheSize: 1.5,
            pragmas: { journal_mode: 'DELETE', 'bad name': 1 },
            checkpoint: { restartAtBytes: 'big' },
            bogus: true,
          } as never)
        } catch (e) {
          error = e
        }
        expect(error).toBeInstanceOf(ConfigError)
        const paths = (error as ConfigError).issues.map((i) => i.path).sort()
        expect(paths).toEqual(
          [
            'bogus',
            'busyTimeoutMs',
            'checkpoint.restartAtBytes',
            'filename',
            'pragmas.bad name',
            'pragmas.journal_mode',
            'statementCacheSize',
          ].sort(),
        )
        for (const issue of (error as ConfigError).issues) {
          expect(issue.expected).toMatch(/\S/)
          expect(issue.received).toMatch(/\S/)
        }
      },
    },
  ]),
]

const fill = (c: SqliteConnection, rows: number) => {
  c.run('BEGIN')
  for (let i = 0; i < rows; i++) c.run('insert into v(x) values (randomblob(1000))')
  c.run('COMMIT')
}

/** Creates table `v`, then commits `n` single-row inserts one by one; returns the writer. */
async function commitOneByOne(pool: ScenarioPool, n: number): Promise<SqliteConnection> {
  const writer = await pool.write((c) => {
    c.exec('create table v(id integer primary key, x)')
    return c
  })
  for (let i = 0; i < n; i++) await pool.write((c) => c.run('insert into v(x) values (?)', [i]))
  return writer
}

const maintainScenarios = scenarios('maintain', [
  {
    key: 'passive-checkpoint',
    title: 'maintain runs a PASSIVE checkpoint for a small WAL and copies every frame',
    async run(t) {
      const driver = t.driver()
      const c = await t.open('writer')
      c.exec('create table v(id integer primary key, x)')
      fill(c, 20)
      await driver.maintain(c, 'idle')
      expect(c.lastCheckpoint).toMatchObject({ mode: 'PASSIVE', busy: 0, reason: 'idle' })
      expect(c.lastCheckpoint?.checkpointed).toBe(c.lastCheckpoint?.log)
      expect(c.lastCheckpoint?.log).toBeGreaterThan(0)
    },
  },
  {
    key: 'escalates-above-threshold',
    title: 'above the thresholds maintain escalates to RESTART, then TRUNCATE (WAL file emptied)',
    async run(t) {
      const checkpoint = { restartAtBytes: 64 * 1024, truncateAtBytes: 512 * 1024 }
      const driver = t.driver({ checkpoint })
      const c = await t.open('writer', { checkpoint })
      c.exec('create table v(id integer primary key, x)')
      fill(c, 100) // ~100 pages, above restartAtBytes
      await driver.maintain(c, 'interval')
      expect(c.lastCheckpoint).toMatchObject({ mode: 'RESTART', busy: 0 })
      fill(c, 800) // above truncateAtBytes
      await driver.maintain(c, 'interval')
      expect(c.lastCheckpoint).toMatchObject({ mode: 'TRUNCATE', busy: 0 })
      expect(walSize(t.filename)).toBe(0)
    },
  },
  {
    key: 'reader-blocks-restart-without-error',
    title:
      'a reader holding a snapshot makes RESTART report busy (no error); the next one succeeds',
    async run(t) {
      const checkpoint = { restartAtBytes: 1, truncateAtBytes: 0 }
      const driver = t.driver({ checkpoint })
      const c = await t.open('writer', { checkpoint })
      const reader = await t.open('reader')
      c.exec('create table v(id integer primary key, x)')
      fill(c, 10)
      const rows = reader.iterate('select id from v')
      rows.next() // the reader pins the current WAL snapshot
      fill(c, 10)
      await driver.maintain(c, 'interval')
      expect(c.lastCheckpoint).toMatchObject({ mode: 'RESTART', busy: 1 })
      rows.return()
      await driver.maintain(c, 'interval')
      expect(c.lastCheckpoint).toMatchObject({ mode: 'RESTART', busy: 0 })
    },
  },
  {
    key: 'checkpoint-steps-under-sustained-writes',
    title:
      'under sustained writes the pool checkpoints every so many commits (reason due), sized to checkpoint.stepMs',
    async run(t) {
      // The interval never fires here: every checkpoint comes from the step trigger.
      const pool = t.pool({
        maintenanceIntervalMs: 3_600_000,
        driverOptions: { checkpoint: { stepMs: 10 } },
      })
      const writer = await commitOneByOne(pool, 300)
      const first = writer.lastCheckpoint
      expect(first).toMatchObject({ reason: 'due', mode: 'PASSIVE', busy: 0, commits: 256 })
      expect(first?.checkpointed).toBe(first?.log)
      // The next step is sized from how long this one took: half to twice as many commits.
      expect(writer.commitsPerCheckpoint).toBeGreaterThanOrEqual(128)
      expect(writer.commitsPerCheckpoint).toBeLessThanOrEqual(512)
      expect(await pool.read((c) => c.get('select count(*) as n from v'))).toEqual({ n: 300 })
    },
  },
  {
    key: 'checkpoint-steps-off',
    title: 'by default (checkpoint.stepMs 0) checkpoints are left to the interval and idle time',
    async run(t) {
      const pool = t.pool({ maintenanceIntervalMs: 3_600_000 })
      const writer = await commitOneByOne(pool, 300)
      expect(writer.lastCheckpoint).toBeUndefined()
    },
  },
  {
    key: 'truncate-on-close',
    title: "maintain(writer, 'close') truncates the WAL file to zero bytes",
    async run(t) {
      const driver = t.driver()
      const c = await t.open('writer')
      c.exec('create table v(id integer primary key, x)')
      fill(c, 20)
      expect(walSize(t.filename)).toBeGreaterThan(0)
      await driver.maintain(c, 'close')
      expect(c.lastCheckpoint).toMatchObject({ mode: 'TRUNCATE', busy: 0, reason: 'close' })
      expect(walSize(t.filename)).toBe(0)
    },
  },
])

/** WAL visibility, connection setup, reset, ping, close, `:memory:`, options and checkpoints. */
export const connectionScenarios: readonly Scenario[] = [
  ...walScenarios,
  ...setupScenarios,
  ...lifecycleScenarios,
  ...maintainScenarios,
]
