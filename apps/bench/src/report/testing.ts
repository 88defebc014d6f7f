import type { BenchResult, ThroughputRow } from '../results.js'

/** One throughput cell with a single round. */
export function cellRow(
  subject: string,
  workload: ThroughputRow['workload'],
  callers: number,
  opsPerSec: number,
): ThroughputRow {
  return {
    workload,
    callers,
    subject,
    opsPerSec,
    rounds: [opsPerSec],
    rme: 1,
    samples: 10,
    batch: 512,
    latencyUs: 1e6 / opsPerSec,
  }
}

/** A small, hand-made result for the report tests. */
export function sampleResult(overrides: Partial<BenchResult> = {}): BenchResult {
  const cell = cellRow
  return {
    schema: 1,
    mode: 'quick',
    startedAt: '2026-11-25T12:00:00Z',
    durationMs: 60_000,
    environment: {
      node: '20.20.2',
      v8: '11.3',
      platform: 'linux x64',
      cpu: 'AMD EPYC <test>',
      cores: 2,
      memoryGiB: 24,
      loadAverage: [1, 1, 1],
      sqlite: { 'better-sqlite3': '3.53.2' },
      packages: { 'better-sqlite3': '12.11.1' },
      git: 'abc1234',
    },
    settings: {},
    baseline: 'raw-better-sqlite3',
    subjects: [
      {
        id: 'litepool-better-sqlite3',
        label: 'litepool (better-sqlite3)',
        family: 'litepool',
        driver: 'better-sqlite3',
        config: { journal_mode: 'WAL' },
      },
      {
        id: 'raw-better-sqlite3',
        label: 'raw better-sqlite3',
        family: 'raw',
        driver: 'better-sqlite3',
        config: {},
      },
      {
        id: 'generic-pool',
        label: 'generic-pool | better-sqlite3',
        family: 'pool',
        driver: 'better-sqlite3',
        config: {},
      },
      {
        id: 'kysely-litepool',
        label: 'Kysely LitepoolDialect',
        family: 'builder',
        driver: 'better-sqlite3',
        config: {},
      },
      {
        id: 'sqlite-pool',
        label: '@matteo.collina/sqlite-pool',
        family: 'pool',
        driver: 'better-sqlite3',
        config: {},
      },
    ],
    workloads: [
      { id: 'point-select', label: 'point select', description: 'select by id' },
      { id: 'insert', label: 'single insert', description: 'one row' },
      { id: 'batch-insert', label: 'batch insert', description: '100 rows' },
    ],
    throughput: [
      cell('raw-better-sqlite3', 'point-select', 1, 400_000),
      cell('litepool-better-sqlite3', 'point-select', 1, 360_000),
      cell('generic-pool', 'point-select', 1, 280_000),
      cell('raw-better-sqlite3', 'insert', 1, 50_000),
      cell('litepool-better-sqlite3', 'insert', 1, 40_000),
      cell('raw-better-sqlite3', 'batch-insert', 32, 900),
      cell('litepool-better-sqlite3', 'batch-insert', 32, 1_800),
    ],
    contention: [
      {
        subject: 'generic-pool',
        scope: 'in-process',
        begin: 'BEGIN IMMEDIATE by hand',
        processes: 1,
        writers: 4,
        readers: 8,
        durationMs: 1000,
        busyTimeoutMs: 'default',
        writes: { ok: 10, busy: 3, p50Ms: 1, p99Ms: 5000 },
        reads: { ok: 100, busy: 0, p50Ms: 0.05, p99Ms: 4999 },
        writesPerSec: 2,
        readsPerSec: 20,
        eventLoopDelayMs: { p50: 0.1, p99: 5000, max: 5003 },
        verified: true,
      },
    ],
    growth: [
      {
        dimension: 'table-rows',
        value: 10_000,
        workload: 'point-select',
        callers: 1,
        subject: 'raw-better-sqlite3',
        opsPerSec: 420_000,
      },
      {
        dimension: 'table-rows',
        value: 1_000_000,
        workload: 'point-select',
        callers: 1,
        subject: 'raw-better-sqlite3',
        opsPerSec: 300_000,
      },
    ],
    busy: [
      {
        suite: 'throughput',
        subject: 'sqlite-pool',
        where: 'batch-insert ×32',
        message: 'SqliteError: database is locked',
      },
    ],
    failures: [],
    notes: ['a <note> & more'],
    ...overrides,
  }
}
