import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { loadDriver } from './cli-config.js'
import { cli } from './test-utils/in-process.js'
import { DRIVERS, json, useSandbox } from './test-utils/setup.js'

const driver = DRIVERS[0]!

describe('litepool-migrate config file', () => {
  const sandbox = useSandbox()

  it('./litepool-migrate.config.json supplies every setting, paths relative to the file; flags win', async () => {
    const s = sandbox(driver)
    s.write({ '0001_a.sql': 'create table a (x);\n' })
    s.config({
      database: 'app.db',
      migrations: 'migrations',
      driver: driver.name,
      table: 'schema_history',
      backup: true,
      backupDir: 'backups',
      lockTimeoutMs: 1000,
      driverOptions: { busyTimeoutMs: 100 },
    })
    const up = await cli(['up'], { cwd: s.dir })
    expect(up).toMatchObject({ code: 0, stderr: '' })
    expect(up.stdout).toMatch(/Applied 1 migration: version 0 → 1\./)
    expect(readdirSync(join(s.dir, 'backups'))).toEqual([
      expect.stringMatching(/^app\.db\.v0\..*\.bak$/),
    ])
    const tables = await s
      .pool()
      .read((c) =>
        c.all<{ name: string }>(
          "select name from sqlite_schema where type = 'table' order by name",
        ),
      )
    expect(tables.map((t) => t.name)).toEqual(['a', 'schema_history', 'schema_history_lock'])

    const other = await cli(['up', '--db', 'other.db', '--no-backup', '--table', 'h'], {
      cwd: s.dir,
    })
    expect(other.code).toBe(0)
    expect(existsSync(join(s.dir, 'other.db'))).toBe(true)
    expect(other.stdout).not.toMatch(/Backed up/)

    s.config({ database: 'app.db', driverOptions: { statementCacheSize: 1.5 } })
    const bad = await cli(['status'], { cwd: s.dir })
    expect(bad.code).toBe(2) // driverOptions reach the driver, which validates them
    expect(bad.stderr).toMatch(/statementCacheSize: expected/)
  })

  it('--config names a JSON or .mjs file; its folder anchors relative paths', async () => {
    const s = sandbox(driver)
    const sub = join(s.dir, 'conf')
    mkdirSync(join(sub, 'migrations'), { recursive: true })
    writeFileSync(join(sub, 'migrations', '0001_a.sql'), 'create table a (x);\n')
    writeFileSync(
      join(sub, 'db.json'),
      JSON.stringify({ database: 'j.db', migrations: 'migrations', backup: false }),
    )
    expect(await cli(['up', '-c', 'conf/db.json'], { cwd: s.dir })).toMatchObject({
      code: 0,
      stderr: '',
    })
    expect(existsSync(join(sub, 'j.db'))).toBe(true)
    writeFileSync(
      join(sub, 'db.mjs'),
      "export default { database: 'm.db', migrations: 'migrations', backup: false }\n",
    )
    const mjs = await cli(['up', '--config', 'conf/db.mjs', '--json'], { cwd: s.dir })
    expect(json(mjs)).toMatchObject({ ok: true, command: 'up', steps: [{ name: '0001_a' }] })
    expect(existsSync(join(sub, 'm.db'))).toBe(true)
  })

  it('exits 2 naming every bad field, or why the file could not be read', async () => {
    const s = sandbox(driver)
    const write = (name: string, text: string) => writeFileSync(join(s.dir, name), text)
    write(
      'bad.json',
      JSON.stringify({
        database: 3,
        migratons: 'x',
        table: '',
        backup: 'yes',
        lockTimeoutMs: -1,
        driverOptions: [],
      }),
    )
    const bad = await cli(['status', '-c', 'bad.json'], { cwd: s.dir })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/invalid config file .*bad\.json \(6 issues\)/)
    for (const line of [
      /- migratons: expected no such key \(known: database, migrations, .*\), received "x"/,
      /- database: expected a non-empty string, received 3/,
      /- table: expected a non-empty string, received ""/,
      /- backup: expected a boolean, received "yes"/,
      /- lockTimeoutMs: expected an integer >= 0, received -1/,
      /- driverOptions: expected an object, received an array/,
    ])
      expect(bad.stderr).toMatch(line)
    expect(bad.stderr).toMatch(/Run litepool-migrate --help for usage\./)
    const asJson = json<{ error: { issues: { path: string }[] } }>(
      await cli(['status', '-c', 'bad.json', '--json'], { cwd: s.dir }),
    )
    expect(asJson.error.issues.map((i) => i.path)).toEqual([
      'migratons',
      'database',
      'table',
      'backup',
      'lockTimeoutMs',
      'driverOptions',
    ])

    const missing = await cli(['status', '-c', 'nope.json'], { cwd: s.dir })
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/- \(file\): expected a readable JSON object .*ENOENT/)
    write('broken.json', '{ "database": ')
    expect((await cli(['status', '-c', 'broken.json'], { cwd: s.dir })).stderr).toMatch(
      /- \(file\): expected a readable JSON object .*JSON/,
    )
    write('list.json', '[]')
    expect((await cli(['status', '-c', 'list.json'], { cwd: s.dir })).stderr).toMatch(
      /- \(root\): expected an object, received an array/,
    )
    write('nodefault.mjs', 'export const database = "x.db"\n')
    expect((await cli(['status', '-c', 'nodefault.mjs'], { cwd: s.dir })).stderr).toMatch(
      /- \(root\): expected an object, received undefined/,
    )
  })
})

describe('loadDriver', () => {
  const sandbox = useSandbox()
  const migratePackage = fileURLToPath(new URL('..', import.meta.url))

  it("loads the driver from the project (the working directory) first, with the config's options", async () => {
    const s = sandbox(driver)
    const pkg = join(s.dir, 'node_modules', '@litepool', 'driver-local')
    mkdirSync(pkg, { recursive: true })
    writeFileSync(
      join(pkg, 'package.json'),
      JSON.stringify({ name: '@litepool/driver-local', type: 'module', main: 'index.js' }),
    )
    writeFileSync(
      join(pkg, 'index.js'),
      'export const make = (options) => ({ name: "local", options })\n',
    )
    const local = { local: { pkg: '@litepool/driver-local', factory: 'make', install: '' } }
    expect(await loadDriver('local', 'a.db', { busyTimeoutMs: 1 }, s.dir, local)).toEqual({
      name: 'local',
      options: { busyTimeoutMs: 1, filename: 'a.db' },
    })
    await expect(loadDriver('local', 'a.db', {}, migratePackage, local)).rejects.toMatchObject({
      message: expect.stringMatching(/not installed: install @litepool\/driver-local/),
    })
  })

  it('names what is wrong with a driver package', async () => {
    const fake = (pkg: string, factory = 'make') => ({ pkg, factory, install: `npm i ${pkg}` })
    await expect(
      loadDriver('x', 'a.db', {}, migratePackage, { x: fake('@litepool/pool-core', 'nope') }),
    ).rejects.toMatchObject({
      code: 'LITEPOOL_MIGRATION_DRIVER',
      message:
        '@litepool/pool-core has no nope export: is it a litepool driver of a matching version?',
    })
    const throwing = 'data:text/javascript,throw new TypeError("boom")'
    await expect(
      loadDriver('x', 'a.db', {}, migratePackage, { x: fake(throwing) }),
    ).rejects.toMatchObject({
      code: 'LITEPOOL_MIGRATION_DRIVER',
      message: `cannot load ${throwing}: boom`,
      cause: expect.any(TypeError),
    })
    await expect(
      loadDriver('auto', 'a.db', {}, migratePackage, {
        one: fake('@litepool/not-one'),
        two: fake('@litepool/not-two'),
      }),
    ).rejects.toMatchObject({
      message:
        'the driver package is not installed: install @litepool/not-one (npm i @litepool/not-one) or @litepool/not-two (npm i @litepool/not-two)',
    })
  })
})
