import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadDriver } from './cli-config.js'
import { createMigrator } from './migrator.js'
import { DRIVERS, json, runCli, useSandbox } from './test-utils/setup.js'

const ANSI = new RegExp(String.fromCharCode(27) + '\\[')

describe('litepool-migrate: usage', () => {
  it('prints help, and exits 2 naming every usage problem', { timeout: 15_000 }, async () => {
    const help = await runCli(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^Usage: litepool-migrate <command>/)
    expect(help.stdout).toMatch(/Exit codes: 0 ok/)
    const bad = await runCli(['migrate', '--to', 'x'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/invalid command line \(2 issues\)/)
    expect(bad.stderr).toMatch(/command: expected status \| up .* received "migrate"/)
    expect(bad.stderr).toMatch(/--to: expected an integer >= 0, received "x"/)
    const flag = await runCli(['status', '--bogus'])
    expect(flag.code).toBe(2)
    expect(flag.stderr).toMatch(/--bogus/)
    const version = await runCli(['--version'])
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
  })

  it('names the driver package when it is not installed', async () => {
    const fake = {
      fake: {
        pkg: '@litepool/driver-not-installed',
        factory: 'x',
        install: 'npm i @litepool/driver-not-installed',
      },
    }
    await expect(loadDriver('fake', 'app.db', {}, process.cwd(), fake)).rejects.toMatchObject({
      code: 'LITEPOOL_MIGRATION_DRIVER',
      message: expect.stringMatching(
        /not installed: install @litepool\/driver-not-installed \(npm i @litepool\/driver-not-installed\)/,
      ),
    })
    await expect(loadDriver('nope', 'app.db', {})).rejects.toMatchObject({
      code: 'LITEPOOL_CONFIG',
      message: expect.stringMatching(/--driver/),
    })
  })
})

for (const driver of DRIVERS) {
  describe(`${driver.name}: litepool-migrate`, () => {
    const sandbox = useSandbox()

    it('create, status, plan, up, validate: readable output, --json for scripts', {
      timeout: 30_000,
    }, async () => {
      const s = sandbox(driver)
      const base = ['--db', s.db, '--dir', s.migrations, '--driver', driver.name]
      const created = json<{ file: string }>(
        await runCli(['create', 'Create users!', '--dir', s.migrations, '--json']),
      )
      expect(created.file).toBe(join(s.migrations, '0001_create_users.sql'))
      writeFileSync(
        created.file,
        'create table users (id integer primary key);\n-- litepool:down\ndrop table users;\n',
      )
      const second = await runCli(['create', 'seed', '--js', '--dir', s.migrations])
      expect(second.stdout).toMatch(/Created .*0002_seed\.js/)

      const status = await runCli(['status', ...base])
      expect(status.code).toBe(0)
      expect(status.stdout).toMatch(/Database\s+.*app\.db \(does not exist yet\)/)
      expect(existsSync(s.db)).toBe(false) // status and plan never create the database
      expect(status.stdout).not.toMatch(ANSI)
      expect(status.stdout).toMatch(/Version\s+0 · 2 pending/)
      expect(status.stdout).toMatch(/^Version\s+Name\s+State\s+Applied at\s+Took\s+By$/m)
      expect(status.stdout).toMatch(/^1\s+0001_create_users\s+pending$/m)

      const plan = await runCli(['plan', ...base])
      expect(plan.stdout).toMatch(
        /-- 0001_create_users \(up, in a transaction\)\ncreate table users \(id integer primary key\);/,
      )
      expect(plan.stdout).toMatch(/0002_seed\.js is a module/)

      expect(existsSync(s.db)).toBe(false)
      const up = await runCli(['up', ...base])
      expect(up.code).toBe(0)
      expect(up.stdout).toMatch(/Backed up to .*app\.db\.v0\..*\.bak/)
      expect(up.stdout).toMatch(
        /▲ 0001_create_users …\n {2}done in \d+ ms\n▲ 0002_seed …\n {2}done in \d+ ms\nApplied 2 migrations: version 0 → 2\./,
      )

      const st = json<{ ok: boolean; current: number; entries: { name: string; state: string }[] }>(
        await runCli(['status', ...base, '--json']),
      )
      expect(st).toMatchObject({
        ok: true,
        current: 2,
        entries: [
          { name: '0001_create_users', state: 'applied' },
          { name: '0002_seed', state: 'applied' },
        ],
      })
      expect((await runCli(['validate', ...base])).code).toBe(0)

      // line endings alone are not an edit
      writeFileSync(created.file, readFileSync(created.file, 'utf8').replaceAll('\n', '\r\n'))
      expect((await runCli(['validate', ...base])).code).toBe(0)
      writeFileSync(created.file, 'create table users (id integer primary key, name text);\n')
      const drift = await runCli(['validate', ...base])
      expect(drift.code).toBe(3)
      expect(drift.stderr).toMatch(/0001_create_users: was edited after it was applied/)
      const driftJson = json<{
        ok: boolean
        error: { code: string; problems: { kind: string; file: string }[] }
      }>(await runCli(['up', ...base, '--json']))
      expect(driftJson).toMatchObject({
        ok: false,
        error: {
          code: 'LITEPOOL_MIGRATION_CHECKSUM',
          problems: [{ kind: 'checksum', file: created.file }],
        },
      })
    })
  })
}

describe('litepool-migrate: TypeScript migrations', () => {
  const sandbox = useSandbox()
  const canStripTypes = (process.features as { typescript?: unknown }).typescript !== undefined

  it(canStripTypes
    ? 'runs .ts migrations where Node can import them'
    : `explains that Node ${process.version} cannot import .ts migrations`, {
    timeout: 15_000,
  }, async () => {
    const s = sandbox(DRIVERS[0]!)
    s.write({
      '0001_typed.ts':
        "export function up(db: { exec(sql: string): void }): void {\n  db.exec('create table typed (x)')\n}\n",
    })
    const result = await runCli([
      'up',
      '--db',
      s.db,
      '--dir',
      s.migrations,
      '--driver',
      DRIVERS[0]!.name,
    ])
    if (canStripTypes) expect(result.code).toBe(0)
    else {
      expect(result.code).toBe(2)
      expect(result.stderr).toMatch(
        /cannot import 0001_typed\.ts: Node v\d+\.\d+\.\d+ cannot import TypeScript by itself: run through tsx/,
      )
    }
  })

  it('imports .ts migrations in-process when the runtime can (here: vitest)', {
    timeout: 15_000,
  }, async () => {
    const s = sandbox(DRIVERS[0]!)
    s.write({
      '0001_typed.ts':
        "export const foreignKeys: boolean = false\nexport function up(db: { exec(sql: string): void }): void {\n  db.exec('create table typed (x)')\n}\n",
    })
    const pool = s.pool()
    const run = await createMigrator({ pool, migrations: s.migrations, backup: false }).up()
    expect(run.steps.map((x) => x.name)).toEqual(['0001_typed'])
    expect(
      await pool.read((c) => c.get("select count(*) as n from sqlite_schema where name = 'typed'")),
    ).toEqual({ n: 1 })
  })
})

describe('litepool-migrate: exit codes, config file, colours', () => {
  const sandbox = useSandbox()
  const driver = DRIVERS[0]!

  it('refusals exit 5, failures 1, and a config file supplies the settings', {
    timeout: 30_000,
  }, async () => {
    const s = sandbox(driver)
    s.write({ '0001_a.sql': 'create table a (x);\n', '0002_b.sql': 'create table b (x);\n' })
    s.config({
      database: 'app.db',
      migrations: 'migrations',
      driver: driver.name,
      backup: false,
    })
    const up = await runCli(['up'], { cwd: s.dir })
    expect(up.code).toBe(0)
    const noDown = await runCli(['down', '--json'], { cwd: s.dir })
    expect(noDown.code).toBe(5)
    expect(json(noDown)).toMatchObject({
      ok: false,
      error: { code: 'LITEPOOL_MIGRATION_NO_DOWN', migrations: ['0002_b'] },
    })
    s.write({ '0003_c.sql': 'insert into nowhere values (1);\n' })
    const failed = await runCli(['up'], { cwd: s.dir })
    expect(failed.code).toBe(1)
    expect(failed.stderr).toMatch(/migration 0003_c \(up\) failed: no such table: nowhere/)

    const other = join(s.dir, 'legacy.db')
    const legacy = s.pool(other)
    await legacy.write((c) => c.exec('create table a (x); pragma user_version = 1'))
    await legacy.close()
    const refused = await runCli(['up', '--db', 'legacy.db'], { cwd: s.dir })
    expect(refused.code).toBe(5)
    expect(refused.stderr).toMatch(
      /no migration history: adopt it first with `litepool-migrate baseline/,
    )
    expect((await runCli(['baseline', '--db', 'legacy.db'], { cwd: s.dir })).stdout).toMatch(
      /Baselined at version 1 \(0001_a\)/,
    )
    expect((await runCli(['up', '--db', 'legacy.db', '--to', '2'], { cwd: s.dir })).stdout).toMatch(
      /version 1 → 2/,
    )

    s.config({ database: 3, migratons: 'x' })
    const badConfig = await runCli(['status'], { cwd: s.dir })
    expect(badConfig.code).toBe(2)
    expect(badConfig.stderr).toMatch(
      /2 issues[\s\S]*migratons: expected no such key[\s\S]*database: expected a non-empty string/,
    )
  })

  it('colours only when asked for (a TTY or FORCE_COLOR), never with NO_COLOR or --no-color', {
    timeout: 15_000,
  }, async () => {
    const s = sandbox(driver)
    s.write({ '0001_a.sql': 'create table a (x);\n' })
    const args = ['status', '--db', s.db, '--dir', s.migrations, '--driver', driver.name]
    expect((await runCli(args, { env: { NO_COLOR: '', FORCE_COLOR: '1' } })).stdout).toMatch(ANSI)
    expect(
      (await runCli([...args, '--no-color'], { env: { NO_COLOR: '', FORCE_COLOR: '1' } })).stdout,
    ).not.toMatch(ANSI)
    expect((await runCli(args, { env: { NO_COLOR: '1', FORCE_COLOR: '1' } })).stdout).not.toMatch(
      ANSI,
    )
  })
})
