import { relative } from 'node:path'
import { ConfigError, PoolError } from '@litepool/pool-core'
import {
  MigrationError,
  MigrationFailedError,
  MigrationLockError,
  MigrationValidationError,
  MissingDownError,
} from './errors.js'
import type { MigrationPlan, MigrationRun, MigrationStatus } from './migrator.js'
import type { MigrationState } from './planner.js'
import type { MigrationEvent } from './types.js'

/** ANSI styling that turns into plain text when colours are off. */
export interface Paint {
  readonly green: (s: string) => string
  readonly yellow: (s: string) => string
  readonly red: (s: string) => string
  readonly dim: (s: string) => string
  readonly bold: (s: string) => string
}

/** Colours only on a TTY, never with `NO_COLOR` or `--no-color`; `FORCE_COLOR` forces them. */
export function paint(
  stream: { isTTY?: boolean },
  flag: boolean | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Paint {
  const force = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0'
  const on = flag !== false && (env.NO_COLOR ?? '') === '' && (force || stream.isTTY === true)
  const wrap = (open: number, close: number) => (s: string) =>
    on ? `\u001b[${open}m${s}\u001b[${close}m` : s
  return {
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    red: wrap(31, 39),
    dim: wrap(2, 22),
    bold: wrap(1, 22),
  }
}

const STATE_LABEL: Readonly<Record<MigrationState, string>> = {
  applied: 'applied',
  pending: 'pending',
  baseline: 'baseline',
  'below-baseline': 'baselined',
  changed: 'CHANGED',
  missing: 'MISSING',
  'out-of-order': 'OUT OF ORDER',
}

function colourState(state: MigrationState, p: Paint): (s: string) => string {
  if (state === 'applied' || state === 'baseline') return p.green
  if (state === 'pending') return p.yellow
  if (state === 'below-baseline') return p.dim
  return p.red
}

/** A left-aligned text table; `colour` styles a cell after padding, so columns stay aligned. */
function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  colour: (row: number, col: number, s: string) => string,
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[], row: number) =>
    cells
      .map((c, i) => colour(row, i, i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  return [line(header, -1), ...rows.map((r, i) => line(r, i))].join('\n')
}

/** The `status` screen: where the database is, then one row per migration. */
export function formatStatus(s: MigrationStatus, folder: string, p: Paint): string {
  const out = [
    `${p.bold('Database')}    ${s.database}`,
    `${p.bold('Migrations')}  ${folder}`,
    `${p.bold('Version')}     ${s.current}${s.userVersion === s.current ? '' : p.yellow(` (user_version ${s.userVersion})`)}${s.baseline === undefined ? '' : ` · baseline ${s.baseline}`} · ${s.pending} pending`,
  ]
  if (s.lock !== undefined) {
    const l = s.lock
    const tag =
      l.verdict === 'live'
        ? p.yellow('locked')
        : l.verdict === 'stale'
          ? p.dim('stale lock')
          : p.red('INTERRUPTED')
    out.push(
      `${p.bold('Lock')}        ${tag} by pid ${l.pid} on ${l.host} since ${l.acquiredAt}${l.step === null ? '' : ` in ${l.step}`}`,
    )
  }
  out.push('')
  if (s.entries.length === 0) {
    out.push(p.dim('no migrations yet: litepool-migrate create <name>'))
    return out.join('\n')
  }
  const rows = s.entries.map((e) => [
    String(e.version),
    e.name,
    STATE_LABEL[e.state],
    e.applied?.appliedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z') ?? '',
    e.applied === undefined || e.applied.kind === 'baseline'
      ? ''
      : `${Math.round(e.applied.durationMs)} ms`,
    [
      e.applied?.appliedBy ?? '',
      e.applied !== undefined && !e.applied.transaction ? '(no transaction)' : '',
    ]
      .filter(Boolean)
      .join(' '),
  ])
  out.push(
    table(['Version', 'Name', 'State', 'Applied at', 'Took', 'By'], rows, (row, col, text) => {
      if (row < 0) return p.bold(text)
      const entry = s.entries[row]
      return col === 2 && entry !== undefined ? colourState(entry.state, p)(text) : text
    }),
  )
  if (s.problems.length > 0) {
    out.push('', p.red(`${s.problems.length} problem${s.problems.length === 1 ? '' : 's'}:`))
    for (const problem of s.problems) out.push(`  ${p.red('✗')} ${problem.name}: ${problem.detail}`)
  }
  return out.join('\n')
}

/** The `plan` screen: each step with its SQL, as a runnable-looking script. */
export function formatPlan(plan: MigrationPlan, p: Paint, cwd: string = process.cwd()): string {
  if (plan.steps.length === 0)
    return p.green(
      `Nothing to ${plan.direction === 'up' ? 'apply' : 'roll back'}: the database is at version ${plan.from}.`,
    )
  const out = [
    p.bold(
      `-- Plan: ${plan.direction} from version ${plan.from} to ${plan.to}, ${plan.steps.length} step${plan.steps.length === 1 ? '' : 's'} (dry run: nothing was changed)`,
    ),
  ]
  for (const step of plan.steps) {
    const how = [
      step.transaction ? 'in a transaction' : 'OUTSIDE a transaction',
      step.foreignKeys ? '' : 'foreign keys off',
    ]
      .filter(Boolean)
      .join(', ')
    out.push('', p.bold(`-- ${step.name} (${step.direction}, ${how})`))
    out.push(
      step.sql === undefined
        ? p.dim(`-- ${relative(cwd, step.file)} is a module: its SQL is produced when it runs`)
        : step.sql.trimEnd() || p.dim('-- (empty)'),
    )
  }
  return out.join('\n')
}

/** The closing line of `up`/`down`. */
export function formatRun(run: MigrationRun, p: Paint): string {
  const n = run.steps.length
  if (n === 0)
    return p.green(
      `Nothing to ${run.direction === 'up' ? 'apply' : 'roll back'}: the database is at version ${run.to}.`,
    )
  const verb = run.direction === 'up' ? 'Applied' : 'Rolled back'
  return (
    p.green(`${verb} ${n} migration${n === 1 ? '' : 's'}: version ${run.from} → ${run.to}.`) +
    (run.backup === undefined ? '' : `\nBackup: ${run.backup}`)
  )
}

/** Prints progress as events arrive: one line per migration, notes indented under it. */
export function progressPrinter(
  write: (text: string) => void,
  p: Paint,
): (event: MigrationEvent) => void {
  return (event) => {
    switch (event.type) {
      case 'waiting':
        write(p.yellow(`Waiting for another migration run (${event.holder})…\n`))
        break
      case 'backup':
        write(p.dim(`Backed up to ${event.file} (${Math.round(event.ms)} ms)\n`))
        break
      case 'start':
        write(
          `${event.direction === 'up' ? '▲' : '▼'} ${event.migration}${event.transaction ? '' : p.yellow(' (outside a transaction)')}${event.foreignKeys ? '' : p.dim(' (foreign keys off)')} …\n`,
        )
        break
      case 'log':
        write(p.dim(`    ${event.message}\n`))
        break
      case 'done':
        write(`  ${p.green('done')} in ${Math.round(event.ms)} ms\n`)
        break
      case 'skipped':
        write(p.dim(`  ${event.migration}: ${event.reason}\n`))
        break
      case 'restored':
        write(p.yellow(`Restored the database from ${event.file}\n`))
        break
    }
  }
}

/** Exit codes scripts can rely on (also printed by `--help`). */
export const EXIT: Readonly<{ ok: 0; failed: 1; usage: 2; invalid: 3; locked: 4; refused: 5 }> =
  Object.freeze({
    ok: 0,
    failed: 1,
    usage: 2,
    invalid: 3,
    locked: 4,
    refused: 5,
  })

/** The exit code for an error. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof ConfigError) return EXIT.usage
  if (error instanceof MigrationValidationError) return EXIT.invalid
  if (error instanceof MigrationLockError) return EXIT.locked
  if (error instanceof MigrationError) {
    if (error.code === 'LITEPOOL_MIGRATION_LOAD' || error.code === 'LITEPOOL_MIGRATION_DRIVER')
      return EXIT.usage
    if (error.code === 'LITEPOOL_MIGRATION_LOCK_TIMEOUT') return EXIT.locked
    if (
      error instanceof MissingDownError ||
      [
        'LITEPOOL_MIGRATION_NOT_BASELINED',
        'LITEPOOL_MIGRATION_TARGET',
        'LITEPOOL_MIGRATION_BASELINE',
      ].includes(error.code)
    ) {
      return EXIT.refused
    }
  }
  return EXIT.failed
}

/** An error as JSON for `--json`: name, code, message and the fields scripts need. */
export function errorJson(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { name: 'Error', code: 'UNKNOWN', message: String(error) }
  const out: Record<string, unknown> = {
    name: error.name,
    code: error instanceof PoolError ? error.code : 'UNKNOWN',
    message: error.message,
  }
  if (error instanceof MigrationValidationError) out.problems = error.problems
  if (error instanceof MissingDownError) out.migrations = error.migrations
  if (error instanceof MigrationLockError) out.holder = error.holder
  if (error instanceof ConfigError) out.issues = error.issues
  if (error instanceof MigrationFailedError) {
    Object.assign(out, {
      migration: error.migration,
      direction: error.direction,
      restoredFrom: error.restoredFrom ?? null,
      partial: error.partial,
    })
    if (error.cause instanceof Error)
      out.cause = { name: error.cause.name, message: error.cause.message }
  }
  return out
}
