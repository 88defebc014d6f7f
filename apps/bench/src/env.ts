import { execFileSync } from 'node:child_process'
import { isBuiltin } from 'node:module'
import { cpus, loadavg, platform, release, totalmem } from 'node:os'
import Database from 'better-sqlite3'
import type { Environment } from './results.js'
import { packageVersion } from './subjects/versions.js'

const PACKAGES = [
  '@litepool/pool-core',
  '@litepool/driver-better-sqlite3',
  '@litepool/driver-node-sqlite',
  'better-sqlite3',
  '@photostructure/sqlite',
  'generic-pool',
  'tarn',
  'kysely',
  '@matteo.collina/sqlite-pool',
  'knex',
  'tinybench',
]

async function sqliteVersions(): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  const db = new Database(':memory:')
  out['better-sqlite3'] = (db.prepare('select sqlite_version() as v').get() as { v: string }).v
  db.close()
  try {
    const mod: {
      DatabaseSync: new (
        path: string,
      ) => { prepare(sql: string): { get(): unknown }; close(): void }
    } =
      typeof process.getBuiltinModule === 'function' && isBuiltin('node:sqlite')
        ? (process.getBuiltinModule('node:sqlite') as never)
        : await import('@photostructure/sqlite')
    const n = new mod.DatabaseSync(':memory:')
    out[isBuiltin('node:sqlite') ? 'node:sqlite' : '@photostructure/sqlite'] = (
      n.prepare('select sqlite_version() as v').get() as { v: string }
    ).v
    n.close()
  } catch {}
  return out
}

function gitDescription(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim()
    return dirty === '' ? head : `${head} (with uncommitted changes)`
  } catch {
    return 'unknown'
  }
}

/** Node, CPU, memory, load, SQLite and package versions: what a reader needs to judge the figures. */
export async function environment(): Promise<Environment> {
  const cpu = cpus()
  return {
    node: process.versions.node,
    v8: process.versions.v8,
    platform: `${platform()} ${release()} ${process.arch}`,
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    sqlite: await sqliteVersions(),
    packages: Object.fromEntries(PACKAGES.map((name) => [name, packageVersion(name)])),
    git: gitDescription(),
  }
}
