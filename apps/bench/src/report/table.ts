import type { BenchResult } from '../results.js'
import { contentionScope, formatMs, formatOps, formatRatio } from './format.js'
import { formatTarget, headlines, kyselyRatio, missingCell, ratio, subjectsIn } from './ratios.js'
import { threadsTerminal } from './threads.js'

/** Left-aligns the first column and right-aligns the rest. */
export function textTable(header: readonly string[], body: readonly (readonly string[])[]): string {
  const rows = [header, ...body]
  const widths = header.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  const line = (r: readonly string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...body.map(line)].join('\n')
}

/** What the terminal shows at the end of a run. */
export function renderTerminal(result: BenchResult): string {
  const label = (id: string) => result.subjects.find((s) => s.id === id)?.label ?? id
  const callers = [...new Set(result.throughput.map((r) => r.callers))].sort((a, b) => a - b)
  const out: string[] = []
  for (const w of result.workloads) {
    const subjects = subjectsIn(result, w.id)
    if (subjects.length === 0) continue
    out.push(
      `${w.label} — ops/s and ratio vs ${label(result.baseline)}`,
      textTable(
        ['subject', ...callers.map((c) => `×${c}`)],
        subjects.map((s) => [
          s.label,
          ...callers.map((c) => {
            const row = result.throughput.find(
              (r) => r.subject === s.id && r.workload === w.id && r.callers === c,
            )
            return row === undefined
              ? missingCell(result, s.id, w.id, c)
              : `${formatOps(row.opsPerSec)} ${formatRatio(ratio(result.throughput, s.id, result.baseline, w.id, c))}`
          }),
        ]),
      ),
      '',
    )
  }
  if (result.contention.length > 0) {
    out.push(
      'contention — BUSY errors, latency and event-loop delay',
      textTable(
        [
          'subject',
          'scope',
          'writes/s',
          'BUSY',
          'write p99',
          'reads/s',
          'read p99',
          'ELD p99',
          'ELD max',
          'ok',
        ],
        result.contention.map((r) => [
          label(r.subject),
          contentionScope(r),
          formatOps(r.writesPerSec),
          String(r.writes.busy + r.reads.busy),
          `${formatMs(r.writes.p99Ms)}ms`,
          formatOps(r.readsPerSec),
          `${formatMs(r.reads.p99Ms)}ms`,
          `${formatMs(r.eventLoopDelayMs.p99)}ms`,
          `${formatMs(r.eventLoopDelayMs.max)}ms`,
          r.verified ? 'yes' : 'NO',
        ]),
      ),
      '',
    )
  }
  const kysely = result.kysely ?? []
  if (kysely.length > 0) {
    out.push(
      'kysely — 7 point-select callers + 1 slow read (issue #7)',
      textTable(
        ['scenario', 'subject', 'selects/s', 'slow reads/s', 'vs SqliteDialect'],
        kysely.map((k) => [
          k.scenario,
          label(k.subject),
          formatOps(k.opsPerSec),
          formatOps(k.slowPerSec),
          k.subject === 'kysely' ? '' : formatRatio(kyselyRatio(kysely, k.scenario)),
        ]),
      ),
      '',
    )
  }
  out.push(...threadsTerminal(result, textTable))
  const heads = headlines(result).filter((h) => h.ratio !== undefined)
  if (heads.length > 0) {
    out.push(
      'headline',
      textTable(
        ['comparison', 'ratio', 'target'],
        heads.map((h) => [
          h.label,
          formatRatio(h.ratio),
          h.target === undefined ? '' : `${formatTarget(h)} ${h.met ? 'met' : 'NOT MET'}`,
        ]),
      ),
      '',
    )
  }
  if (result.busy.length > 0) {
    out.push(
      `SQLITE_BUSY from peers (${result.busy.length}; reported, not a failure)`,
      ...result.busy.map((f) => `  ${f.subject} [${f.suite} ${f.where}]: ${f.message}`),
      '',
    )
  }
  if (result.failures.length > 0) {
    out.push(
      `FAILURES (${result.failures.length})`,
      ...result.failures.map((f) => `  ${f.subject} [${f.suite} ${f.where}]: ${f.message}`),
      '',
    )
  }
  return out.join('\n')
}
