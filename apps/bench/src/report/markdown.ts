import type { BenchResult, ContentionRow, GrowthRow, ThroughputRow } from '../results.js'
import type { SubjectInfo } from '../subjects/index.js'
import { contentionScope, formatCount, formatMs, formatOps, formatRatio } from './format.js'
import { formatTarget, headlines, kyselyRatio, missingCell, ratio, subjectsIn } from './ratios.js'
import { threadsMarkdown } from './threads.js'

/** A Markdown table from a header row and body rows (cells are escaped for `|`). */
export function mdTable(header: readonly string[], body: readonly (readonly string[])[]): string {
  const esc = (cell: string) => cell.replace(/\|/g, '\\|')
  const line = (cells: readonly string[]) => `| ${cells.map(esc).join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...body.map(line)].join('\n')
}

function label(subjects: readonly SubjectInfo[], id: string): string {
  return subjects.find((s) => s.id === id)?.label ?? id
}

/** Ratio vs the baseline with the absolute figure: "0.87× (352k/s)". */
function cell(
  result: BenchResult,
  subject: string,
  w: ThroughputRow['workload'],
  callers: number,
): string {
  const rows = result.throughput
  const baseline = result.baseline
  const row = rows.find((r) => r.subject === subject && r.workload === w && r.callers === callers)
  if (row === undefined) return missingCell(result, subject, w, callers)
  return `${formatRatio(ratio(rows, subject, baseline, w, callers))} (${formatOps(row.opsPerSec)}/s)`
}

function throughputSection(result: BenchResult): string[] {
  const callers = [...new Set(result.throughput.map((r) => r.callers))].sort((a, b) => a - b)
  const out = [
    `## Throughput: ratio vs ${label(result.subjects, result.baseline)}`,
    '',
    'Each cell: ops/s of the subject ÷ ops/s of the baseline in the same cell — with several rounds, the median of ' +
      'the per-round ratios (round i of every subject ran side by side) — and the median ops/s in brackets. ' +
      '"×1" is one sequential caller (the overhead per call); ×8/×32/×128 are concurrent async callers.',
    '',
  ]
  for (const w of result.workloads) {
    const present = subjectsIn(result, w.id)
    if (present.length === 0) continue
    out.push(`### ${w.label}`, '', `${w.description}.`, '')
    out.push(
      mdTable(
        ['subject', ...callers.map((c) => `×${c}`)],
        present.map((s) => [s.label, ...callers.map((c) => cell(result, s.id, w.id, c))]),
      ),
      '',
    )
  }
  return out
}

function contentionSection(result: BenchResult): string[] {
  if (result.contention.length === 0) return []
  const row = (r: ContentionRow) => [
    label(result.subjects, r.subject),
    contentionScope(r),
    r.begin,
    formatOps(r.writesPerSec),
    String(r.writes.busy),
    `${formatMs(r.writes.p50Ms)} / ${formatMs(r.writes.p99Ms)}`,
    formatOps(r.readsPerSec),
    String(r.reads.busy),
    `${formatMs(r.reads.p50Ms)} / ${formatMs(r.reads.p99Ms)}`,
    `${formatMs(r.eventLoopDelayMs.p99)} / ${formatMs(r.eventLoopDelayMs.max)}`,
    r.verified ? 'yes' : '**no**',
  ]
  const first = result.contention[0]!
  return [
    '## Contention',
    '',
    `${first.writers} writers and ${first.readers} readers per process for ${first.durationMs} ms ` +
      '(cross-process: half as many per process). A writer runs a read-modify-write transaction with an `await` ' +
      'inside (read a counter, yield to the event loop, write counter + 1, insert an event); a reader runs point ' +
      `selects. busy_timeout for subjects that leave lock waits to SQLite: ${first.busyTimeoutMs === 'default' ? 'their default (better-sqlite3: 5000 ms)' : `${first.busyTimeoutMs} ms (shortened in --quick so the run stays short; a freeze lasts up to this)`}. ` +
      'litepool keeps its own short busy_timeout (5 ms) and retries BEGIN IMMEDIATE asynchronously. ' +
      'A deferred BEGIN that later writes fails at once with BUSY (BUSY_SNAPSHOT) when another connection wrote first; ' +
      'BEGIN IMMEDIATE instead waits in SQLite’s busy handler, which blocks the event loop. ' +
      '"verified": the counter equals the committed increments and there is one event row each.',
    '',
    mdTable(
      [
        'subject',
        'scope',
        'write transaction',
        'writes/s',
        'write BUSY',
        'write p50 / p99 ms',
        'reads/s',
        'read BUSY',
        'read p50 / p99 ms',
        'event-loop delay p99 / max ms',
        'verified',
      ],
      result.contention.map(row),
    ),
    '',
  ]
}

function kyselySection(result: BenchResult): string[] {
  const rows = result.kysely ?? []
  if (rows.length === 0) return []
  return [
    '## Kysely (issue #7)',
    '',
    '`@litepool/kysely` (LitepoolDialect on a litepool pool, 1 writer + 4 readers) next to Kysely’s built-in ' +
      'SqliteDialect on one better-sqlite3 connection, both running the same query-builder code. 8 async callers: ' +
      '7 run point selects (one per event-loop turn, like request handlers) and 1 runs a slow read — a `stream()` of ' +
      '10 000 rows read by a slow consumer, or a read-only transaction that awaits between its selects. The ' +
      'single-caller overhead is the `point select ×1` cell of the throughput tables.',
    '',
    mdTable(
      [
        'scenario',
        'subject',
        'point selects/s (7 callers)',
        'slow reads/s',
        'selects vs SqliteDialect',
      ],
      rows.map((k) => [
        k.scenario,
        label(result.subjects, k.subject),
        formatOps(k.opsPerSec),
        formatOps(k.slowPerSec),
        k.subject === 'kysely' ? '' : formatRatio(kyselyRatio(rows, k.scenario)),
      ]),
    ),
    '',
  ]
}

function growthSection(result: BenchResult): string[] {
  if (result.growth.length === 0) return []
  const out = ['## Growth', '']
  const dims: { id: GrowthRow['dimension']; title: string }[] = [
    { id: 'table-rows', title: 'Table size (rows), one caller' },
    {
      id: 'pool-size',
      title:
        'Pool size (litepool readers.max; generic pools get one more connection), mixed 90/10, 32 callers',
    },
    { id: 'callers', title: 'Concurrent callers, point select' },
  ]
  for (const dim of dims) {
    const rows = result.growth.filter((g) => g.dimension === dim.id)
    if (rows.length === 0) continue
    const values = [...new Set(rows.map((r) => r.value))].sort((a, b) => a - b)
    const series = [...new Set(rows.map((r) => `${r.subject}|${r.workload}`))]
    out.push(`### ${dim.title}`, '', 'ops/s', '')
    out.push(
      mdTable(
        ['subject', 'workload', ...values.map(formatCount)],
        series.map((key) => {
          const [subject = '', workload = ''] = key.split('|')
          return [
            label(result.subjects, subject),
            workload,
            ...values.map((v) => {
              const g = rows.find(
                (r) => r.subject === subject && r.workload === workload && r.value === v,
              )
              return g === undefined ? '–' : formatOps(g.opsPerSec)
            }),
          ]
        }),
      ),
      '',
    )
  }
  return out
}

/** The Markdown report: headline ratios, per-workload ratio tables, contention, growth, config. */
export function renderMarkdown(
  result: BenchResult,
  chartFiles: { throughput: string; contention: string; growth: string },
): string {
  const env = result.environment
  const out: string[] = [
    `# litepool benchmark (${result.mode} run)`,
    '',
    `${result.startedAt} · ${(result.durationMs / 1000).toFixed(0)} s · Node ${env.node} · ${env.cpu} (${env.cores} cores) · ${env.platform} · git ${env.git}`,
    '',
    `SQLite: ${Object.entries(env.sqlite)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}. ` +
      `Packages: ${Object.entries(env.packages)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}.`,
    '',
    'All subjects ran in one process, one after another, on byte-identical copies of the same seeded file; ' +
      'the machine is shared and noisy, so compare ratios within this run, not absolute figures across runs.',
    '',
  ]
  if (result.mode === 'quick') {
    out.push(
      '> **Quick run**: each cell is timed for a few dozen milliseconds, to prove that every suite and subject works. ' +
        'Its ratios are too noisy to quote; `pnpm bench` (full mode) produces the figures to cite.',
      '',
    )
  }
  if (result.failures.length > 0) {
    out.push(
      '## Failures',
      '',
      ...result.failures.map((f) => `- **${f.subject}** (${f.suite}, ${f.where}): ${f.message}`),
      '',
    )
  }
  const heads = headlines(result)
  out.push(
    '## Headline',
    '',
    mdTable(
      ['comparison', 'ratio', 'target', ''],
      heads.map((h) => [
        h.label,
        formatRatio(h.ratio),
        formatTarget(h),
        h.met === undefined ? '' : h.met ? 'met' : '**not met**',
      ]),
    ),
    '',
    `![throughput ratios](${chartFiles.throughput})`,
    '',
  )
  out.push(...throughputSection(result))
  if (result.busy.length > 0) {
    out.push(
      '## SQLITE_BUSY from peers',
      '',
      'Cells where a subject failed with SQLITE_BUSY (shown as BUSY in the tables): how that tool behaves under concurrency, not a fault of the bench.',
      '',
      ...result.busy.map((f) => `- **${f.subject}** (${f.suite}, ${f.where}): ${f.message}`),
      '',
    )
  }
  out.push(...contentionSection(result))
  if (result.contention.length > 0) out.push(`![contention](${chartFiles.contention})`, '')
  out.push(...kyselySection(result))
  out.push(...threadsMarkdown(result, mdTable))
  out.push(...growthSection(result))
  if (result.growth.length > 0) out.push(`![growth](${chartFiles.growth})`, '')
  out.push('## Subjects', '')
  for (const s of result.subjects) {
    out.push(
      `- **${s.label}** (\`${s.id}\`, ${s.driver}): ${Object.entries(s.config)
        .map(([k, v]) => `${k}: ${v}`)
        .join('; ')}`,
    )
  }
  out.push('', '## Notes', '', ...result.notes.map((n) => `- ${n}`), '')
  return out.join('\n')
}
