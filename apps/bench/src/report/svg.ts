import type { BenchResult, GrowthRow } from '../results.js'
import type { WorkloadId } from '../workloads.js'
import { contentionScope, formatCount, formatMs, formatOps, formatRatio } from './format.js'
import { missingCell, ratio, subjectsIn } from './ratios.js'

/** Hand-written SVG charts: no dependencies, readable in a browser and on GitHub. */

const FONT = 'font-family="system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif"'
const COLOURS = [
  '#2563eb',
  '#16a34a',
  '#9333ea',
  '#ea580c',
  '#0891b2',
  '#be123c',
  '#4d7c0f',
  '#a16207',
  '#475569',
]

/** Escapes text for SVG/XML content and attributes. */
export function esc(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
}

function svg(width: number, height: number, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n')
}

function text(x: number, y: number, content: string, extra = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${extra}>${esc(content)}</text>`
}

function rect(x: number, y: number, w: number, h: number, fill: string): string {
  return `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(0, w).toFixed(1)}" height="${h}" fill="${fill}" rx="1"/>`
}

/**
 * Ratio vs the baseline per workload: one bar for one sequential caller, one for `concurrent`
 * callers; a dashed line marks 1.0× (the raw driver). litepool's rows are drawn in blue.
 */
export function throughputSvg(result: BenchResult, concurrent = 32): string {
  const width = 980
  const labelW = 270
  const x0 = labelW + 10
  const x1 = width - 70
  const rowH = 24
  const body: string[] = []
  let y = 28
  body.push(
    text(
      12,
      y,
      `Throughput vs ${labelOf(result, result.baseline)} (ratio of ops/s; 1.0× = raw)`,
      'font-size="15" font-weight="600"',
    ),
  )
  y += 18
  body.push(rect(12, y - 9, 12, 8, '#1e3a8a'), text(28, y, '1 caller (sequential)'))
  body.push(rect(170, y - 9, 12, 8, '#93c5fd'), text(186, y, `${concurrent} concurrent callers`))
  body.push(
    rect(340, y - 9, 12, 8, '#4b5563'),
    rect(354, y - 9, 12, 8, '#d1d5db'),
    text(372, y, 'other subjects'),
  )
  y += 14
  for (const w of result.workloads) {
    const subjects = subjectsIn(result, w.id)
    if (subjects.length === 0) continue
    const ratios = subjects.flatMap((s) =>
      [1, concurrent].map((c) => ratio(result.throughput, s.id, result.baseline, w.id, c) ?? 0),
    )
    const max = Math.max(1.2, ...ratios) * 1.05
    const scale = (r: number) => x0 + ((x1 - x0) * Math.min(r, max)) / max
    y += 22
    body.push(text(12, y, w.label, 'font-size="13" font-weight="600"'))
    const top = y + 6
    for (const s of subjects) {
      y += rowH
      const lp = s.family === 'litepool'
      body.push(text(labelW, y - 6, s.label, `text-anchor="end"${lp ? ' font-weight="600"' : ''}`))
      for (const [k, c] of [1, concurrent].entries()) {
        const r = ratio(result.throughput, s.id, result.baseline, w.id, c)
        const by = y - 19 + k * 10
        const fill = lp ? (k === 0 ? '#1e3a8a' : '#93c5fd') : k === 0 ? '#4b5563' : '#d1d5db'
        if (r === undefined) {
          const why = missingCell(result, s.id, w.id, c)
          body.push(
            text(
              x0 + 4,
              by + 8,
              why === 'BUSY' ? 'failed: SQLITE_BUSY' : why === 'FAIL' ? 'failed' : 'not run',
              'font-size="9" fill="#b91c1c"',
            ),
          )
          continue
        }
        body.push(
          rect(x0, by, scale(r) - x0, 9, fill),
          text(scale(r) + 4, by + 8, formatRatio(r), 'font-size="9" fill="#111827"'),
        )
      }
    }
    const one = scale(1)
    body.push(
      `<line x1="${one.toFixed(1)}" y1="${top}" x2="${one.toFixed(1)}" y2="${y + 2}" stroke="#dc2626" stroke-dasharray="4 3"/>`,
    )
  }
  y += 20
  body.push(
    text(
      12,
      y,
      `${result.mode} run · ${result.startedAt} · Node ${result.environment.node} · ${result.environment.cpu}`,
      'font-size="10" fill="#6b7280"',
    ),
  )
  return svg(width, y + 12, body)
}

/** Event-loop delay (max, log scale) per subject under contention, with BUSY counts and writes/s. */
export function contentionSvg(result: BenchResult): string {
  const width = 980
  const labelW = 380
  const x0 = labelW + 10
  const x1 = width - 290
  const body: string[] = []
  let y = 28
  body.push(
    text(
      12,
      y,
      'Contention: worst event-loop stall (max delay, ms, log scale)',
      'font-size="15" font-weight="600"',
    ),
  )
  const max = Math.max(10, ...result.contention.map((r) => r.eventLoopDelayMs.max))
  const scale = (ms: number) => x0 + ((x1 - x0) * Math.log10(1 + ms)) / Math.log10(1 + max)
  y += 10
  for (const r of result.contention) {
    y += 24
    const s = result.subjects.find((x) => x.id === r.subject)
    const lp = s?.family === 'litepool'
    const scope = contentionScope(r)
    body.push(
      text(
        labelW,
        y,
        `${s?.label ?? r.subject} · ${scope}`,
        `text-anchor="end"${lp ? ' font-weight="600"' : ''}`,
      ),
    )
    body.push(rect(x0, y - 11, scale(r.eventLoopDelayMs.max) - x0, 14, lp ? '#2563eb' : '#9ca3af'))
    body.push(
      text(
        x1 + 8,
        y,
        `max ${formatMs(r.eventLoopDelayMs.max)} ms · ${r.writes.busy + r.reads.busy} BUSY · ${formatOps(r.writesPerSec)} writes/s`,
        `font-size="11"${r.writes.busy + r.reads.busy > 0 ? ' fill="#b91c1c"' : ''}`,
      ),
    )
  }
  y += 28
  body.push(
    text(
      12,
      y,
      `${result.mode} run · ${result.startedAt} · Node ${result.environment.node}`,
      'font-size="10" fill="#6b7280"',
    ),
  )
  return svg(width, y + 12, body)
}

interface Panel {
  readonly title: string
  readonly dimension: GrowthRow['dimension']
  readonly workload: WorkloadId
}

const PANELS: readonly Panel[] = [
  {
    title: 'point select by table rows (1 caller)',
    dimension: 'table-rows',
    workload: 'point-select',
  },
  { title: 'single insert by table rows (1 caller)', dimension: 'table-rows', workload: 'insert' },
  { title: 'mixed 90/10 by pool size (32 callers)', dimension: 'pool-size', workload: 'mixed' },
  { title: 'point select by concurrent callers', dimension: 'callers', workload: 'point-select' },
]

/** Line charts of ops/s along each growth dimension, one line per subject. */
export function growthSvg(result: BenchResult): string {
  const pw = 470
  const ph = 230
  const body: string[] = [
    text(
      12,
      24,
      'Growth: ops/s as the table, the pool and the callers grow',
      'font-size="15" font-weight="600"',
    ),
  ]
  const ids = [...new Set(result.growth.map((g) => g.subject))]
  ids.forEach((id, i) => {
    const x = 12 + i * 200
    body.push(
      rect(x, 36, 12, 8, COLOURS[i % COLOURS.length]!),
      text(x + 16, 44, labelOf(result, id)),
    )
  })
  PANELS.forEach((panel, p) => {
    const ox = 12 + (p % 2) * (pw + 20)
    const oy = 60 + Math.floor(p / 2) * (ph + 20)
    const rows = result.growth.filter(
      (g) => g.dimension === panel.dimension && g.workload === panel.workload,
    )
    body.push(
      `<rect x="${ox}" y="${oy}" width="${pw}" height="${ph}" fill="none" stroke="#e5e7eb"/>`,
    )
    body.push(text(ox + 8, oy + 18, panel.title, 'font-weight="600"'))
    if (rows.length === 0) return
    const values = [...new Set(rows.map((r) => r.value))].sort((a, b) => a - b)
    const max = Math.max(...rows.map((r) => r.opsPerSec)) * 1.1
    const left = ox + 56
    const right = ox + pw - 20
    const top = oy + 32
    const bottom = oy + ph - 28
    const xAt = (i: number) =>
      values.length === 1 ? (left + right) / 2 : left + ((right - left) * i) / (values.length - 1)
    const yAt = (v: number) => bottom - ((bottom - top) * v) / max
    for (const f of [0, 0.5, 1]) {
      body.push(
        `<line x1="${left}" y1="${yAt(max * f).toFixed(1)}" x2="${right}" y2="${yAt(max * f).toFixed(1)}" stroke="#f3f4f6"/>`,
      )
      body.push(
        text(
          left - 6,
          yAt(max * f) + 4,
          formatOps(max * f),
          'text-anchor="end" font-size="10" fill="#6b7280"',
        ),
      )
    }
    values.forEach((v, i) => {
      body.push(
        text(
          xAt(i),
          bottom + 16,
          formatCount(v),
          'text-anchor="middle" font-size="10" fill="#6b7280"',
        ),
      )
    })
    ids.forEach((id, s) => {
      const pts = values
        .map((v, i) => {
          const row = rows.find((r) => r.subject === id && r.value === v)
          return row === undefined
            ? undefined
            : `${xAt(i).toFixed(1)},${yAt(row.opsPerSec).toFixed(1)}`
        })
        .filter((pt): pt is string => pt !== undefined)
      if (pts.length === 0) return
      const colour = COLOURS[s % COLOURS.length]!
      body.push(
        `<polyline points="${pts.join(' ')}" fill="none" stroke="${colour}" stroke-width="2"/>`,
      )
      for (const pt of pts) {
        const [cx, cy] = pt.split(',')
        body.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${colour}"/>`)
      }
    })
  })
  const h = 60 + 2 * (ph + 20)
  body.push(
    text(
      12,
      h + 4,
      `${result.mode} run · ${result.startedAt} · Node ${result.environment.node}`,
      'font-size="10" fill="#6b7280"',
    ),
  )
  return svg(2 * pw + 44, h + 16, body)
}

function labelOf(result: BenchResult, id: string): string {
  return result.subjects.find((s) => s.id === id)?.label ?? id
}
