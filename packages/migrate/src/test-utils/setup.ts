import { fork } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { betterSqlite3 } from '@litepool/driver-better-sqlite3'
import { nodeSqlite } from '@litepool/driver-node-sqlite'
import { createPool, type Pool, silentLogger } from '@litepool/pool-core'
import type { SqliteConnection, SqliteDriver } from '@litepool/sqlite-base'
import { afterEach } from 'vitest'
import { CONFIG_FILE } from '../cli-config.js'

/** A driver under test: the in-process factory and the CLI's `--driver` name. */
export interface TestDriver {
  readonly name: 'better-sqlite3' | 'node-sqlite'
  make(filename: string): SqliteDriver
}

const ALL: readonly TestDriver[] = [
  { name: 'better-sqlite3', make: (filename) => betterSqlite3({ filename }) },
  { name: 'node-sqlite', make: (filename) => nodeSqlite({ filename }) },
]

/** Every driver, or those named in LITEPOOL_DRIVERS (comma separated); like Kysely's DIALECTS. */
export const DRIVERS: readonly TestDriver[] = ALL.filter(
  (d) =>
    process.env.LITEPOOL_DRIVERS === undefined ||
    process.env.LITEPOOL_DRIVERS.split(',').includes(d.name),
)

/** The built CLI (tests run against dist, see decision 0005). */
export const CLI: string = fileURLToPath(new URL('../../dist/cli.mjs', import.meta.url))

/** A fresh mkdtemp directory per call, removed after the test; pools opened through it are closed first. */
export function useSandbox(): (driver: TestDriver) => Sandbox {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })
  return (driver) => {
    const dir = mkdtempSync(join(tmpdir(), 'litepool-migrate-'))
    const pools: Pool<SqliteConnection>[] = []
    cleanups.push(async () => {
      await Promise.all(pools.map((p) => p.close()))
      rmSync(dir, { recursive: true, force: true })
    })
    const sandbox: Sandbox = {
      dir,
      db: join(dir, 'app.db'),
      migrations: join(dir, 'migrations'),
      pool(filename = sandbox.db) {
        const pool = createPool<SqliteConnection>({
          driver: driver.make(filename),
          readers: { min: 0, max: 2 },
          logger: silentLogger,
        })
        pools.push(pool)
        return pool
      },
      write(files) {
        writeMigrations(sandbox.migrations, files)
      },
      config(settings) {
        writeFileSync(join(dir, CONFIG_FILE), JSON.stringify(settings))
      },
    }
    return sandbox
  }
}

export interface Sandbox {
  readonly dir: string
  /** `app.db` in `dir`. */
  readonly db: string
  /** `migrations/` in `dir` (created by `write`). */
  readonly migrations: string
  /** A pool on `filename` (default `db`), closed after the test. */
  pool(filename?: string): Pool<SqliteConnection>
  /** Writes `settings` as `litepool-migrate.config.json` in `dir`, where the CLI looks for it. */
  config(settings: Record<string, unknown>): void
  /** Writes migration files (name → content) into `migrations`. */
  write(files: Readonly<Record<string, string>>): void
}

/** Writes files into `dir` (created when missing). */
export function writeMigrations(dir: string, files: Readonly<Record<string, string>>): void {
  mkdirSync(dir, { recursive: true })
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content)
}

/** What a CLI run printed and how it exited. */
export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Forks the built CLI with `args` (an IPC channel lets migrations signal the test) and resolves when
 * it exits. `onMessage` sees what the child sends; `timeoutMs` kills a hung child and fails.
 */
export function runCli(
  args: readonly string[],
  options: {
    cwd?: string
    env?: Record<string, string>
    onMessage?: (message: unknown, child: import('node:child_process').ChildProcess) => void
    timeoutMs?: number
  } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = fork(CLI, [...args], {
      cwd: options.cwd ?? process.cwd(),
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    if (options.onMessage) child.on('message', (m) => options.onMessage?.(m, child))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(
        new Error(
          `litepool-migrate ${args.join(' ')} did not exit within ${options.timeoutMs ?? 30_000} ms\n${stdout}\n${stderr}`,
        ),
      )
    }, options.timeoutMs ?? 30_000)
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/** Parses the `--json` document a CLI run printed. */
export function json<T = Record<string, unknown>>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T
  } catch {
    throw new Error(`not JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`)
  }
}
