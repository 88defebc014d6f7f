import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import type { Pool } from '@litepool/pool-core'
import type { SqliteConnection } from '@litepool/sqlite-base'
import { describe, expect, it } from 'vitest'
import { errorJson } from './cli-output.js'
import { ANSI, cli } from './test-utils/in-process.js'
import { DRIVERS, json, useSandbox } from './test-utils/setup.js'

// The CLI run in-process (cli-run.ts): every command, flag, exit code and output mode. cli.test.ts
// forks the built bin for the same paths end to end.

const SEED_JS = `export function up(db, context) {
  db.exec('insert into users (id) values (1)')
  context.log('seeded 1 user')
}
export function down(db) {
  db.exec('delete from users')
}
`
const VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
).version

describe('litepool-migrate in-process: usage', () => {
  it('--help and --version print and exit 0', async () => {
    for (const flag of ['--help', '-h']) {
      const help = await cli([flag])
      expect(help).toMatchObject({ code: 0, stderr: '' })
      expect(help.stdout).toMatch(/^Usage: litepool-migrate <command> \[options\]\n/)
      expect(help.stdout).toMatch(/Exit codes: 0 ok/)
    }
    expect(await cli(['-v'])).toMatchObject({ code: 0, stdout: `${VERSION}\n` })
    expect((await cli(['--version', 'up'])).stdout).toBe(`${VERSION}\n`)
  })

  it('exits 2 naming every problem of the command line at once', async () => {
    const none = await cli([])
    expect(none).toMatchObject({ code: 2, stdout: '' })
    expect(none.stderr).toMatch(
      /^error invalid command line \(1 issue\):\n {2}- command: expected status \| up \| down \| plan \| validate \| baseline \| create \| unlock, received nothing\n/,
    )
    expect(none.stderr).toMatch(/\nRun litepool-migrate --help for usage\.\n$/)

    const create = await cli(['create', '--js', '--ts', '--to', 'x', '--lock-timeout', '1.5'])
    expect(create.code).toBe(2)
    expect(create.stderr).toMatch(/\(4 issues\)/)
    expect(create.stderr).toMatch(/- name: expected create <name>, received nothing/)
    expect(create.stderr).toMatch(/- --to: expected an integer >= 0, received "x"/)
    expect(create.stderr).toMatch(/- --lock-timeout: expected an integer >= 0, received "1.5"/)
    expect(create.stderr).toMatch(/- --js\/--ts: expected one of them, received both/)

    const baseline = await cli(['baseline', '0', 'extra'])
    expect(baseline.code).toBe(2)
    expect(baseline.stderr).toMatch(/- arguments: expected no further arguments, received extra/)
    expect(baseline.stderr).toMatch(/- baseline <version>: expected an integer >= 1, received "0"/)

    const extra = await cli(['status', 'one', 'two'])
    expect(extra.stderr).toMatch(/- arguments: expected no further arguments, received one two/)
    const unknown = await cli(['migrate'])
    expect(unknown.stderr).toMatch(/- command: expected status .* received "migrate"/)
    const flag = await cli(['status', '--bogus', '--json'])
    expect(flag).toMatchObject({ code: 2, stdout: '' }) // --json is not known before parsing
    expect(flag.stderr).toMatch(/- argv: expected known options \(see --help\), received .*--bogus/)
  })

  it('exits 2 without a database, or with an unknown driver', async () => {
    const noDb = await cli(['status', '--json'])
    expect(noDb.code).toBe(2)
    expect(json(noDb)).toMatchObject({
      ok: false,
      command: 'status',
      error: { code: 'LITEPOOL_CONFIG', issues: [{ path: '--db', received: 'nothing' }] },
    })
    const driver = await cli(['status', '--db', 'x.db', '--driver', 'sqlite4'])
    expect(driver.code).toBe(2)
    expect(driver.stderr).toMatch(
      /--driver: expected auto \| better-sqlite3 \| node-sqlite, received "sqlite4"/,
    )
  })

  it('errorJson describes a thrown non-Error too', () => {
    expect(errorJson('boom')).toEqual({ name: 'Error', code: 'UNKNOWN', message: 'boom' })
    expect(errorJson(new RangeError('r'))).toEqual({
      name: 'RangeError',
      code: 'UNKNOWN',
      message: 'r',
    })
  })
})

describe('litepool-migrate in-process: create', () => {
  const sandbox = useSandbox()

  it('numbers after the newest file, keeps its zero padding, never reuses a number', async () => {
    const s = sandbox(DRIVERS[0]!)
    const dir = join(s.dir, 'fresh')
    const first = await cli(['create', '  Add Users!  ', '--dir', dir])
    expect(first).toMatchObject({ code: 0, stdout: `Created ${join(dir, '0001_add_users.sql')}\n` })
    expect(readFileSync(join(dir, '0001_add_users.sql'), 'utf8')).toMatch(
      /^-- 0001_add_users\n[\s\S]*-- litepool:down\n$/,
    )
    const ts = await cli(['create', 'typed', '--ts', '--dir', 'fresh'], { cwd: s.dir })
    expect(ts.stdout).toBe(`Created ${join(dir, '0002_typed.ts')}\n`)
    expect(readFileSync(join(dir, '0002_typed.ts'), 'utf8')).toMatch(/MigrationModule\['up'\]/)

    s.write({ '00007_old.sql': 'select 1;\n' })
    const padded = json<{ file: string }>(
      await cli(['create', 'next', '--js', '--dir', s.migrations, '--json']),
    )
    expect(padded.file).toBe(join(s.migrations, '00008_next.js'))
    expect(readFileSync(padded.file, 'utf8')).toMatch(/export function down\(db\) \{\}/)

    const bad = await cli(['create', '!!!', '--dir', s.migrations])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/"!!!" is not a usable migration name: use letters and digits/)
  })
})

for (const driver of DRIVERS) {
  describe(`${driver.name}: litepool-migrate in-process`, () => {
    const sandbox = useSandbox()

    it('status, plan, up, down and validate: readable text, --json for scripts', async () => {
      const s = sandbox(driver)
      const run = (...argv: string[]) =>
        cli([...argv, '--db', 'app.db', '--driver', driver.name], { cwd: s.dir })
      s.write({
        '0001_users.sql':
          'create table users (id integer primary key);\n-- litepool:down\ndrop table users;\n',
        '0002_seed.js': SEED_JS,
      })

      const fresh = await run('status')
      expect(fresh.code).toBe(0)
      expect(fresh.stdout).toMatch(
        /^Database {4}.*app\.db \(does not exist yet\)\nMigrations {2}.*migrations\nVersion {5}0 · 2 pending\n/,
      )
      expect(fresh.stdout).toMatch(/^1 +0001_users +pending$/m)
      expect(fresh.stdout).not.toMatch(ANSI)
      const plan = await run('plan')
      expect(plan.stdout).toMatch(
        /^-- Plan: up from version 0 to 2, 2 steps \(dry run: nothing was changed\)\n/,
      )
      expect(plan.stdout).toMatch(/-- 0001_users \(up, in a transaction\)\ncreate table users/)
      expect(plan.stdout).toMatch(
        /-- migrations\/0002_seed\.js is a module: its SQL is produced when it runs/,
      )
      expect((await run('up', '--dry-run')).stdout).toBe(plan.stdout)
      expect(existsSync(s.db)).toBe(false) // read-only commands never create the database

      const up = await run('up')
      expect(up).toMatchObject({ code: 0, stderr: '' })
      expect(up.stdout).toMatch(
        /^Backed up to .*app\.db\.v0\.\S+\.bak \(\d+ ms\)\n▲ 0001_users …\n {2}done in \d+ ms\n▲ 0002_seed …\n {4}seeded 1 user\n {2}done in \d+ ms\nApplied 2 migrations: version 0 → 2\.\nBackup: .*\.bak\n$/,
      )
      expect((await run('up')).stdout).toBe('Nothing to apply: the database is at version 2.\n')
      expect((await run('plan')).stdout).toBe('Nothing to apply: the database is at version 2.\n')

      const status = await run('status')
      expect(status.stdout).toMatch(/^Version {5}2 · 0 pending$/m)
      expect(status.stdout).toMatch(/^Version +Name +State +Applied at +Took +By$/m)
      expect(status.stdout).toMatch(
        /^2 +0002_seed +applied +\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ +\d+ ms +\S+/m,
      )
      expect(json(await run('status', '--json'))).toMatchObject({
        ok: true,
        command: 'status',
        current: 2,
        migrations: s.migrations,
        entries: [
          { name: '0001_users', state: 'applied' },
          { name: '0002_seed', state: 'applied' },
        ],
      })
      expect(await run('validate')).toMatchObject({
        code: 0,
        stdout: 'OK: 2 migration(s) match the history; version 2, 0 pending.\n',
      })
      expect(json(await run('validate', '--json'))).toEqual({
        ok: true,
        command: 'validate',
        current: 2,
        pending: 0,
        problems: [],
      })

      expect((await run('plan', '--down')).stdout).toMatch(
        /^-- Plan: down from version 2 to 1, 1 step /,
      )
      expect(json(await run('down', '--dry-run', '--json'))).toMatchObject({
        ok: true,
        command: 'down',
        direction: 'down',
        steps: [{ name: '0002_seed' }],
      })
      const down = await run('down')
      expect(down.stdout).toMatch(
        /▼ 0002_seed …\n {2}done in \d+ ms\nRolled back 1 migration: version 2 → 1\.\nBackup: /,
      )
      const all = await run('down', '--to', '0', '--no-backup', '--json')
      expect(json(all)).toMatchObject({
        ok: true,
        command: 'down',
        from: 1,
        to: 0,
        steps: [{ name: '0001_users' }],
      })
      expect((await run('down')).stdout).toBe(
        'Nothing to roll back: the database is at version 0.\n',
      )
      expect((await run('plan', '--down')).stdout).toBe(
        'Nothing to roll back: the database is at version 0.\n',
      )
    })
  })
}

/** Puts a lock row of `pid` (on this host) into the lock table of the migrated `pool`. */
async function lockAs(pool: Pool<SqliteConnection>, pid: number): Promise<void> {
  await pool.write((c) =>
    c.run(
      "insert or replace into litepool_migrations_lock values (1, 'other', ?, ?, '2026-01-01T00:00:00Z', 'running', null, null)",
      [pid, hostname()],
    ),
  )
}

describe('litepool-migrate in-process: exit codes', () => {
  const sandbox = useSandbox()
  const driver = DRIVERS[0]!

  it('5: refusals (no down, target below current, baseline twice, no history, below baseline)', async () => {
    const s = sandbox(driver)
    const run = (...argv: string[]) =>
      cli([...argv, '--driver', driver.name, '--dir', 'migrations'], { cwd: s.dir })
    s.write({ '0001_a.sql': 'create table a (x);\n', '0002_b.sql': 'create table b (x);\n' })
    expect((await run('up', '--db', 'app.db', '--no-backup')).code).toBe(0)
    const noDown = await run('down', '--db', 'app.db', '--json')
    expect(noDown.code).toBe(5)
    expect(json(noDown)).toMatchObject({
      ok: false,
      command: 'down',
      error: { code: 'LITEPOOL_MIGRATION_NO_DOWN', migrations: ['0002_b'] },
    })
    const below = await run('up', '--db', 'app.db', '--to', '1')
    expect(below).toMatchObject({ code: 5, stdout: '' })
    expect(below.stderr).toMatch(
      /^error cannot migrate up to version 1: the database is already at 2/,
    )
    expect(below.stderr).not.toMatch(/--help/) // only usage errors point at --help
    expect((await run('baseline', '--db', 'app.db')).stderr).toMatch(
      /already has a migration history/,
    )

    const legacy = s.pool(join(s.dir, 'legacy.db'))
    await legacy.write((c) => c.exec('create table a (x)'))
    await legacy.close()
    const refused = await run('up', '--db', 'legacy.db')
    expect(refused.code).toBe(5)
    expect(refused.stderr).toMatch(
      /no migration history: adopt it first with `litepool-migrate baseline/,
    )
    const noVersion = await run('baseline', '--db', 'legacy.db')
    expect(noVersion.code).toBe(5)
    expect(noVersion.stderr).toMatch(
      /baseline needs a version >= 1 \(the database's user_version is 0\)/,
    )
    expect(await run('baseline', '1', '--db', 'legacy.db')).toMatchObject({
      code: 0,
      stdout: 'Baselined at version 1 (0001_a); older migrations count as applied.\n',
    })
    expect((await run('status', '--db', 'legacy.db')).stdout).toMatch(
      /^Version {5}1\b.* · baseline 1 · 1 pending$/m,
    )
    const underBase = await run('down', '--db', 'legacy.db', '--to', '0')
    expect(underBase.code).toBe(5)
    expect(underBase.stderr).toMatch(/cannot roll back below the baseline at version 1/)
  })

  it('1: a failed migration, with its cause in --json; 3: edited or missing files', async () => {
    const s = sandbox(driver)
    const run = (...argv: string[]) =>
      cli([...argv, '--db', s.db, '--dir', s.migrations, '--driver', driver.name, '--no-backup'])
    s.write({
      '0001_a.sql': 'create table a (x);\n',
      '0002_b.sql': 'insert into nowhere values (1);\n',
    })
    const failed = await run('up')
    expect(failed.code).toBe(1)
    expect(failed.stdout).toMatch(/▲ 0002_b …\n$/)
    expect(failed.stderr).toMatch(/^error migration 0002_b \(up\) failed: no such table: nowhere/)
    expect(json(await run('up', '--json'))).toMatchObject({
      ok: false,
      command: 'up',
      error: {
        name: 'MigrationFailedError',
        migration: '0002_b',
        direction: 'up',
        restoredFrom: null,
        partial: false,
        cause: { message: expect.stringMatching(/no such table: nowhere/) },
      },
    })

    rmSync(join(s.migrations, '0002_b.sql'))
    s.write({ '0001_a.sql': 'create table a (x, y);\n', '0002_b.sql': 'create table b (x);\n' })
    const drift = await run('validate')
    expect(drift.code).toBe(3)
    expect(drift.stderr).toMatch(/0001_a: was edited after it was applied/)
    const status = await run('status')
    expect(status.code).toBe(0)
    expect(status.stdout).toMatch(/^1 +0001_a +CHANGED/m)
    expect(status.stdout).toMatch(/\n1 problem:\n {2}✗ 0001_a: was edited after it was applied/)
    rmSync(join(s.migrations, '0001_a.sql'))
    const missing = await run('status')
    expect(missing.stdout).toMatch(/MISSING/)
    expect(json(await run('up', '--json'))).toMatchObject({
      ok: false,
      error: {
        code: expect.stringMatching(/^LITEPOOL_MIGRATION_/),
        problems: [{ kind: 'missing' }],
      },
    })
    expect((await run('up')).code).toBe(3)
  })

  it('4: locked by a live run (waits, then gives up) or left interrupted; unlock clears it', async () => {
    const s = sandbox(driver)
    const run = (...argv: string[]) =>
      cli([...argv, '--db', s.db, '--dir', s.migrations, '--driver', driver.name])
    s.write({ '0001_a.sql': 'create table a (x);\n' })
    expect((await run('up', '--no-backup')).code).toBe(0)
    const pool = s.pool()
    await lockAs(pool, process.pid)
    const locked = await run('up', '--lock-timeout', '30')
    expect(locked.code).toBe(4)
    expect(locked.stdout).toMatch(
      /^Waiting for another migration run \(pid \d+ on .* \(since 2026-01-01T00:00:00Z\)\)…\n/,
    )
    expect(locked.stderr).toMatch(
      /another migration run holds the lock on .*: pid \d+ .*gave up after 30 ms/,
    )
    expect(json(await run('up', '--lock-timeout', '0', '--json'))).toMatchObject({
      ok: false,
      error: {
        code: 'LITEPOOL_MIGRATION_LOCK_TIMEOUT',
        holder: { pid: process.pid, owner: 'other' },
      },
    })
    expect((await run('status')).stdout).toMatch(
      new RegExp(`^Lock {8}locked by pid ${process.pid} on \\S+ since 2026-01-01T00:00:00Z$`, 'm'),
    )
    const dead = Number(
      execFileSync(process.execPath, [
        '-e',
        'process.stdout.write(String(process.pid))',
      ]).toString(),
    )
    await lockAs(pool, dead)
    expect((await run('status')).stdout).toMatch(/^Lock {8}stale lock by pid \d+/m)
    expect(await run('unlock')).toMatchObject({
      code: 0,
      stdout: `Removed the migration lock of pid ${dead} on ${hostname()} (running).\n`,
    })
    expect((await run('unlock')).stdout).toBe('No migration lock was set.\n')
    expect(json(await run('unlock', '--json'))).toEqual({
      ok: true,
      command: 'unlock',
      removed: null,
    })

    s.write({
      '0002_half.sql':
        '-- litepool:no-transaction\ncreate table half (x);\ninsert into nowhere values (1);\n',
    })
    const half = await run('up', '--no-backup')
    expect(half.code).toBe(1)
    expect(half.stdout).toMatch(/▲ 0002_half \(outside a transaction\) …/)
    expect(half.stderr).toMatch(/may hold part of it/)
    const interrupted = await run('up')
    expect(interrupted.code).toBe(4)
    expect(interrupted.stderr).toMatch(
      /stopped in the middle of 0002_half, which runs outside a transaction/,
    )
    expect((await run('status')).stdout).toMatch(
      /^Lock {8}INTERRUPTED by pid \d+ .* in 0002_half$/m,
    )
    expect((await run('unlock')).stdout).toMatch(
      /^Removed the migration lock of pid \d+ on \S+ \(interrupted, in 0002_half\)\.\n$/,
    )

    s.write({
      '0002_half.sql':
        '-- litepool:no-transaction\n-- litepool:foreign-keys off\ncreate table if not exists half (x);\ninsert into nowhere values (1);\n',
    })
    const restored = await run('up')
    expect(restored.code).toBe(1)
    expect(restored.stdout).toMatch(
      /▲ 0002_half \(outside a transaction\) \(foreign keys off\) …\nRestored the database from .*\.bak\n$/,
    )
    expect(json(await run('up', '--json'))).toMatchObject({
      error: { restoredFrom: expect.stringMatching(/\.bak$/) },
    })
  })
})

describe('litepool-migrate in-process: colours', () => {
  const sandbox = useSandbox()
  const driver = DRIVERS[0]!

  it('on a TTY or with FORCE_COLOR; never with NO_COLOR or --no-color; errors too', async () => {
    const s = sandbox(driver)
    s.write({ '0001_a.sql': 'create table a (x);\n' })
    const status = ['status', '--db', s.db, '--dir', s.migrations, '--driver', driver.name]
    const tty = await cli(status, { isTTY: true })
    expect(tty.stdout).toMatch(ANSI)
    expect(tty.stdout).toContain(`\u001b[1mDatabase\u001b[22m`)
    expect(tty.stdout).toContain(`\u001b[33mpending\u001b[39m`)
    expect((await cli(status, { isTTY: true, env: { NO_COLOR: '' } })).stdout).toMatch(ANSI)
    expect((await cli([...status, '--no-color'], { isTTY: true })).stdout).not.toMatch(ANSI)
    expect((await cli(status, { isTTY: true, env: { NO_COLOR: '1' } })).stdout).not.toMatch(ANSI)
    expect((await cli(status, { env: { FORCE_COLOR: '1' } })).stdout).toMatch(ANSI)
    expect((await cli(status, { env: { FORCE_COLOR: '0' } })).stdout).not.toMatch(ANSI)
    const error = `\u001b[31merror\u001b[39m invalid command line`
    expect((await cli(['nope'], { isTTY: true })).stderr.slice(0, error.length)).toBe(error)
    expect((await cli(['nope'], { isTTY: true, env: { NO_COLOR: '1' } })).stderr).toMatch(
      /^error invalid/,
    )
  })
})
