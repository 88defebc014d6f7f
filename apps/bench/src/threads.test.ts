import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { renderMarkdown } from './report/markdown.js'
import { sampleResult } from './report/testing.js'
import { formatBytes, threadsTables } from './report/threads.js'
import { type MixRow, type ThreadsResult, withRatios } from './threads.bench.js'
import {
  delayOf,
  pairedRatio,
  runWindow,
  Sampler,
  scanBound,
  slowMixKind,
  threadsTargets,
  walBytes,
  writeMixKind,
} from './threads.js'

/** A caller-driven row with the figures a test cares about. */
function row(
  subject: string,
  cell: MixRow['cell'],
  figures: { ops?: number[]; p99?: number; eldMax?: number; walAfter?: number | null } = {},
): MixRow {
  const ops = figures.ops ?? [1000]
  return {
    cell,
    subject,
    callers: '32 callers',
    rounds: ops.length,
    windowMs: 100,
    opsPerSec: [...ops].sort((a, b) => a - b)[ops.length >> 1]!,
    roundsOpsPerSec: ops,
    perSec: { point: 900, slow: 20, write: 80 },
    ops: { point: 90, slow: 2, write: 8 },
    pointMs: { p50: 0.01, p99: figures.p99 ?? 1 },
    roundsPointP99Ms: ops.map(() => figures.p99 ?? 1),
    slowP50Ms: 15,
    writeMs: undefined,
    eventLoopDelayMs: { p50: 0.1, p99: 1, max: figures.eldMax ?? 2 },
    roundsEldMaxMs: ops.map(() => figures.eldMax ?? 2),
    walMaxBytes: 4096,
    walAfterCloseBytes: figures.walAfter,
    workersOpen: subject.startsWith('litepool') ? 2 : null,
    slowStatements: undefined,
    routedDuringCell: undefined,
    routedInWarmups: undefined,
    ratios: {
      opsVsRaw: undefined,
      opsVsBestPeer: undefined,
      pointP99VsRaw: undefined,
      eldMaxVsRaw: undefined,
    },
    bestPeer: undefined,
    verified: true,
  }
}

describe('threads suite helpers', () => {
  it('schedules exactly 2 % slow reads and 10 % writes', () => {
    const kinds = Array.from({ length: 1000 }, (_, i) => slowMixKind(i))
    expect(kinds.filter((k) => k === 'slow')).toHaveLength(20)
    expect(
      Array.from({ length: 1000 }, (_, i) => writeMixKind(i)).filter((k) => k === 'write'),
    ).toHaveLength(100)
  })

  it('reports the event-loop delay beyond the timer resolution, never below 0', () => {
    const h = {
      count: 3,
      max: 12e6,
      percentile: (p: number) => (p === 50 ? 0.5e6 : 3e6),
    }
    expect(delayOf(h, 1)).toEqual({ p50: 0, p99: 2, max: 11 })
    expect(delayOf({ ...h, count: 0 }).max).toBeNaN()
  })

  it('pairs rounds for ratios and falls back to the medians', () => {
    // The machine sped up after round 2: per-round ratios are all 0.5.
    expect(pairedRatio([50, 50, 100, 100, 100], [100, 100, 200, 200, 200])).toBe(0.5)
    expect(pairedRatio([30], [10])).toBe(3)
    expect(pairedRatio([10, 20, 30], [40])).toBe(0.5)
    expect(pairedRatio([], [1])).toBeUndefined()
    expect(pairedRatio([5], [0])).toBeUndefined()
    expect(pairedRatio([2, 2, 2], [4, 4, 4], true)).toBe(2)
  })

  it('picks the id bound of the slow read from a full-scan timing', () => {
    expect(scanBound(30, 15, 100_000)).toBe(50_000)
    expect(scanBound(10, 15, 100_000)).toBe(100_000) // the whole table is not enough
    expect(scanBound(1000, 15, 100_000)).toBe(10_000) // never below a tenth
    expect(scanBound(0, 15, 100_000)).toBe(100_000)
  })

  it('runs callers until the deadline, counting each kind and its latency', async () => {
    const seen: number[] = []
    const outcome = await runWindow(
      [
        { callers: 4, kindOf: slowMixKind },
        { callers: 1, kindOf: () => 'write' },
      ],
      30,
      async (kind, i) => {
        if (kind !== 'write') seen.push(i)
      },
    )
    expect(outcome.counts.point + outcome.counts.slow).toBe(seen.length)
    expect(new Set(seen).size).toBe(seen.length) // one counter per group: no id twice
    expect(outcome.latencyMs.point).toHaveLength(outcome.counts.point)
    expect(outcome.counts.write).toBeGreaterThan(0)
    expect(outcome.elapsedMs).toBeGreaterThanOrEqual(29)
  })

  it('stops every caller after a failure and rejects once they settled', async () => {
    let inFlight = 0
    let settledAfterFailure = false
    const error = new Error('wrong row')
    await expect(
      runWindow([{ callers: 8, kindOf: () => 'point' }], 1000, async (_, i) => {
        inFlight++
        await new Promise((resolve) => setTimeout(resolve, 2))
        inFlight--
        if (i === 20) throw error
        if (i > 20) settledAfterFailure = true
      }),
    ).rejects.toBe(error)
    expect(inFlight).toBe(0)
    expect(settledAfterFailure).toBe(true) // those already running finished first
  })

  it('samples the -wal size, the worker lane and the routed statements', () => {
    const dir = mkdtempSync(join(tmpdir(), 'threads-test-'))
    try {
      const file = join(dir, 'x.db')
      expect(walBytes(file)).toBeUndefined()
      writeFileSync(`${file}-wal`, Buffer.alloc(8192))
      let open = 1
      const sampler = new Sampler({
        file,
        workersOpen: () => open,
        slowStatements: () => (open > 1 ? ['select 1'] : []),
      })
      open = 2
      sampler.sample()
      writeFileSync(`${file}-wal`, Buffer.alloc(100))
      const sampled = sampler.stop()
      expect(sampled).toEqual({
        walMaxBytes: 8192,
        workersMax: 2,
        routed: { 'select 1': 2 },
        samples: 3,
      })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('takes ratios against raw and against the best peer not built on litepool', () => {
    const rows = withRatios([
      row('litepool-better-sqlite3', 'slow-reads', { ops: [600, 800, 1000], p99: 0.5 }),
      row('kysely-litepool', 'slow-reads', { ops: [900, 900, 900] }),
      row('raw-better-sqlite3', 'slow-reads', { ops: [200, 200, 200], p99: 10 }),
      row('tarn', 'slow-reads', { ops: [300, 400, 500] }),
    ])
    const lp = rows[0]!
    expect(lp.bestPeer).toBe('tarn')
    expect(lp.ratios.opsVsBestPeer).toBe(2)
    expect(lp.ratios.opsVsRaw).toBe(4)
    expect(lp.ratios.pointP99VsRaw).toBe(0.05)
    expect(rows[3]!.ratios.opsVsBestPeer).toBeUndefined()
  })

  it('holds litepool to the issue’s targets', () => {
    const rows = withRatios([
      row('litepool-better-sqlite3', 'slow-reads', { ops: [2000], p99: 2.5 }),
      row('generic-pool', 'slow-reads', { ops: [1100] }),
      row('litepool-better-sqlite3', 'read-write', { eldMax: 5 }),
      row('litepool-better-sqlite3', 'sustained-writes', { eldMax: 9.9, walAfter: null }),
      row('litepool-node-sqlite', 'sustained-writes', { eldMax: 12, walAfter: 4096 }),
    ])
    const all = threadsTargets(rows)
    expect(all[4]?.display).toBe('absent')
    const targets = all.map((t) => [t.subject, t.label, t.value, t.met])
    expect(targets).toEqual([
      ['litepool-better-sqlite3', 'slow reads beside point reads: point-read p99', 2.5, true],
      [
        'litepool-better-sqlite3',
        'slow reads beside point reads: throughput vs the best peer (generic-pool)',
        1.818,
        false,
      ],
      ['litepool-better-sqlite3', '90/10 read/write: event-loop delay max', 5, false],
      ['litepool-better-sqlite3', 'sustained writes + 8 readers: event-loop delay max', 9.9, true],
      ['litepool-better-sqlite3', 'sustained writes: -wal file after pool.close()', 0, true],
      ['litepool-node-sqlite', 'sustained writes + 8 readers: event-loop delay max', 12, false],
      ['litepool-node-sqlite', 'sustained writes: -wal file after pool.close()', 4096, false],
    ])
  })

  it('renders the section in the Markdown, with the idle floor and the targets', () => {
    const mix = withRatios([
      row('litepool-better-sqlite3', 'slow-reads', { ops: [2000], p99: 2.5 }),
      row('raw-better-sqlite3', 'slow-reads', { ops: [1000] }),
    ])
    const threads: ThreadsResult = {
      calibration: {
        slowSql: 'select count(*) as n from items where id <= ?',
        slowParams: [50_000, '%a%'],
        pointSql: 'select * from items where id = ?',
        updateSql: 'update items set score = score + 1 where id = ?',
        tableRows: 100_000,
        fullScanMs: 30,
        targetMs: 15,
        bound: 50_000,
        slowReadMs: 14.8,
        expected: { n: 1, s: 2 },
        slowShare: '1 in 50 (2 %)',
        writeShare: '1 in 10 (10 %)',
      },
      subjects: [],
      mix,
      idle: [
        {
          cell: 'slow-reads',
          rounds: 1,
          windowMs: 100,
          eventLoopDelayMs: { p50: 0, p99: 0.2, max: 0.4 },
          roundsEldMaxMs: [0.4],
        },
      ],
      startup: [],
      roundTrip: [],
      loop: [],
      targets: threadsTargets(mix),
      notes: ['a note'],
    }
    const md = renderMarkdown(sampleResult({ threads }), {
      throughput: 'a.svg',
      contention: 'b.svg',
      growth: 'c.svg',
    })
    expect(md).toContain('## Worker threads')
    expect(md).toContain('**14.8 ms**')
    expect(md).toContain('| idle event loop (no work: the floor) |')
    expect(md).toContain('0.2 / 0.4')
    expect(md).toContain(
      '| slow reads beside point reads: point-read p99 | litepool (better-sqlite3) | 2.50 ms | ≤ 3 ms | met |',
    )
    const [targets] = threadsTables({ subjects: [], threads })
    expect(targets?.title).toBe('Targets (litepool)')
    expect(formatBytes(null)).toBe('absent')
    expect(formatBytes(4 * 1024 * 1024)).toBe('4.0 MiB')
    expect(formatBytes(812)).toBe('812 B')
  })
})
