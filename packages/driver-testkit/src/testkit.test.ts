import { closeSync, existsSync, openSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CONTRACT_SCENARIOS, STRESS_SCENARIOS, unknownGapKeys } from './contract.js'
import { createScenarioContext, type DriverHarness } from './harness.js'
import { countOpenFiles, gate, within } from './helpers.js'

// Keys are public API: drivers list them in knownGaps. Renaming one is a breaking change.
const STABLE_KEYS = [
  'types.integer',
  'types.real',
  'types.real-subnormal',
  'types.text',
  'types.null',
  'types.blob',
  'types.bigint-parameter',
  'types.safe-integers',
  'rows.plain-objects',
  'params.positional',
  'params.named',
  'params.extra-named-keys-ignored',
  'params.missing-positional-throws',
  'params.unsupported-value-throws',
  'run.changes-and-last-insert-rowid',
  'get.undefined-without-row',
  'get.statement-without-rows',
  'get.returning',
  'iterate.yields-rows',
  'iterate.break-resets-statement',
  'iterate.throw-resets-statement',
  'iterate.open-iteration-holds-snapshot',
  'iterate.write-during-iteration',
  'exec.multiple-statements',
  'prepare.cache-reuses-statement',
  'prepare.cache-evicts-least-recently-used',
  'prepare.cache-repeat-and-evict-with-one-slot',
  'prepare.cache-size-zero-disables-cache',
  'prepare.rejects-multiple-statements',
  'errors.constraint',
  'errors.syntax',
  'errors.busy',
  'errors.readonly-reader',
  'errors.closed-connection',
  'transactions.deferred.commit',
  'transactions.deferred.rollback',
  'transactions.immediate.commit',
  'transactions.immediate.rollback',
  'transactions.exclusive.commit',
  'transactions.exclusive.rollback',
  'transactions.savepoints-nest',
  'transactions.savepoint-names-are-quoted',
  'transactions.rollback-without-transaction',
  'wal.reader-sees-committed',
  'wal.reader-isolated-from-uncommitted',
  'setup.writer-pragmas',
  'setup.reader-pragmas',
  'setup.options-applied',
  'setup.readonly-option',
  'reset.rolls-back-open-transaction',
  'reset.restores-connection-pragmas',
  'ping.live-and-closed',
  'close.releases-file-descriptors',
  'memory.no-reader-connections',
  'driver.identity',
  'driver.config-error-lists-every-field',
  'maintain.passive-checkpoint',
  'maintain.escalates-above-threshold',
  'maintain.reader-blocks-restart-without-error',
  'maintain.checkpoint-steps-under-sustained-writes',
  'maintain.checkpoint-steps-off',
  'maintain.truncate-on-close',
  'pool.concurrent-writers',
  'pool.lock-timeout-names-file',
  'pool.state-restored-between-borrowers',
  'pool.reads-see-writes',
  'pool.memory-nested-in-read',
  'pool.close-releases-everything',
  'left-open.begin-after-comment',
  'left-open.savepoint',
  'left-open.exec-script',
  'left-open.statement-kept',
  'left-open.raw-kept',
  'left-open.native-kept',
  'left-open.reader-snapshot',
  'workers.values-match-main',
  'workers.safe-integers',
  'workers.errors-classified',
  'workers.all-in-chunks',
  'workers.iterate-early-return',
  'workers.reset',
  'workers.crash-mid-query',
  'workers.pool-read-on-worker',
  'workers.pool-routing',
  'workers.pool-worker-killed',
  'workers.close-during-worker-query',
  'workers.worker-lane-waits',
  'workers.checkpoint-off-main-thread',
  'workers.slow-beside-fast',
  'workers.mixed-callers-with-faults',
]

describe('scenario registry', () => {
  it('contract keys are unique and stable', () => {
    const keys = CONTRACT_SCENARIOS.map((s) => s.key)
    expect(new Set(keys).size).toBe(keys.length)
    expect(keys).toEqual(STABLE_KEYS)
  })

  it('stress keys are unique and distinct from contract keys', () => {
    const keys = STRESS_SCENARIOS.map((s) => s.key)
    expect(keys).toEqual([
      'stress.multi-process-writers',
      'stress.lock-held-by-another-process',
      'stress.event-loop-delay-under-contention',
      'stress.wal-bounded-under-read-load',
    ])
  })

  it('unknownGapKeys reports keys that name no scenario', () => {
    expect(
      unknownGapKeys(
        ['types.null', 'types.nul', 'stress.multi-process-writers'],
        CONTRACT_SCENARIOS,
      ),
    ).toEqual(['types.nul', 'stress.multi-process-writers'])
    expect(unknownGapKeys([], CONTRACT_SCENARIOS)).toEqual([])
  })
})

describe('helpers', () => {
  it('countOpenFiles counts descriptors on the db, -wal and -shm files', async () => {
    const { context, cleanup } = createScenarioContext({} as DriverHarness)
    const file = context.filename
    try {
      expect(countOpenFiles(file)).toEqual({ db: 0, wal: 0, shm: 0, total: 0 })
      const fds = [
        openSync(file, 'w'),
        openSync(file, 'r'),
        openSync(`${file}-wal`, 'w'),
        openSync(`${file}-shm`, 'w'),
      ]
      expect(countOpenFiles(file)).toEqual({ db: 2, wal: 1, shm: 1, total: 4 })
      expect(countOpenFiles(join(context.dir, 'other.db'))?.total).toBe(0)
      for (const fd of fds) closeSync(fd)
      expect(countOpenFiles(file)?.total).toBe(0)
    } finally {
      await cleanup()
    }
  })

  it('a gate resolves only when opened; within bounds a wait', async () => {
    const g = gate<number>()
    let value: number | undefined
    void g.promise.then((v) => {
      value = v
    })
    await Promise.resolve()
    expect(value).toBeUndefined()
    g.open(7)
    expect(await within(g.promise, 100, 'gate')).toBe(7)
    await expect(within(new Promise(() => undefined), 10, 'never')).rejects.toThrow(
      'never did not finish within 10 ms',
    )
  })

  it('a scenario context runs deferred work in reverse, then removes its directory', async () => {
    const cleanups: number[] = []
    const { context, cleanup } = createScenarioContext({
      cleanup: () => cleanups.push(3),
    } as unknown as DriverHarness)
    context.defer(() => cleanups.push(1))
    context.defer(() => cleanups.push(2))
    expect(existsSync(context.dir)).toBe(true)
    await cleanup()
    expect(cleanups).toEqual([2, 1, 3])
    expect(existsSync(context.dir)).toBe(false)
  })
})
