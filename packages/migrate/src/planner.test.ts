import { describe, expect, it } from 'vitest'
import { checksum } from './checksum.js'
import {
  ChecksumMismatchError,
  MigrationValidationError,
  MissingMigrationError,
  OutOfOrderMigrationError,
} from './errors.js'
import { analyze, planDown, planUp } from './planner.js'
import type { AppliedMigration, Migration } from './types.js'

const text = (v: number) => `create table t${v} (x);\n`
const file = (version: number, body = text(version)): Migration => ({
  version,
  name: `000${version}_t${version}`,
  file: `/m/000${version}_t${version}.sql`,
  kind: 'sql',
  checksum: checksum(body),
  upSql: body,
  directives: { transaction: true, foreignKeys: true },
})
const row = (version: number, body = text(version)): AppliedMigration => ({
  version,
  name: `000${version}_t${version}`,
  checksum: checksum(body),
  kind: 'sql',
  transaction: true,
  appliedAt: '2026-01-01T00:00:00.000Z',
  durationMs: 1,
  appliedBy: 'test',
})
const baseline = (version: number): AppliedMigration => ({
  ...row(version),
  kind: 'baseline',
  checksum: null,
  name: `${version}_baseline`,
})

describe('analyze', () => {
  it('sorts applied and pending; the current version is the newest applied', () => {
    const a = analyze([file(1), file(2), file(3)], [row(1), row(2)])
    expect(a.entries.map((e) => `${e.version}:${e.state}`)).toEqual([
      '1:applied',
      '2:applied',
      '3:pending',
    ])
    expect(a.current).toBe(2)
    expect(a.problems).toEqual([])
    expect(planUp(a).map((m) => m.version)).toEqual([3])
  })

  it('a CRLF-only edit of an applied file is not drift', () => {
    const a = analyze([file(1, text(1).replaceAll('\n', '\r\n'))], [row(1)])
    expect(a.problems).toEqual([])
  })

  it('checksum drift, missing files and out-of-order files each get their own error naming the files', () => {
    const drift = analyze([file(1, 'create table t1 (x, y);\n'), file(2)], [row(1), row(2)])
    expect(() => planUp(drift)).toThrow(ChecksumMismatchError)
    expect(() => planUp(drift)).toThrow(/0001_t1: was edited after it was applied/)
    expect(() => planUp(drift)).toThrow(
      expect.objectContaining({ code: 'LITEPOOL_MIGRATION_CHECKSUM' }),
    )

    const missing = analyze([file(2)], [row(1), row(2)])
    expect(() => planUp(missing)).toThrow(MissingMigrationError)
    expect(() => planUp(missing)).toThrow(
      expect.objectContaining({
        code: 'LITEPOOL_MIGRATION_MISSING',
        message: expect.stringMatching(/0001_t1: applied .* no file with version 1/),
      }),
    )

    const late = analyze([file(1), file(2), file(3)], [row(1), row(3)])
    expect(late.entries.find((e) => e.version === 2)?.state).toBe('out-of-order')
    expect(() => planUp(late)).toThrow(OutOfOrderMigrationError)
    expect(() => planUp(late)).toThrow(
      expect.objectContaining({
        code: 'LITEPOOL_MIGRATION_OUT_OF_ORDER',
        message: expect.stringMatching(/0002_t2: is new but sorts below version 3/),
      }),
    )

    const mixed = analyze([file(1, 'edited;'), file(2)], [row(1), row(3)])
    let error: unknown
    try {
      planUp(mixed)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(MigrationValidationError)
    expect(error).not.toBeInstanceOf(ChecksumMismatchError)
    expect(error).toMatchObject({ code: 'LITEPOOL_MIGRATION_INVALID' })
    expect((error as MigrationValidationError).problems.map((p) => p.kind).sort()).toEqual([
      'checksum',
      'missing',
      'out-of-order',
    ])
  })

  it('a baseline covers older files: never pending, never out of order', () => {
    const a = analyze([file(1), file(2), file(3), file(4)], [baseline(3)])
    expect(a.entries.map((e) => e.state)).toEqual([
      'below-baseline',
      'below-baseline',
      'baseline',
      'pending',
    ])
    expect(a.baseline).toBe(3)
    expect(planUp(a).map((m) => m.version)).toEqual([4])
  })
})

describe('targets', () => {
  const a = analyze([file(1), file(2), file(3), file(4)], [row(1), row(2), row(3)])

  it('up stops at the target; a target below the current version is refused', () => {
    expect(planUp(analyze([file(1), file(2), file(3)], [row(1)]), 2).map((m) => m.version)).toEqual(
      [2],
    )
    expect(() => planUp(a, 1)).toThrow(
      expect.objectContaining({ code: 'LITEPOOL_MIGRATION_TARGET' }),
    )
  })

  it('down rolls back one by default, or everything above the target, newest first', () => {
    expect(planDown(a).map((s) => s.migration.version)).toEqual([3])
    expect(planDown(a, 1).map((s) => s.migration.version)).toEqual([3, 2])
    expect(planDown(a, 0).map((s) => s.migration.version)).toEqual([3, 2, 1])
    expect(planDown(a, 3)).toEqual([])
  })

  it('down refuses to cross a baseline', () => {
    const b = analyze([file(3), file(4)], [baseline(3), row(4)])
    expect(planDown(b).map((s) => s.migration.version)).toEqual([4])
    expect(() => planDown(b, 0)).toThrow(/cannot roll back below the baseline at version 3/)
  })
})
