import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { MigrationLoadError } from './errors.js'
import {
  directivesOf,
  hasDown,
  importMigration,
  loadMigrations,
  parseFileName,
  parseSqlMigration,
} from './loader.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'litepool-loader-'))
  dirs.push(dir)
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

describe('file names', () => {
  it('reads the version and the name, and ignores declaration files', () => {
    expect(parseFileName('0002_add_email.sql')).toEqual({
      version: 2,
      name: '0002_add_email',
      extension: 'sql',
    })
    expect(parseFileName('20240101120000_init.ts')).toEqual({
      version: 20240101120000,
      name: '20240101120000_init',
      extension: 'ts',
    })
    expect(parseFileName('0003_x.d.ts')).toBeUndefined()
    expect(parseFileName('0003-x.sql')).toBeUndefined()
    expect(parseFileName('readme.md')).toBeUndefined()
  })

  it('loads a folder sorted by number, skipping files that do not start with a digit', async () => {
    const dir = folder({
      '10_c.sql': 'select 1;',
      '2_b.mjs': 'export const up = () => {}',
      '0001_a.sql': 'select 1;',
      'README.md': '#',
      'helpers.js': '',
    })
    const names = (await loadMigrations(dir)).map((m) => `${m.version}:${m.name}:${m.kind}`)
    expect(names).toEqual(['1:0001_a:sql', '2:2_b:module', '10:10_c:sql'])
  })

  it('refuses look-alike names, duplicate versions and a missing folder, naming the file', async () => {
    await expect(loadMigrations(folder({ '0001-a.sql': 'select 1;' }))).rejects.toThrow(
      /0001-a\.sql starts with a number but is not a migration name/,
    )
    const dup = loadMigrations(folder({ '0001_a.sql': 'select 1;', '001_b.sql': 'select 2;' }))
    await expect(dup).rejects.toBeInstanceOf(MigrationLoadError)
    await expect(dup).rejects.toThrow(
      /two migrations have version 1: .*0001_a\.sql.*001_b\.sql|two migrations have version 1: .*001_b\.sql.*0001_a\.sql/,
    )
    await expect(loadMigrations('/nonexistent/litepool')).rejects.toMatchObject({
      code: 'LITEPOOL_MIGRATION_LOAD',
    })
  })
})

describe('SQL migrations', () => {
  it('splits up and down at the marker and reads directives', () => {
    const m = parseSqlMigration(
      '-- litepool:foreign-keys off\ncreate table a(x);\n-- litepool:down\ndrop table a;\n',
      'f.sql',
    )
    expect(m).toEqual({
      upSql: 'create table a(x);\n',
      downSql: 'drop table a;\n',
      directives: { transaction: true, foreignKeys: false },
    })
    expect(parseSqlMigration('-- litepool:no-transaction\nVACUUM;', 'v.sql').directives).toEqual({
      transaction: false,
      foreignKeys: true,
    })
    expect(parseSqlMigration('create table a(x);', 'a.sql').downSql).toBeUndefined()
  })

  it.each([
    ['-- litepool:no-transactions\nselect 1;', /unknown directive "litepool:no-transactions"/],
    ['select 1;\n-- litepool:down\n-- litepool:down\n', /a second "-- litepool:down"/],
    ['-- litepool:foreign-keys maybe\nselect 1;', /foreign-keys off/],
    [
      'VACUUM;',
      /runs VACUUM, which cannot run inside a transaction: add "-- litepool:no-transaction"/,
    ],
    ['pragma journal_mode = delete;', /PRAGMA journal_mode/],
    ['PRAGMA foreign_keys=OFF; create table a(x);', /add "-- litepool:foreign-keys off" instead/],
    ['begin; create table a(x); commit;', /has its own BEGIN/],
  ])('refuses %j before anything runs', (text, message) => {
    expect(() => parseSqlMigration(text, '0001_x.sql')).toThrow(message)
  })

  it('is not fooled by keywords in comments, strings or trigger bodies', () => {
    const text = `-- VACUUM later\ninsert into notes values ('VACUUM; PRAGMA foreign_keys = off');\ncreate trigger t after insert on a begin update b set n = n + 1; end;`
    expect(() => parseSqlMigration(text, 'ok.sql')).not.toThrow()
  })
})

describe('module migrations', () => {
  it('imports up/down and the directive exports; an edited file is imported anew', async () => {
    const dir = folder({
      '0001_m.mjs':
        'export const transaction = false\nexport function up() { return 1 }\nexport function down() {}\n',
    })
    const [m] = await loadMigrations(dir)
    expect(await directivesOf(m!)).toEqual({ transaction: false, foreignKeys: true })
    expect(await hasDown(m!)).toBe(true)
    writeFileSync(join(dir, '0001_m.mjs'), 'export function up() { return 2 }\n')
    const [edited] = await loadMigrations(dir)
    expect(await hasDown(edited!)).toBe(false)
    expect((await importMigration(edited!)).up({} as never, {} as never)).toBe(2)
  })

  it('refuses a module without an up function, naming the file', async () => {
    const [m] = await loadMigrations(folder({ '0001_bad.mjs': 'export const down = () => {}\n' }))
    await expect(importMigration(m!)).rejects.toThrow(
      /0001_bad\.mjs must export an up\(db\) function/,
    )
  })
})
