import { readdir, readFile } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { checksum, normalizeText } from './checksum.js'
import { MigrationLoadError } from './errors.js'
import type { Migration, MigrationDirectives, MigrationModule } from './types.js'

/** `NNNN_name.ext`: digits, an underscore, a name, and a supported extension. */
const MIGRATION_FILE = /^(\d+)_([^.]+(?:\.[^.]+)*?)\.(sql|js|mjs|cjs|ts|mts)$/
const DECLARATION = /\.d\.m?ts$/
const DIRECTIVE = /^\s*--\s*litepool:([\w-]+)[ \t]*(.*?)\s*$/
const DIRECTIVES = ['up', 'down', 'no-transaction', 'foreign-keys'] as const

/** File extensions the loader reads as migrations. */
export const MIGRATION_EXTENSIONS: readonly string[] = ['sql', 'js', 'mjs', 'cjs', 'ts', 'mts']

/**
 * Version and name of a migration file name, or `undefined` when it is not one.
 *
 * @example
 * ```ts
 * parseFileName('0002_add_email.sql') // { version: 2, name: '0002_add_email', extension: 'sql' }
 * ```
 */
export function parseFileName(
  fileName: string,
): { version: number; name: string; extension: string } | undefined {
  if (DECLARATION.test(fileName)) return undefined
  const match = MIGRATION_FILE.exec(fileName)
  if (match === null) return undefined
  const extension = match[3] as string
  return {
    version: Number.parseInt(match[1] as string, 10),
    name: fileName.slice(0, -(extension.length + 1)),
    extension,
  }
}

/**
 * Reads every migration in `folder`, sorted by version. Files that do not start with a digit are
 * ignored (README, helpers); files that start with one but do not match `NNNN_name.ext`, two files
 * with one version, and malformed SQL directives throw {@link MigrationLoadError} naming the file.
 * Modules are not imported here (see `importMigration`), so `status` works without running
 * any of their code.
 *
 * @example
 * ```ts
 * const migrations = await loadMigrations('./migrations')
 * migrations.map((m) => m.name) // ['0001_create_users', '0002_add_email']
 * ```
 */
export async function loadMigrations(folder: string): Promise<Migration[]> {
  const dir = resolve(folder)
  let entries: import('node:fs').Dirent[]
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch (error) {
    throw new MigrationLoadError(
      dir,
      `cannot read the migrations folder ${dir}: ${messageOf(error)}`,
      { cause: error },
    )
  }
  const byVersion = new Map<number, Migration>()
  for (const entry of entries) {
    if (!entry.isFile() || !/^\d/.test(entry.name)) continue
    const file = join(dir, entry.name)
    const parsed = parseFileName(entry.name)
    if (parsed === undefined) {
      if (DECLARATION.test(entry.name) || entry.name.endsWith('.map')) continue
      throw new MigrationLoadError(
        file,
        `${entry.name} starts with a number but is not a migration name: use NNNN_name.sql (or .js, .mjs, .cjs, .ts, .mts)`,
      )
    }
    const migration = await readMigration(file, parsed)
    const clash = byVersion.get(parsed.version)
    if (clash !== undefined) {
      throw new MigrationLoadError(
        file,
        `two migrations have version ${parsed.version}: ${basename(clash.file)} and ${entry.name}; renumber one`,
      )
    }
    byVersion.set(parsed.version, migration)
  }
  return [...byVersion.values()].sort((a, b) => a.version - b.version)
}

async function readMigration(
  file: string,
  parsed: { version: number; name: string; extension: string },
): Promise<Migration> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new MigrationLoadError(file, `cannot read ${file}: ${messageOf(error)}`, { cause: error })
  }
  const base = { version: parsed.version, name: parsed.name, file, checksum: checksum(text) }
  if (parsed.extension !== 'sql') return { ...base, kind: 'module' }
  return { ...base, kind: 'sql', ...parseSqlMigration(text, file) }
}

/**
 * Splits a SQL migration into up and down parts and reads its directives:
 *
 * ```sql
 * -- litepool:no-transaction        (run outside a transaction: VACUUM, journal_mode)
 * -- litepool:foreign-keys off      (foreign keys off around it, foreign_key_check before COMMIT)
 * create table …;
 * -- litepool:down
 * drop table …;
 * ```
 *
 * A statement that cannot work inside a transaction (VACUUM, `PRAGMA journal_mode = …`,
 * `PRAGMA foreign_keys = …`) in a migration without the matching directive is refused here, before
 * anything runs: inside a transaction SQLite rejects the first two and silently ignores the third.
 *
 * @example
 * ```ts
 * parseSqlMigration('create table a(x);\n-- litepool:down\ndrop table a;\n', '0001_a.sql').downSql // 'drop table a;\n'
 * ```
 */
export function parseSqlMigration(
  text: string,
  file: string,
): { upSql: string; downSql?: string; directives: MigrationDirectives } {
  const up: string[] = []
  const down: string[] = []
  let inDown = false
  let transaction = true
  let foreignKeys = true
  const lines = normalizeText(text).split('\n')
  for (const [index, line] of lines.entries()) {
    const match = DIRECTIVE.exec(line)
    if (match === null) {
      ;(inDown ? down : up).push(line)
      continue
    }
    const [, name, value] = match as unknown as [string, string, string]
    const where = `${basename(file)} line ${index + 1}`
    if (!(DIRECTIVES as readonly string[]).includes(name)) {
      throw new MigrationLoadError(
        file,
        `${where}: unknown directive "litepool:${name}" (known: ${DIRECTIVES.map((d) => `litepool:${d}`).join(', ')})`,
      )
    }
    if (name === 'down') {
      if (inDown) throw new MigrationLoadError(file, `${where}: a second "-- litepool:down" marker`)
      inDown = true
    } else if (name === 'up') {
      if (inDown)
        throw new MigrationLoadError(file, `${where}: "-- litepool:up" after "-- litepool:down"`)
    } else if (name === 'no-transaction') {
      transaction = false
    } else if (value === 'off' || value === 'on') {
      foreignKeys = value === 'on'
    } else {
      throw new MigrationLoadError(
        file,
        `${where}: write "-- litepool:foreign-keys off" (or on), not "${value}"`,
      )
    }
  }
  const upSql = up.join('\n').trim()
  const downSql = inDown ? down.join('\n').trim() : undefined
  const directives = { transaction, foreignKeys }
  for (const sql of downSql === undefined ? [upSql] : [upSql, downSql]) {
    checkTransactionSafety(sql, file, directives)
  }
  const withNewline = (sql: string) => (sql === '' ? '' : `${sql}\n`)
  return {
    upSql: withNewline(upSql),
    ...(downSql === undefined ? {} : { downSql: withNewline(downSql) }),
    directives,
  }
}

/** Statements by their first words, with comments and string literals blanked out. */
function statementHeads(sql: string): string[] {
  const code = sql.replace(/--[^\n]*|\/\*[\s\S]*?\*\/|'(?:[^']|'')*'|"(?:[^"]|"")*"/g, ' ')
  return code.split(';').map((s) => s.trim().replace(/\s+/g, ' ').toUpperCase())
}

function checkTransactionSafety(sql: string, file: string, directives: MigrationDirectives): void {
  for (const head of statementHeads(sql)) {
    if (/^PRAGMA (?:\w+\.)?FOREIGN_KEYS ?=/.test(head)) {
      throw new MigrationLoadError(
        file,
        `${basename(file)} sets PRAGMA foreign_keys, which the runner manages (it is a no-op inside a transaction): ` +
          'remove it and add "-- litepool:foreign-keys off" instead',
      )
    }
    if (!directives.transaction) continue
    if (/^(?:BEGIN|COMMIT|ROLLBACK(?! TO\b))\b/.test(head)) {
      throw new MigrationLoadError(
        file,
        `${basename(file)} has its own ${head.split(' ')[0]}: the runner wraps each migration in BEGIN IMMEDIATE … COMMIT, so remove it ` +
          '(or add "-- litepool:no-transaction" if the file must manage transactions itself)',
      )
    }
    const what = /^VACUUM\b/.test(head)
      ? 'VACUUM'
      : /^PRAGMA (?:\w+\.)?JOURNAL_MODE ?=/.test(head)
        ? 'PRAGMA journal_mode'
        : undefined
    if (what !== undefined) {
      throw new MigrationLoadError(
        file,
        `${basename(file)} runs ${what}, which cannot run inside a transaction: add "-- litepool:no-transaction" to the file`,
      )
    }
  }
}

const modules = new Map<string, Promise<MigrationModule>>()

/**
 * Imports a module migration (memoised per file and checksum, so an edited file is imported anew)
 * and checks that it exports an `up` function. TypeScript files need a runtime that can import
 * them (Node ≥ 22.18, tsx, vitest); otherwise the error says so.
 *
 * @example
 * ```ts
 * const mod = await importMigration(migration)
 * await mod.up(connection, context)
 * ```
 */
export function importMigration(migration: Migration): Promise<MigrationModule> {
  const key = `${migration.file}#${migration.checksum}`
  let loading = modules.get(key)
  if (loading === undefined) {
    loading = doImport(migration)
    modules.set(key, loading)
    loading.catch(() => modules.delete(key))
  }
  return loading
}

async function doImport(migration: Migration): Promise<MigrationModule> {
  const url = `${pathToFileURL(migration.file).href}?checksum=${migration.checksum.slice(0, 16)}`
  let loaded: Record<string, unknown>
  try {
    loaded = (await import(url)) as Record<string, unknown>
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code
    const hint =
      code === 'ERR_UNKNOWN_FILE_EXTENSION' && /\.m?ts$/.test(migration.file)
        ? `Node ${process.version} cannot import TypeScript by itself: run through tsx, use Node ≥ 22.18, or compile the migrations to .js`
        : messageOf(error)
    throw new MigrationLoadError(
      migration.file,
      `cannot import ${basename(migration.file)}: ${hint}`,
      { cause: error },
    )
  }
  const candidate =
    typeof loaded.up === 'function'
      ? loaded
      : (loaded.default as Record<string, unknown> | undefined)
  if (candidate === undefined || candidate === null || typeof candidate.up !== 'function') {
    throw new MigrationLoadError(
      migration.file,
      `${basename(migration.file)} must export an up(db) function`,
    )
  }
  for (const key of ['transaction', 'foreignKeys'] as const) {
    if (candidate[key] !== undefined && typeof candidate[key] !== 'boolean') {
      throw new MigrationLoadError(
        migration.file,
        `${basename(migration.file)}: export "${key}" must be a boolean`,
      )
    }
  }
  if (candidate.down !== undefined && typeof candidate.down !== 'function') {
    throw new MigrationLoadError(
      migration.file,
      `${basename(migration.file)}: export "down" must be a function`,
    )
  }
  return candidate as unknown as MigrationModule
}

/** A migration's directives: parsed from SQL, or read from a module's exports (importing it). */
export async function directivesOf(migration: Migration): Promise<MigrationDirectives> {
  if (migration.directives !== undefined) return migration.directives
  const mod = await importMigration(migration)
  return { transaction: mod.transaction ?? true, foreignKeys: mod.foreignKeys ?? true }
}

/** Whether the migration can be rolled back (imports a module to find out). */
export async function hasDown(migration: Migration): Promise<boolean> {
  if (migration.kind === 'sql') return migration.downSql !== undefined
  return typeof (await importMigration(migration)).down === 'function'
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
