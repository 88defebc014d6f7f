import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ConfigError, type ConfigIssue } from '@litepool/pool-core'
import { describeValue, type SqliteDriver } from '@litepool/sqlite-base'
import type { CliArgs } from './cli-args.js'
import { MigrationError } from './errors.js'

/** Default config file, looked up in the working directory. */
export const CONFIG_FILE = 'litepool-migrate.config.json'

/**
 * What a config file may hold (`litepool-migrate.config.json`, or a `.js`/`.mjs` file whose default
 * export is this object). Relative paths are relative to the config file. Flags win over the file.
 *
 * @example
 * ```json
 * { "database": "data/app.db", "migrations": "migrations", "driver": "better-sqlite3" }
 * ```
 */
export interface CliConfig {
  readonly database?: string
  readonly migrations?: string
  readonly driver?: string
  readonly table?: string
  readonly backup?: boolean
  readonly backupDir?: string
  readonly lockTimeoutMs?: number
  /** Extra options for the driver factory (pragmas, busyTimeoutMs…). */
  readonly driverOptions?: Readonly<Record<string, unknown>>
}

/** Flags and config file merged, paths absolute. */
export interface CliSettings {
  readonly database: string | undefined
  readonly migrations: string
  readonly driver: string
  readonly table: string | undefined
  readonly backup: boolean | { readonly dir: string }
  readonly lockTimeoutMs: number | undefined
  readonly driverOptions: Readonly<Record<string, unknown>>
}

const KEYS = [
  'database',
  'migrations',
  'driver',
  'table',
  'backup',
  'backupDir',
  'lockTimeoutMs',
  'driverOptions',
]

/** Reads the config file (if any) and merges it with the flags. */
export async function resolveSettings(
  args: CliArgs,
  cwd: string = process.cwd(),
): Promise<CliSettings> {
  const explicit = args.config !== undefined
  const file = resolve(cwd, args.config ?? CONFIG_FILE)
  const config = explicit || existsSync(file) ? await readConfig(file) : {}
  const base = explicit || existsSync(file) ? dirname(file) : cwd
  const fromConfig = (p: string | undefined) => (p === undefined ? undefined : resolve(base, p))
  const fromFlag = (p: string | undefined) => (p === undefined ? undefined : resolve(cwd, p))
  const backupDir = fromFlag(args.backupDir) ?? fromConfig(config.backupDir)
  const backup = args.backup ?? config.backup ?? true
  return {
    database: fromFlag(args.db) ?? fromConfig(config.database),
    migrations: fromFlag(args.dir) ?? fromConfig(config.migrations) ?? resolve(cwd, 'migrations'),
    driver: args.driver ?? config.driver ?? 'auto',
    table: args.table ?? config.table,
    backup: backup && backupDir !== undefined ? { dir: backupDir } : backup,
    lockTimeoutMs: args.lockTimeoutMs ?? config.lockTimeoutMs,
    driverOptions: config.driverOptions ?? {},
  }
}

async function readConfig(file: string): Promise<CliConfig> {
  let raw: unknown
  try {
    if (/\.[cm]?js$/.test(file))
      raw = ((await import(pathToFileURL(file).href)) as { default?: unknown }).default
    else raw = JSON.parse(await readFile(file, 'utf8'))
  } catch (error) {
    throw new ConfigError(`config file ${file}`, [
      {
        path: '(file)',
        expected: 'a readable JSON object (or a module with a default export)',
        received: (error as Error).message,
      },
    ])
  }
  const issues: ConfigIssue[] = []
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`config file ${file}`, [
      { path: '(root)', expected: 'an object', received: describeValue(raw) },
    ])
  }
  const o = raw as Record<string, unknown>
  for (const key of Object.keys(o))
    if (!KEYS.includes(key))
      issues.push({
        path: key,
        expected: `no such key (known: ${KEYS.join(', ')})`,
        received: describeValue(o[key]),
      })
  for (const key of ['database', 'migrations', 'driver', 'table', 'backupDir']) {
    if (o[key] !== undefined && (typeof o[key] !== 'string' || o[key] === ''))
      issues.push({ path: key, expected: 'a non-empty string', received: describeValue(o[key]) })
  }
  if (o.backup !== undefined && typeof o.backup !== 'boolean')
    issues.push({ path: 'backup', expected: 'a boolean', received: describeValue(o.backup) })
  if (
    o.lockTimeoutMs !== undefined &&
    (!Number.isSafeInteger(o.lockTimeoutMs) || (o.lockTimeoutMs as number) < 0)
  ) {
    issues.push({
      path: 'lockTimeoutMs',
      expected: 'an integer >= 0',
      received: describeValue(o.lockTimeoutMs),
    })
  }
  if (
    o.driverOptions !== undefined &&
    (typeof o.driverOptions !== 'object' ||
      o.driverOptions === null ||
      Array.isArray(o.driverOptions))
  ) {
    issues.push({
      path: 'driverOptions',
      expected: 'an object',
      received: describeValue(o.driverOptions),
    })
  }
  if (issues.length > 0) throw new ConfigError(`config file ${file}`, issues)
  return o as CliConfig
}

/** The driver packages the CLI knows, by `--driver` name. */
export const DRIVERS: Readonly<
  Record<string, { readonly pkg: string; readonly factory: string; readonly install: string }>
> = {
  'better-sqlite3': {
    pkg: '@litepool/driver-better-sqlite3',
    factory: 'betterSqlite3',
    install: 'npm i @litepool/driver-better-sqlite3 better-sqlite3@12',
  },
  'node-sqlite': {
    pkg: '@litepool/driver-node-sqlite',
    factory: 'nodeSqlite',
    install: 'npm i @litepool/driver-node-sqlite',
  },
}

type Factory = (options: Record<string, unknown>) => SqliteDriver

/** Imports a package from the user's project (the working directory) first, then from next to the CLI. */
async function importPackage(
  pkg: string,
  cwd: string,
): Promise<Record<string, unknown> | undefined> {
  try {
    const path = createRequire(join(cwd, 'package.json')).resolve(pkg)
    return (await import(pathToFileURL(path).href)) as Record<string, unknown>
  } catch {
    // not installed in the project: try where the CLI itself is installed
  }
  try {
    return (await import(pkg)) as Record<string, unknown>
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return undefined
    throw new MigrationError(`cannot load ${pkg}: ${(error as Error).message}`, {
      code: 'LITEPOOL_MIGRATION_DRIVER',
      cause: error,
    })
  }
}

/**
 * Builds the driver named by `--driver` (`auto`: better-sqlite3 if installed, else node-sqlite),
 * loading its package dynamically. A missing package is named in the error, with the install line.
 */
export async function loadDriver(
  name: string,
  filename: string,
  options: Readonly<Record<string, unknown>>,
  cwd: string = process.cwd(),
  drivers: typeof DRIVERS = DRIVERS,
): Promise<SqliteDriver> {
  const names = name === 'auto' ? Object.keys(drivers) : [name]
  if (name !== 'auto' && drivers[name] === undefined) {
    throw new ConfigError('command line', [
      {
        path: '--driver',
        expected: `auto | ${Object.keys(drivers).join(' | ')}`,
        received: JSON.stringify(name),
      },
    ])
  }
  for (const candidate of names) {
    const { pkg, factory } = drivers[candidate] as (typeof DRIVERS)[string]
    const module = await importPackage(pkg, cwd)
    if (module === undefined) continue
    const make = module[factory]
    if (typeof make !== 'function') {
      throw new MigrationError(
        `${pkg} has no ${factory} export: is it a litepool driver of a matching version?`,
        { code: 'LITEPOOL_MIGRATION_DRIVER' },
      )
    }
    return (make as Factory)({ ...options, filename })
  }
  const hint = names.map((n) => `${drivers[n]?.pkg} (${drivers[n]?.install})`).join(' or ')
  throw new MigrationError(`the driver package is not installed: install ${hint}`, {
    code: 'LITEPOOL_MIGRATION_DRIVER',
  })
}
