/** The threads suite's section of the Markdown report and of the terminal summary. */
import type { BenchResult } from '../results.js'
import type { MixRow, ThreadsResult, ThreadsTarget } from '../threads.bench.js'
import { threadsTargets } from '../threads.js'
import { formatMs, formatOps, formatRatio } from './format.js'

/** 4194304 → "4.0 MiB", 812 → "812 B", null → "absent". */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === undefined) return '–'
  if (bytes === null) return 'absent'
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(0)} KiB`
  return `${bytes} B`
}

/** A target's value in its unit. */
export function formatTargetValue(t: Pick<ThreadsTarget, 'value' | 'unit' | 'display'>): string {
  if (t.display !== undefined) return t.display
  if (t.value === undefined) return '–'
  if (t.unit === '×') return formatRatio(t.value)
  if (t.unit === 'bytes') return formatBytes(t.value)
  return `${formatMs(t.value)} ms`
}

function met(m: boolean | undefined): string {
  if (m === undefined) return ''
  return m ? 'met' : '**not met**'
}

function labelOf(result: Pick<BenchResult, 'subjects' | 'threads'>, id: string): string {
  return (
    result.threads?.subjects.find((s) => s.id === id)?.label ??
    result.subjects.find((s) => s.id === id)?.label ??
    id
  )
}

const workersCell = (r: Pick<MixRow, 'workersOpen'>) =>
  r.workersOpen === null ? '–' : String(r.workersOpen)
const ms2 = (a: number, b: number) => `${formatMs(a)} / ${formatMs(b)}`

const HEADER_SLOW: readonly string[] = [
  'subject',
  'ops/s',
  'vs raw',
  'vs best peer',
  'point p50 / p99 ms',
  'p99 ÷ raw',
  'slow p50 ms',
  'slow reads/s',
  'ELD p99 / max ms',
  'worker threads',
  'verified',
]

const HEADER_RW: readonly string[] = [
  'subject',
  'ops/s',
  'vs raw',
  'point p50 / p99 ms',
  'write p50 / p99 ms',
  'ELD p99 / max ms',
  'ELD max ÷ raw',
  'largest -wal',
  'worker threads',
  'verified',
]

const HEADER_SW: readonly string[] = [
  'subject',
  'inserts/s',
  'point reads/s',
  'write p50 / p99 ms',
  'point p99 ms',
  'ELD p99 / max ms',
  'ELD max ÷ raw',
  'largest -wal',
  '-wal after close',
  'worker threads',
  'verified',
]

type Table = { header: string[]; body: string[][] }

/** The tables of the section, shared by the Markdown and the terminal. */
export function threadsTables(result: Pick<BenchResult, 'subjects' | 'threads'>): {
  title: string
  table: Table
}[] {
  const t = result.threads
  if (t === undefined) return []
  const label = (id: string) => labelOf(result, id)
  const cell = (c: MixRow['cell']) => t.mix.filter((r) => r.cell === c)
  /** The idle loop's line of a cell's table: its event-loop delay in the ELD column only. */
  const idleLine = (c: MixRow['cell'], header: readonly string[]): string[][] => {
    const idle = (t.idle ?? []).find((i) => i.cell === c)
    if (idle === undefined) return []
    const d = idle.eventLoopDelayMs
    return [
      header.map((h, i) =>
        i === 0
          ? 'idle event loop (no work: the floor)'
          : h.startsWith('ELD p99')
            ? ms2(d.p99, d.max)
            : '',
      ),
    ]
  }
  const out: { title: string; table: Table }[] = []
  // Recomputed from the rows (like the headline ratios), so `--render` applies today's rules.
  const targets = threadsTargets(t.mix)
  if (targets.length > 0) {
    out.push({
      title: 'Targets (litepool)',
      table: {
        header: ['figure', 'subject', 'value', 'target', ''],
        body: targets.map((x) => [
          x.label,
          label(x.subject),
          formatTargetValue(x),
          x.target,
          met(x.met),
        ]),
      },
    })
  }
  const slow = cell('slow-reads')
  if (slow.length > 0) {
    out.push({
      title: `Slow reads beside point reads: ${slow[0]!.callers}, ${t.calibration.slowShare} slow`,
      table: {
        header: [...HEADER_SLOW],
        body: [
          ...slow.map((r) => [
            label(r.subject),
            formatOps(r.opsPerSec),
            formatRatio(r.ratios.opsVsRaw),
            formatRatio(r.ratios.opsVsBestPeer),
            ms2(r.pointMs.p50, r.pointMs.p99),
            formatRatio(r.ratios.pointP99VsRaw),
            r.slowP50Ms === undefined ? '–' : formatMs(r.slowP50Ms),
            formatOps(r.perSec.slow),
            ms2(r.eventLoopDelayMs.p99, r.eventLoopDelayMs.max),
            workersCell(r),
            r.verified ? 'yes' : 'NO',
          ]),
          ...idleLine('slow-reads', HEADER_SLOW),
        ],
      },
    })
  }
  const rw = cell('read-write')
  if (rw.length > 0) {
    out.push({
      title: `90/10 read/write: ${rw[0]!.callers}, ${t.calibration.writeShare} single-row updates`,
      table: {
        header: [...HEADER_RW],
        body: [
          ...rw.map((r) => [
            label(r.subject),
            formatOps(r.opsPerSec),
            formatRatio(r.ratios.opsVsRaw),
            ms2(r.pointMs.p50, r.pointMs.p99),
            r.writeMs === undefined ? '–' : ms2(r.writeMs.p50, r.writeMs.p99),
            ms2(r.eventLoopDelayMs.p99, r.eventLoopDelayMs.max),
            formatRatio(r.ratios.eldMaxVsRaw),
            formatBytes(r.walMaxBytes),
            workersCell(r),
            r.verified ? 'yes' : 'NO',
          ]),
          ...idleLine('read-write', HEADER_RW),
        ],
      },
    })
  }
  const sw = cell('sustained-writes')
  if (sw.length > 0) {
    out.push({
      title: `Sustained writes: ${sw[0]!.callers}, ${sw[0]!.windowMs} ms per round (a fresh file each)`,
      table: {
        header: [...HEADER_SW],
        body: [
          ...sw.map((r) => [
            label(r.subject),
            formatOps(r.perSec.write),
            formatOps(r.perSec.point),
            r.writeMs === undefined ? '–' : ms2(r.writeMs.p50, r.writeMs.p99),
            formatMs(r.pointMs.p99),
            ms2(r.eventLoopDelayMs.p99, r.eventLoopDelayMs.max),
            formatRatio(r.ratios.eldMaxVsRaw),
            formatBytes(r.walMaxBytes),
            formatBytes(r.walAfterCloseBytes),
            workersCell(r),
            r.verified ? 'yes' : 'NO',
          ]),
          ...idleLine('sustained-writes', HEADER_SW),
        ],
      },
    })
  }
  if (t.startup.length > 0) {
    out.push({
      title: 'Worker start-up: the first `{ thread: "worker" }` call of a fresh pool',
      table: {
        header: [
          'subject',
          'first call ms (median)',
          'per round ms',
          'next call ms',
          'ELD max during it ms',
          'worker threads',
        ],
        body: t.startup.map((s) => [
          label(s.subject),
          formatMs(s.firstCallMs),
          s.roundsFirstCallMs.map(formatMs).join(', '),
          formatMs(s.secondCallMs),
          formatMs(s.eldMaxMs),
          String(s.workersOpen),
        ]),
      },
    })
  }
  if (t.roundTrip.length > 0) {
    out.push({
      title: "Worker round trip: `pool.get('select ? as x', [i], { thread })`",
      table: {
        header: ['subject', 'thread', 'callers', 'µs / op', 'ops/s', 'vs main', 'worker threads'],
        body: t.roundTrip.map((r) => [
          label(r.subject),
          r.thread,
          `×${r.callers}`,
          formatMs(r.usPerOp),
          formatOps(r.opsPerSec),
          r.thread === 'main' ? '' : formatRatio(r.vsMain),
          String(r.workersOpen),
        ]),
      },
    })
  }
  if (t.loop.length > 0) {
    out.push({
      title: `One caller, point select by sequential id, ${t.loop[0]!.ops} ops per round`,
      table: {
        header: ['call', 'µs / op', 'ops/s', 'vs raw stmt.get', 'worker threads'],
        body: t.loop.map((l) => [
          l.label,
          formatMs(l.usPerOp),
          formatOps(l.opsPerSec),
          formatRatio(l.vsRaw),
          l.workersOpen === null ? '–' : String(l.workersOpen),
        ]),
      },
    })
  }
  return out
}

/** Whether a statement routed to workers is one of the suite's fast ones (not the slow aggregate). */
export function isFastStatement(sql: string): boolean {
  return !/count\(\*\)/i.test(sql)
}

/** Statements litepool routed to workers during and at the end of each cell. */
function routed(t: ThreadsResult, label: (id: string) => string): string[] {
  const code = (list: readonly string[]) =>
    list.length === 0 ? 'none' : list.map((sql) => `\`${sql}\``).join(', ')
  return t.mix
    .filter((r) => r.slowStatements !== undefined)
    .map((r) => {
      const during = Object.entries(r.routedDuringCell ?? {})
      const fast = during.filter(([sql]) => isFastStatement(sql))
      const list =
        during.length === 0
          ? 'none'
          : during
              .map(([sql, share]) => `\`${sql}\` (${(share * 100).toFixed(1)} % of samples)`)
              .join(', ')
      const warm = r.routedInWarmups
      const warmFast = (warm ?? []).filter(isFastStatement)
      const warmText = warm === undefined ? '' : `; in the warm-ups ${code(warm)}`
      const flag = fast.length > 0 || warmFast.length > 0
      return `- ${label(r.subject)}, ${r.cell}: during the measured windows ${list}${warmText}; at the end ${code(r.slowStatements ?? [])}${flag ? ' — **a fast statement was routed to workers**' : ''}`
    })
}

/** The Markdown section (empty when the suite did not run). */
export function threadsMarkdown(
  result: Pick<BenchResult, 'subjects' | 'threads'>,
  mdTable: (header: readonly string[], body: readonly (readonly string[])[]) => string,
): string[] {
  const t = result.threads
  if (t === undefined) return []
  const c = t.calibration
  const label = (id: string) => labelOf(result, id)
  const out = [
    '## Worker threads (issue “off the main thread”)',
    '',
    `litepool with its default configuration — reader connections on the main thread plus worker-thread readers (\`workers: { min: 0, max: 2 here, route: 'auto', slowMs: 1 }\`), \`pool.get\` for every read — beside the peers. ` +
      `The slow read is \`${c.slowSql}\` with \`[${c.slowParams[0]}, '${c.slowParams[1]}']\` (an aggregate no index serves; id bound calibrated so one run takes ~${c.targetMs} ms): ` +
      `alone on the main thread with raw better-sqlite3 it took **${formatMs(c.slowReadMs)} ms** (a full-table run ${formatMs(c.fullScanMs)} ms; ${c.tableRows} rows). ` +
      `Point reads: \`${c.pointSql}\` by random id; writes: \`${c.updateSql}\` (90/10 cell) and single-row inserts (sustained cell).`,
    '',
  ]
  for (const { title, table } of threadsTables(result)) {
    out.push(`### ${title}`, '', mdTable(table.header, table.body), '')
  }
  const lines = routed(t, label)
  if (lines.length > 0) {
    out.push(
      '### Statements litepool routed to workers (`pool.slowStatements`, sampled every 50 ms in the windows, and at the end of each cell)',
      '',
      ...lines,
      '',
    )
  }
  out.push('### Configuration of the threads suite’s subjects', '')
  for (const s of t.subjects) {
    out.push(
      `- **${s.label}** (\`${s.id}\`, ${s.driver}): ${Object.entries(s.config)
        .map(([k, v]) => `${k}: ${v}`)
        .join('; ')}`,
    )
  }
  out.push('', ...t.notes.map((n) => `- ${n}`), '')
  return out
}

/** The terminal summary of the suite. */
export function threadsTerminal(
  result: Pick<BenchResult, 'subjects' | 'threads'>,
  textTable: (header: readonly string[], body: readonly (readonly string[])[]) => string,
): string[] {
  const t = result.threads
  if (t === undefined) return []
  const out = [
    `threads — slow read ${formatMs(t.calibration.slowReadMs)} ms alone (bound ${t.calibration.slowParams[0]})`,
  ]
  for (const { title, table } of threadsTables(result)) {
    // Markdown emphasis means nothing on a terminal: "**not met**" reads "NOT MET" there.
    const body = table.body.map((row) =>
      row.map((cell) => (cell === '**not met**' ? 'NOT MET' : cell.replace(/\*\*/g, ''))),
    )
    out.push(title.replace(/`/g, ''), textTable(table.header, body), '')
  }
  return out
}
