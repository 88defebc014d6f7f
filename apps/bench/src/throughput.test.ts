import { afterAll, describe, expect, it } from 'vitest'
import { runContention } from './contention.js'
import type { SuiteContext } from './context.js'
import { Fixtures } from './fixture.js'
import { Progress } from './progress.js'
import type { BusyCell, Failure } from './results.js'
import { QUICK, type Settings } from './settings.js'
import type { Instance, Subject } from './subjects/index.js'
import { rawBetterSqlite3 } from './subjects/raw-better-sqlite3.js'
import { runThroughput } from './throughput.bench.js'
import { workload } from './workloads.js'

const fixtures = new Fixtures()
afterAll(() => fixtures.dispose())

const settings: Settings = {
  ...QUICK,
  tableRows: 2_000,
  callers: [1, 4],
  timing: { timeMs: 5, warmupMs: 1 },
  rounds: 1,
}

/** raw better-sqlite3 with one operation replaced: subjects that lie, or fail. */
function variant(
  id: string,
  family: Subject['family'],
  patch: (inner: Instance) => Partial<Instance>,
): Subject {
  return {
    ...rawBetterSqlite3,
    id,
    family,
    async open(file, options) {
      const inner = await rawBetterSqlite3.open(file, options)
      return { ...inner, ...patch(inner) }
    },
  }
}

const busyError = () => Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })

async function run(subjects: Subject[], ids: Parameters<typeof workload>[0][]) {
  const failures: Failure[] = []
  const busy: BusyCell[] = []
  const ctx: SuiteContext = {
    settings,
    subjects,
    workloads: ids.map(workload),
    fixtures,
    progress: new Progress(1_000, 'silent'),
    failures,
    busy,
  }
  const rows = await runThroughput(ctx)
  return { rows, failures, busy }
}

describe('throughput suite verification', () => {
  it('measures an honest subject in every cell, sequential and concurrent', async () => {
    const { rows, failures, busy } = await run([rawBetterSqlite3], ['point-select', 'insert'])
    expect(failures).toEqual([])
    expect(busy).toEqual([])
    expect(rows.map((r) => `${r.workload} ×${r.callers}`)).toEqual([
      'point-select ×1',
      'point-select ×4',
      'insert ×1',
      'insert ×4',
    ])
    for (const r of rows) expect(r.opsPerSec).toBeGreaterThan(0)
  })

  it('fails a subject that reports inserts it never wrote', async () => {
    const lazy = variant('drops-writes', 'pool', () => ({ insert: () => ({ changes: 1 }) }))
    const { rows, failures } = await run([lazy], ['insert'])
    expect(rows).toEqual([])
    expect(failures.map((f) => f.message)).toEqual([
      expect.stringMatching(/^verification: 2000 rows in the file, expected \d+/),
      expect.stringMatching(/^verification: 2000 rows in the file, expected \d+/),
    ])
  })

  it('fails a subject that returns the wrong row', async () => {
    const wrong = variant('wrong-row', 'pool', (inner) => ({
      pointSelect: (id) => inner.pointSelect(id === 1 ? 1 : id - 1),
    }))
    const { failures } = await run([wrong], ['point-select'])
    expect(failures).toHaveLength(2)
    expect(failures[0]?.message).toMatch(/VerificationError: point select of id \d+ returned \d+/)
  })

  it('reports BUSY from a peer as a result, but from litepool as a failure', async () => {
    const peer = variant('busy-peer', 'pool', () => ({
      sync: false,
      insert: () => Promise.reject(busyError()),
    }))
    const lite = variant('busy-litepool', 'litepool', () => ({
      sync: false,
      insert: () => Promise.reject(busyError()),
    }))
    const { failures, busy } = await run([peer, lite], ['insert'])
    expect(busy.map((b) => `${b.subject} ${b.where}`)).toEqual([
      'busy-peer insert ×1',
      'busy-peer insert ×4',
    ])
    expect(failures.map((f) => `${f.subject} ${f.where}`)).toEqual([
      'busy-litepool insert ×1',
      'busy-litepool insert ×4',
    ])
  })
})

describe('contention verification', () => {
  it('counts deferred-transaction conflicts as BUSY and still finds no lost update', async () => {
    const file = fixtures.copy(2_000, 'contention-test')
    const outcome = await runContention({
      subject: 'raw-better-sqlite3',
      file,
      tableRows: 2_000,
      writers: 3,
      readers: 2,
      durationMs: 150,
      busyTimeoutMs: 50,
      beginImmediate: false,
      workerBase: 0,
    })
    expect(outcome.otherErrors).toEqual([])
    expect(outcome.verificationErrors).toEqual([])
    expect(outcome.writesOk).toBeGreaterThan(0)
    expect(outcome.writesBusy).toBeGreaterThan(0)
    expect(outcome.readsOk).toBeGreaterThan(0)
    const { countRows } = await import('./fixture.js')
    const counts = countRows(file)
    expect(counts.counter).toBe(outcome.writesOk)
    expect(counts.events).toBe(outcome.writesOk)
  })
})
