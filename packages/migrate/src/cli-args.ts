import { parseArgs } from 'node:util'
import { ConfigError, type ConfigIssue } from '@litepool/pool-core'

/** The commands of `litepool-migrate`. */
export const COMMANDS = [
  'status',
  'up',
  'down',
  'plan',
  'validate',
  'baseline',
  'create',
  'unlock',
] as const
export type Command = (typeof COMMANDS)[number]

/** The command line, parsed. Unset flags are `undefined`, so the config file can fill them in. */
export interface CliArgs {
  readonly command: Command | 'help' | 'version'
  /** `create <name>`'s name, `baseline [version]`'s version. */
  readonly positional: string | undefined
  readonly db: string | undefined
  readonly dir: string | undefined
  readonly driver: string | undefined
  readonly config: string | undefined
  readonly table: string | undefined
  readonly backup: boolean | undefined
  readonly backupDir: string | undefined
  readonly lockTimeoutMs: number | undefined
  readonly to: number | undefined
  readonly down: boolean
  readonly dryRun: boolean
  readonly json: boolean
  readonly color: boolean | undefined
  readonly template: 'sql' | 'js' | 'ts'
}

export const USAGE = `Usage: litepool-migrate <command> [options]

Commands:
  status                  every migration and where it stands (a table)
  up [--to N]             apply pending migrations (each in its own transaction)
  down [--to N]           roll back the newest migration, or all above version N (0 = all)
  plan [--down] [--to N]  print the SQL up (or down) would run; changes nothing
  validate                check for edited, missing and out-of-order migrations
  baseline [N]            adopt an existing database at version N (default: its user_version)
  create <name> [--js|--ts]  write the next migration file (SQL by default)
  unlock                  remove the migration lock an interrupted run left behind

Options:
  -d, --db <file>         database file                         (config: database)
  -m, --dir <folder>      migrations folder, default ./migrations (config: migrations)
      --driver <name>     better-sqlite3 | node-sqlite; default: whichever is installed
  -c, --config <file>     config file; default ./litepool-migrate.config.json when present
      --table <name>      history table, default litepool_migrations
      --no-backup         skip the VACUUM INTO backup before up/down
      --backup-dir <dir>  where backups go, default next to the database
      --lock-timeout <ms> how long to wait for another run, default 300000
      --dry-run           up/down: print the plan instead of running it
      --json              one JSON document on stdout, for scripts
      --no-color          no colours (they are only used on a TTY anyway; NO_COLOR works too)
  -h, --help              this text
  -v, --version           the package version

Exit codes: 0 ok · 1 a migration failed (or an unexpected error) · 2 usage or configuration
error · 3 validation failed (edited, missing, out-of-order) · 4 locked by another or an
interrupted run · 5 refused (no down migration, not baselined, bad target)`

/**
 * Parses `argv` (without node and the script). Every problem is reported at once as a
 * {@link ConfigError} (exit code 2).
 *
 * @example
 * ```ts
 * parseCliArgs(['up', '--db', 'app.db', '--to', '3']).to // 3
 * ```
 */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  const issues: ConfigIssue[] = []
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (error) {
    throw new ConfigError('command line', [
      { path: 'argv', expected: 'known options (see --help)', received: (error as Error).message },
    ])
  }
  const { values, positionals } = parsed
  const [first, second, ...rest] = positionals
  let command: CliArgs['command'] = values.help ? 'help' : values.version ? 'version' : 'help'
  if (!values.help && !values.version) {
    if (first === undefined)
      issues.push({ path: 'command', expected: COMMANDS.join(' | '), received: 'nothing' })
    else if ((COMMANDS as readonly string[]).includes(first)) command = first as Command
    else
      issues.push({
        path: 'command',
        expected: COMMANDS.join(' | '),
        received: JSON.stringify(first),
      })
  }
  if (command === 'create' && second === undefined)
    issues.push({ path: 'name', expected: 'create <name>', received: 'nothing' })
  const takesPositional = command === 'create' || command === 'baseline'
  const extra = takesPositional ? rest : [second, ...rest].filter((p) => p !== undefined)
  if (extra.length > 0)
    issues.push({ path: 'arguments', expected: 'no further arguments', received: extra.join(' ') })
  const int = (name: string, raw: string | undefined, least: number) => {
    if (raw === undefined) return undefined
    const n = Number(raw)
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < least) {
      issues.push({ path: name, expected: `an integer >= ${least}`, received: JSON.stringify(raw) })
    }
    return n
  }
  if (command === 'baseline') int('baseline <version>', second, 1)
  const to = int('--to', values.to, 0)
  const lockTimeoutMs = int('--lock-timeout', values['lock-timeout'], 0)
  if (values.js && values.ts)
    issues.push({ path: '--js/--ts', expected: 'one of them', received: 'both' })
  if (issues.length > 0) throw new ConfigError('command line', issues)
  return {
    command,
    positional: takesPositional ? second : undefined,
    db: values.db,
    dir: values.dir,
    driver: values.driver,
    config: values.config,
    table: values.table,
    backup: values['no-backup'] ? false : undefined,
    backupDir: values['backup-dir'],
    lockTimeoutMs,
    to,
    down: values.down ?? false,
    dryRun: values['dry-run'] ?? false,
    json: values.json ?? false,
    color: values['no-color'] ? false : undefined,
    template: values.js ? 'js' : values.ts ? 'ts' : 'sql',
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      db: { type: 'string', short: 'd' },
      dir: { type: 'string', short: 'm' },
      driver: { type: 'string' },
      config: { type: 'string', short: 'c' },
      table: { type: 'string' },
      'no-backup': { type: 'boolean' },
      'backup-dir': { type: 'string' },
      'lock-timeout': { type: 'string' },
      to: { type: 'string' },
      down: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
      'no-color': { type: 'boolean' },
      js: { type: 'boolean' },
      ts: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  })
}
