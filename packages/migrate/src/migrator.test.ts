import { execFileSync } from 'node:child_process'
import { readdirSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { ConfigError, type Pool } from '@litepool/pool-core'
import type { SqliteConnection } from '@litepool/sqlite-base'
import { describe, expect, it } from 'vitest'
import {
  ChecksumMismatchError,
  MigrationFailedError,
  MigrationLockError,
  MissingDownError,
} from './errors.js'
import { createMigrator } from './migrator.js'
import { DRIVERS, useSandbox } from './test-utils/setup.js'
import type { MigrationEvent } from './types.js'

const USERS = {
  '0001_users.sql':
    'create table users (id integer primary key, name text not null);\n-- litepool:down\ndrop table users;\n',
  '0002_email.sql':
    'alter table users add column email text;\n-- litepool:down\nalter table users drop column email;\n',
  '0003_seed.mjs':
    "export function up(db) { db.run('insert into users(name) values (?)', ['ada']) }\nexport function down(db) { db.run('delete from users') }\n",
}

const q = <T>(pool: Pool<SqliteConnection>, sql: string) => pool.read((c) => c.all<T>(sql))
const versions = (pool: Pool<SqliteConnection>) =>
  q<{ version: number }>(pool, 'select version from litepool_migrations order by version').then(
    (r) => r.map((x) => x.version),
  )
const userVersion = (pool: Pool<SqliteConnection>) =>
  pool.read((c) => c.get<{ user_version: number }>('pragma user_version')?.user_version)
const tableNames = (pool: Pool<SqliteConnection>) =>
  q<{ name: string }>(
    pool,
    "select name from sqlite_schema where type = 'table' order by name",
  ).then((r) => r.map((x) => x.name))

for (const driver of DRIVERS) {
  describe(`${driver.name}: migrator`, () => {
    const sandbox = useSandbox()

    it('applies pending migrations in order, records history and mirrors user_version; a second up does nothing', {
      timeout: 15_000,
    }, async () => {
      const s = sandbox(driver)
      s.write(USERS)
      const pool = s.pool()
      const events: MigrationEvent[] = []
      const migrator = createMigrator({
        pool,
        migrations: s.migrations,
        backup: false,
        onEvent: (e) => events.push(e),
      })
      const run = await migrator.up()
      expect(run).toMatchObject({ direction: 'up', from: 0, to: 3, backup: undefined })
      expect(run.steps.map((x) => x.name)).toEqual(['0001_users', '0002_email', '0003_seed'])
      expect(await versions(pool)).toEqual([1, 2, 3])
      expect(await userVersion(pool)).toBe(3)
      const [first] = await q<Record<string, unknown>>(
        pool,
        'select * from litepool_migrations order by version',
      )
      expect(first).toMatchObject({
        name: '0001_users',
        kind: 'sql',
        in_transaction: 1,
        applied_by: expect.stringMatching(/@.+ pid \d+$/),
      })
      expect(Date.parse(String(first?.applied_at))).toBeGreaterThan(Date.now() - 60_000)
      expect(
        events.filter((e) => e.type === 'done').map((e) => (e as { migration: string }).migration),
      ).toEqual(['0001_users', '0002_email', '0003_seed'])
      expect((await migrator.up()).steps).toEqual([])
      expect(await q(pool, 'select name from users')).toEqual([{ name: 'ada' }])
      const status = await migrator.status()
      expect(status).toMatchObject({
        current: 3,
        userVersion: 3,
        pending: 0,
        problems: [],
        lock: undefined,
      })
    })

    it('a failing migration rolls back and leaves the history unchanged; earlier ones stay applied', {
      timeout: 15_000,
    }, async () => {
      const s = sandbox(driver)
      s.write({
        ...USERS,
        '0004_broken.sql': 'create table audit (x);\ninsert into nowhere values (1);\n',
      })
      const pool = s.pool()
      const migrator = createMigrator({ pool, migrations: s.migrations, backup: false })
      const error = await migrator.up().catch((e: unknown) => e)
      expect(error).toBeInstanceOf(MigrationFailedError)
      expect(error).toMatchObject({
        code: 'LITEPOOL_MIGRATION_FAILED',
        migration: '0004_broken',
        partial: false,
        message: expect.stringMatching(/no such table: nowhere.*rolled back/s),
      })
      expect(await versions(pool)).toEqual([1, 2, 3])
      expect(await userVersion(pool)).toBe(3)
      expect(await tableNames(pool)).not.toContain('audit')
      expect((await migrator.status()).lock).toBeUndefined() // the lock was released
      const thrower =
        "export function up(db) { db.exec('create table audit2 (x)'); throw new RangeError('nope') }\n"
      s.write({ '0004_broken.sql': 'select 1;\n', '0005_throws.mjs': thrower })
      await expect(migrator.up()).rejects.toMatchObject({
        migration: '0005_throws',
        cause: expect.any(RangeError),
      })
      expect(await versions(pool)).toEqual([1, 2, 3, 4])
      expect(await tableNames(pool)).not.toContain('audit2')
    })

    it('down rolls back the newest, or to a version; refuses up front when a down is missing', {
      timeout: 15_000,
    }, async () => {
      const s = sandbox(driver)
      s.write({ ...USERS, '0004_nodown.sql': 'create table t (x);\n' })
      const pool = s.pool()
      const migrator = createMigrator({ pool, migrations: s.migrations, backup: false })
      await migrator.up()
      const refused = await migrator.down({ to: 1 }).catch((e: unknown) => e)
      expect(refused).toBeInstanceOf(MissingDownError)
      expect(refused).toMatchObject({
        code: 'LITEPOOL_MIGRATION_NO_DOWN',
        migrations: ['0004_nodown'],
      })
      expect(await versions(pool)).toEqual([1, 2, 3, 4]) // nothing ran
      writeFileSync(
        join(s.migrations, '0004_nodown.sql'),
        'create table t (x);\n-- litepool:down\ndrop table t;\n',
      )
      // editing the file is drift: down validates first
      await expect(migrator.down()).rejects.toBeInstanceOf(ChecksumMismatchError)
      const edited = (await migrator.migrations())[3]?.checksum ?? ''
      await pool.write((c) =>
        c.run('update litepool_migrations set checksum = ? where version = 4', [edited]),
      )
      expect((await migrator.down()).steps.map((x) => x.name)).toEqual(['0004_nodown'])
      const run = await migrator.down({ to: 1 })
      expect(run.steps.map((x) => x.name)).toEqual(['0003_seed', '0002_email'])
      expect(run).toMatchObject({ from: 3, to: 1 })
      expect(await versions(pool)).toEqual([1])
      expect(await userVersion(pool)).toBe(1)
      expect(await q(pool, "select * from pragma_table_info('users')").then((r) => r.length)).toBe(
        2,
      )
      await migrator.down({ to: 0 })
      expect(await userVersion(pool)).toBe(0)
      expect(await tableNames(pool)).not.toContain('users')
    })

    it('plan prints the SQL that would run and changes nothing', async () => {
      const s = sandbox(driver)
      s.write(USERS)
      const pool = s.pool()
      const migrator = createMigrator({ pool, migrations: s.migrations })
      const plan = await migrator.plan()
      expect(plan).toMatchObject({ direction: 'up', from: 0, to: 3 })
      expect(plan.steps.map((x) => [x.name, x.sql])).toEqual([
        ['0001_users', 'create table users (id integer primary key, name text not null);\n'],
        ['0002_email', 'alter table users add column email text;\n'],
        ['0003_seed', undefined],
      ])
      expect(await tableNames(pool)).toEqual([]) // not even the history table
      expect(readdirSync(s.dir).filter((f) => f.endsWith('.bak'))).toEqual([])
      await migrator.up({ to: 2 })
      const down = await migrator.plan({ direction: 'down', to: 0 })
      expect(down.steps.map((x) => [x.name, x.sql])).toEqual([
        ['0002_email', 'alter table users drop column email;\n'],
        ['0001_users', 'drop table users;\n'],
      ])
      expect(await versions(pool)).toEqual([1, 2])
    })

    it('backs up with VACUUM INTO before a run that changes something, and reports the path', {
      timeout: 15_000,
    }, async () => {
      const s = sandbox(driver)
      s.write({ '0001_users.sql': USERS['0001_users.sql'] })
      const pool = s.pool()
      const migrator = createMigrator({
        pool,
        migrations: s.migrations,
        backup: { dir: join(s.dir, 'backups') },
      })
      await migrator.up()
      await pool.write((c) => c.run("insert into users(name) values ('grace')"))
      s.write({ '0002_email.sql': USERS['0002_email.sql'] })
      const run = await migrator.up()
      expect(run.backup).toMatch(/backups[/\\]app\.db\.v1\.\d{8}T\d{9}Z\.bak$/)
      const copy = s.pool(run.backup)
      expect(await q(copy, 'select name from users')).toEqual([{ name: 'grace' }])
      expect(await userVersion(copy)).toBe(1) // the state before the run
      expect(await userVersion(pool)).toBe(2)
      expect((await migrator.up()).backup).toBeUndefined() // nothing to do, no backup
    })

    it('a migration outside a transaction is reported; when it fails halfway the backup is restored', {
      timeout: 15_000,
    }, async () => {
      const s = sandbox(driver)
      s.write({
        '0001_users.sql': USERS['0001_users.sql'],
        '0002_vacuum.sql': '-- litepool:no-transaction\nVACUUM;\n',
      })
      const pool = s.pool()
      const migrator = createMigrator({ pool, migrations: s.migrations })
      const run = await migrator.up()
      expect(run.steps.map((x) => [x.name, x.transaction])).toEqual([
        ['0001_users', true],
        ['0002_vacuum', false],
      ])
      expect(
        (
          await q<{ in_transaction: number }>(
            pool,
            'select in_transaction from litepool_migrations where version = 2',
          )
        )[0]?.in_transaction,
      ).toBe(0)
      await pool.write((c) => c.run("insert into users(name) values ('kept')"))
      s.write({
        '0003_tags.sql': 'create table tags (name text);\n',
        '0004_half.sql':
          "-- litepool:no-transaction\ncreate table half (x);\ninsert into users(name) values ('lost');\ninsert into nowhere values (1);\n",
      })
      const events: MigrationEvent[] = []
      const failing = createMigrator({
        pool,
        migrations: s.migrations,
        onEvent: (e) => events.push(e),
      })
      const error = (await failing.up().catch((e: unknown) => e)) as MigrationFailedError
      expect(error).toBeInstanceOf(MigrationFailedError)
      // restored to just before the failing step (a fresh backup at v3), not to the start of the run
      expect(error.restoredFrom).toMatch(/app\.db\.v3\..*\.bak$/)
      expect(error.message).toMatch(
        /ran outside a transaction, so the database was restored from the backup/,
      )
      expect(events.map((e) => e.type)).toEqual([
        'backup',
        'start',
        'done',
        'backup',
        'start',
        'restored',
      ])
      expect(await tableNames(pool)).not.toContain('half')
      expect(await tableNames(pool)).toContain('tags')
      expect(await q(pool, 'select name from users')).toEqual([{ name: 'kept' }])
      expect(await versions(pool)).toEqual([1, 2, 3])
      expect(await userVersion(pool)).toBe(3)
      expect((await failing.status()).lock).toBeUndefined()
    })

    it('without a backup a half-done step outside a transaction keeps the lock, interrupted, until unlock', {
      timeout: 15_000,
    }, async () => {
      const s = sandbox(driver)
      s.write({
        '0001_half.sql':
          '-- litepool:no-transaction\ncreate table half (x);\ninsert into nowhere values (1);\n',
      })
      const pool = s.pool()
      const migrator = createMigrator({ pool, migrations: s.migrations, backup: false })
      await expect(migrator.up()).rejects.toMatchObject({
        partial: true,
        message: expect.stringMatching(/may hold part of it/),
      })
      const again = await migrator.up().catch((e: unknown) => e)
      expect(again).toBeInstanceOf(MigrationLockError)
      expect(again).toMatchObject({
        code: 'LITEPOOL_MIGRATION_INTERRUPTED',
        holder: { state: 'interrupted', step: '0001_half', pid: process.pid },
      })
      expect((await migrator.status()).lock).toMatchObject({ verdict: 'interrupted' })
      s.write({
        '0001_half.sql': '-- litepool:no-transaction\ncreate table if not exists half (x);\n',
      })
      expect(await migrator.unlock()).toMatchObject({ step: '0001_half' })
      expect((await migrator.up()).steps.map((x) => x.name)).toEqual(['0001_half'])
    })

    it('foreign keys off: switched off around the migration, checked before COMMIT', {
      timeout: 15_000,
    }, async () => {
      const s = sandbox(driver)
      s.write({
        '0001_schema.sql':
          'create table a (id integer primary key);\ncreate table b (id integer primary key, a integer references a(id));\ninsert into a values (1);\ninsert into b values (1, 1);\n',
        '0002_orphan.sql': '-- litepool:foreign-keys off\ndelete from a;\n',
      })
      const pool = s.pool()
      const migrator = createMigrator({ pool, migrations: s.migrations, backup: false })
      const error = await migrator.up().catch((e: unknown) => e)
      expect(error).toMatchObject({
        migration: '0002_orphan',
        cause: {
          code: 'LITEPOOL_MIGRATION_FOREIGN_KEY',
          violations: [{ table: 'b', parent: 'a' }],
        },
      })
      expect(await versions(pool)).toEqual([1])
      expect(await q(pool, 'select id from a')).toEqual([{ id: 1 }])
      const fk = await pool.acquire({ role: 'writer' })
      expect(fk.get<{ foreign_keys: number }>('pragma foreign_keys')?.foreign_keys).toBe(1) // back on
      await fk.release()
    })

    it('refuses to migrate an existing unversioned database until it is baselined', {
      timeout: 15_000,
    }, async () => {
      const s = sandbox(driver)
      const pool = s.pool()
      await pool.write((c) =>
        c.exec(
          'create table users (id integer primary key, name text not null); pragma user_version = 2',
        ),
      )
      s.write(USERS)
      const migrator = createMigrator({ pool, migrations: s.migrations, backup: false })
      await expect(migrator.up()).rejects.toMatchObject({
        code: 'LITEPOOL_MIGRATION_NOT_BASELINED',
        message: expect.stringMatching(/1 object, user_version 2/),
      })
      expect(await tableNames(pool)).toEqual(['users']) // nothing created
      expect(await migrator.baseline()).toEqual({
        version: 2,
        name: '0002_email',
        previousUserVersion: 2,
      })
      await expect(migrator.baseline({ version: 3 })).rejects.toMatchObject({
        code: 'LITEPOOL_MIGRATION_BASELINE',
      })
      const status = await migrator.status()
      expect(status.entries.map((e) => e.state)).toEqual(['below-baseline', 'baseline', 'pending'])
      expect((await migrator.up()).steps.map((x) => x.name)).toEqual(['0003_seed'])
      expect(await userVersion(pool)).toBe(3)
      await expect(migrator.down({ to: 0 })).rejects.toMatchObject({
        code: 'LITEPOOL_MIGRATION_TARGET',
      })
    })

    it('waits for a live lock holder up to lockTimeoutMs, and takes over the lock of a dead process', {
      timeout: 15_000,
    }, async () => {
      const s = sandbox(driver)
      s.write({ '0001_users.sql': USERS['0001_users.sql'] })
      const pool = s.pool()
      const migrator = createMigrator({
        pool,
        migrations: s.migrations,
        backup: false,
        lockTimeoutMs: 300,
      })
      await createMigrator({ pool, migrations: join(s.dir, 'none'), backup: false }).unlock() // no lock: fine
      await pool.write((c) => {
        c.exec(
          "create table litepool_migrations_lock (id integer primary key check (id = 1), owner text not null, pid integer not null, host text not null, acquired_at text not null, state text not null default 'running', step text, backup text)",
        )
        c.run(
          "insert into litepool_migrations_lock values (1, 'other', ?, ?, '2026-01-01T00:00:00Z', 'running', null, null)",
          [process.pid, hostname()],
        )
      })
      const started = performance.now()
      const error = await migrator.up().catch((e: unknown) => e)
      expect(error).toMatchObject({
        code: 'LITEPOOL_MIGRATION_LOCK_TIMEOUT',
        message: expect.stringMatching(/another migration run holds the lock .*pid \d+/),
      })
      expect(performance.now() - started).toBeGreaterThanOrEqual(250)
      const dead = deadPid()
      await pool.write((c) => c.run('update litepool_migrations_lock set pid = ?', [dead]))
      const run = await migrator.up()
      expect(run.tookOverFrom).toMatchObject({ owner: 'other', pid: dead })
      expect(run.steps).toHaveLength(1)
    })

    it('validates options, reporting every bad field', () => {
      const s = sandbox(driver)
      expect(() =>
        createMigrator({
          pool: s.pool(),
          migrations: '',
          table: 'bad name',
          lockTimeoutMs: -1,
        } as never),
      ).toThrow(ConfigError)
      expect(() =>
        createMigrator({
          pool: s.pool(),
          migrations: '',
          table: 'bad name',
          lockTimeoutMs: -1,
        } as never),
      ).toThrow(/3 issues[\s\S]*migrations[\s\S]*table[\s\S]*lockTimeoutMs/)
    })
  })
}

/** The pid of a process that has exited. */
function deadPid(): number {
  return Number(
    execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).toString(),
  )
}
