import { MigrationError, type MigrationProblem, validationError } from './errors.js'
import type { AppliedMigration, Migration } from './types.js'

/**
 * Where one migration stands:
 * - `applied`, `pending`;
 * - `baseline`: the baseline row itself; `below-baseline`: a file the baseline covers (never run);
 * - problems: `changed` (checksum drift), `missing` (applied, file gone), `out-of-order` (a new
 *   file below the newest applied version).
 */
export type MigrationState =
  | 'applied'
  | 'pending'
  | 'baseline'
  | 'below-baseline'
  | 'changed'
  | 'missing'
  | 'out-of-order'

/** One line of `status`. */
export interface MigrationStatusEntry {
  readonly version: number
  readonly name: string
  readonly state: MigrationState
  /** The file on disk, when there is one. */
  readonly migration?: Migration
  /** The history row, when it was applied. */
  readonly applied?: AppliedMigration
}

/** The folder compared with the history table. */
export interface Analysis {
  /** Every version from either side, ascending. */
  readonly entries: readonly MigrationStatusEntry[]
  readonly problems: readonly MigrationProblem[]
  /** Newest applied (or baselined) version; 0 when none. */
  readonly current: number
  /** Version of the baseline row, when the database was baselined. */
  readonly baseline: number | undefined
  readonly history: readonly AppliedMigration[]
  readonly migrations: readonly Migration[]
}

/**
 * Compares the folder with the history: checksum drift (line endings never count, the checksum is
 * over normalised text), applied migrations missing on disk, and new files that sort below the
 * newest applied version.
 *
 * @example
 * ```ts
 * const a = analyze(await loadMigrations('migrations'), readHistory(connection, sql))
 * a.entries.filter((e) => e.state === 'pending')
 * ```
 */
export function analyze(
  migrations: readonly Migration[],
  history: readonly AppliedMigration[],
): Analysis {
  const files = new Map(migrations.map((m) => [m.version, m]))
  const rows = new Map(history.map((h) => [h.version, h]))
  const baselineRows = history.filter((h) => h.kind === 'baseline')
  const baseline =
    baselineRows.length === 0 ? undefined : Math.max(...baselineRows.map((h) => h.version))
  const current = history.reduce((max, h) => Math.max(max, h.version), 0)
  const entries: MigrationStatusEntry[] = []
  const problems: MigrationProblem[] = []
  const versions = [...new Set([...files.keys(), ...rows.keys()])].sort((a, b) => a - b)
  for (const version of versions) {
    const migration = files.get(version)
    const applied = rows.get(version)
    const base = {
      version,
      ...(migration === undefined ? {} : { migration }),
      ...(applied === undefined ? {} : { applied }),
    }
    if (applied?.kind === 'baseline') {
      entries.push({ ...base, name: applied.name, state: 'baseline' })
    } else if (applied !== undefined && migration === undefined) {
      entries.push({ ...base, name: applied.name, state: 'missing' })
      problems.push({
        kind: 'missing',
        version,
        name: applied.name,
        detail: `applied ${applied.appliedAt}, but no file with version ${version} is in the folder`,
      })
    } else if (applied !== undefined && migration !== undefined) {
      const changed = applied.checksum !== migration.checksum
      entries.push({ ...base, name: migration.name, state: changed ? 'changed' : 'applied' })
      if (changed) {
        const renamed = applied.name === migration.name ? '' : ` (applied as ${applied.name})`
        problems.push({
          kind: 'checksum',
          version,
          name: migration.name,
          file: migration.file,
          detail: `was edited after it was applied${renamed}: checksum ${short(applied.checksum)} in the history, ${short(migration.checksum)} on disk`,
        })
      }
    } else if (migration !== undefined) {
      if (baseline !== undefined && version <= baseline) {
        entries.push({ ...base, name: migration.name, state: 'below-baseline' })
      } else if (version < current) {
        entries.push({ ...base, name: migration.name, state: 'out-of-order' })
        problems.push({
          kind: 'out-of-order',
          version,
          name: migration.name,
          file: migration.file,
          detail: `is new but sorts below version ${current}, which is already applied: renumber it above ${current}`,
        })
      } else {
        entries.push({ ...base, name: migration.name, state: 'pending' })
      }
    }
  }
  return { entries, problems, current, baseline, history, migrations }
}

function short(sum: string | null): string {
  return sum === null ? '(none)' : sum.slice(0, 12)
}

/** Throws the matching validation error when the analysis found problems. */
export function assertValid(analysis: Analysis): void {
  if (analysis.problems.length > 0) throw validationError(analysis.problems)
}

/**
 * The migrations `up` would apply, oldest first: every pending one, or those up to `to`.
 *
 * @example
 * ```ts
 * planUp(analysis).map((m) => m.name) // ['0003_add_index']
 * ```
 */
export function planUp(analysis: Analysis, to?: number): Migration[] {
  assertValid(analysis)
  if (to !== undefined && to < analysis.current) {
    throw new MigrationError(
      `cannot migrate up to version ${to}: the database is already at ${analysis.current} (use down to roll back)`,
      {
        code: 'LITEPOOL_MIGRATION_TARGET',
      },
    )
  }
  return analysis.entries
    .filter((e) => e.state === 'pending' && (to === undefined || e.version <= to))
    .map((e) => e.migration as Migration)
}

/** One step of a roll back: the file and its history row. */
export interface DownStep {
  readonly migration: Migration
  readonly applied: AppliedMigration
}

/**
 * The migrations `down` would roll back, newest first: the newest applied one, or every applied
 * one above `to` (`to = 0` rolls back everything). Refuses to go below a baseline.
 *
 * @example
 * ```ts
 * planDown(analysis, 1).map((s) => s.migration.name) // ['0003_add_index', '0002_add_email']
 * ```
 */
export function planDown(analysis: Analysis, to?: number): DownStep[] {
  assertValid(analysis)
  const applied = analysis.entries.filter((e) => e.applied !== undefined).reverse()
  const chosen = to === undefined ? applied.slice(0, 1) : applied.filter((e) => e.version > to)
  const base = chosen.find((e) => e.state === 'baseline')
  if (base !== undefined) {
    throw new MigrationError(
      `cannot roll back below the baseline at version ${base.version}: the migrations it covers were never run here`,
      { code: 'LITEPOOL_MIGRATION_TARGET' },
    )
  }
  return chosen.map((e) => ({
    migration: e.migration as Migration,
    applied: e.applied as AppliedMigration,
  }))
}
