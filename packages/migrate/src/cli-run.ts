// litepool-migrate: the command line of @litepool/migrate. See `litepool-migrate --help`.
// `cli.ts` (the bin) only wires the process to `runCli`, so tests run every command in-process.
import { existsSync, readFileSync } from 'node:fs'
import { ConfigError, createPool, type Pool, silentLogger } from '@litepool/pool-core'
import type { SqliteConnection } from '@litepool/sqlite-base'
import { type CliArgs, parseCliArgs, USAGE } from './cli-args.js'
import { type CliSettings, loadDriver, resolveSettings } from './cli-config.js'
import {
  EXIT,
  errorJson,
  exitCodeOf,
  formatPlan,
  formatRun,
  formatStatus,
  type Paint,
  paint,
  progressPrinter,
} from './cli-output.js'
import { createMigrationFile } from './create.js'
import { createMigrator, type Migrator } from './migrator.js'
import type { MigrationEvent } from './types.js'

/**
 * What the CLI touches of its process: output streams, environment, working directory and
 * whether stdout is a terminal (colours). `cli.ts` passes the real process.
 */
export interface CliIo {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
  readonly isTTY: boolean
}

interface Io {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
  readonly paint: Paint
  readonly cwd: string
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
  return pkg.version
}

/**
 * Runs one command (`argv` without node and the script) and returns the exit code ({@link EXIT});
 * errors are printed, not thrown.
 *
 * @example
 * ```ts
 * const code = await runCli(['status', '--db', 'app.db'], { stdout, stderr, env, cwd, isTTY: false })
 * ```
 */
export async function runCli(argv: readonly string[], cli: CliIo): Promise<number> {
  let args: CliArgs | undefined
  const out = cli.stdout
  const stream = { isTTY: cli.isTTY }
  let io: Io = { out, err: cli.stderr, paint: paint(stream, undefined, cli.env), cwd: cli.cwd }
  try {
    args = parseCliArgs(argv)
    io = { ...io, paint: paint(stream, args.color, cli.env) }
    if (args.command === 'help') {
      out(`${USAGE}\n`)
      return EXIT.ok
    }
    if (args.command === 'version') {
      out(`${version()}\n`)
      return EXIT.ok
    }
    const settings = await resolveSettings(args, cli.cwd)
    if (args.command === 'create') {
      const file = await createMigrationFile(
        settings.migrations,
        args.positional as string,
        args.template,
      )
      report(args, io, { file }, () => `Created ${file}`)
      return EXIT.ok
    }
    return await withMigrator(args, settings, io)
  } catch (error) {
    if (args?.json)
      out(
        `${JSON.stringify({ ok: false, command: args.command, error: errorJson(error) }, null, 2)}\n`,
      )
    else {
      io.err(`${io.paint.red('error')} ${error instanceof Error ? error.message : String(error)}\n`)
      if (error instanceof ConfigError) io.err(`\nRun litepool-migrate --help for usage.\n`)
    }
    return exitCodeOf(error)
  }
}

function report(args: CliArgs, io: Io, result: object, human: () => string): void {
  if (args.json)
    io.out(`${JSON.stringify({ ok: true, command: args.command, ...result }, null, 2)}\n`)
  else io.out(`${human()}\n`)
}

async function withMigrator(args: CliArgs, settings: CliSettings, io: Io): Promise<number> {
  if (settings.database === undefined) {
    throw new ConfigError('command line', [
      {
        path: '--db',
        expected: 'the database file (flag or "database" in the config file)',
        received: 'nothing',
      },
    ])
  }
  // Read-only commands on a database that does not exist yet look at an empty in-memory one
  // instead, so that `status` or `plan` never create the file.
  const readOnly = ['status', 'validate', 'plan'].includes(args.command) || args.dryRun
  const missing = readOnly && !existsSync(settings.database)
  const filename = missing ? ':memory:' : settings.database
  const driver = await loadDriver(settings.driver, filename, settings.driverOptions, io.cwd)
  const pool: Pool<SqliteConnection> = createPool<SqliteConnection>({
    driver,
    readers: { min: 0, max: 1 },
    logger: silentLogger,
  })
  const onEvent: (event: MigrationEvent) => void = args.json
    ? () => {}
    : progressPrinter(io.out, io.paint)
  try {
    const migrator = createMigrator({
      pool,
      migrations: settings.migrations,
      backup: settings.backup,
      onEvent,
      ...(settings.table === undefined ? {} : { table: settings.table }),
      ...(settings.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: settings.lockTimeoutMs }),
    })
    return await run(args, { ...settings, missing }, migrator, io)
  } finally {
    await pool.close()
  }
}

async function run(
  args: CliArgs,
  settings: CliSettings & { readonly missing: boolean },
  migrator: Migrator,
  io: Io,
): Promise<number> {
  const p = io.paint
  const target = args.to === undefined ? {} : { to: args.to }
  switch (args.command) {
    case 'status': {
      const found = await migrator.status()
      const status = settings.missing
        ? { ...found, database: `${settings.database} (does not exist yet)` }
        : found
      report(args, io, { ...status, migrations: settings.migrations }, () =>
        formatStatus(status, settings.migrations, p),
      )
      return EXIT.ok
    }
    case 'validate': {
      const status = await migrator.validate()
      report(args, io, { current: status.current, pending: status.pending, problems: [] }, () =>
        p.green(
          `OK: ${status.entries.length} migration(s) match the history; version ${status.current}, ${status.pending} pending.`,
        ),
      )
      return EXIT.ok
    }
    case 'plan': {
      const plan = await migrator.plan({ ...target, direction: args.down ? 'down' : 'up' })
      report(args, io, plan, () => formatPlan(plan, p, io.cwd))
      return EXIT.ok
    }
    case 'up':
    case 'down': {
      if (args.dryRun) {
        const plan = await migrator.plan({ ...target, direction: args.command })
        report(args, io, plan, () => formatPlan(plan, p, io.cwd))
        return EXIT.ok
      }
      const result = args.command === 'up' ? await migrator.up(target) : await migrator.down(target)
      report(args, io, result, () => formatRun(result, p))
      return EXIT.ok
    }
    case 'baseline': {
      const result = await migrator.baseline(
        args.positional === undefined ? {} : { version: Number(args.positional) },
      )
      report(args, io, result, () =>
        p.green(
          `Baselined at version ${result.version} (${result.name}); older migrations count as applied.`,
        ),
      )
      return EXIT.ok
    }
    case 'unlock': {
      const holder = await migrator.unlock()
      report(args, io, { removed: holder ?? null }, () =>
        holder === undefined
          ? 'No migration lock was set.'
          : `Removed the migration lock of pid ${holder.pid} on ${holder.host} (${holder.state}${holder.step === null ? '' : `, in ${holder.step}`}).`,
      )
      return EXIT.ok
    }
    default:
      return EXIT.usage
  }
}
