import { describe, expect, it } from 'vitest'
import { contentionScope, formatCount, formatMs, formatOps, formatRatio } from './format.js'
import { mdTable, renderMarkdown } from './markdown.js'
import { headlines, kyselyRatio, missingCell, ratio, subjectsIn } from './ratios.js'
import { contentionSvg, esc, growthSvg, throughputSvg } from './svg.js'
import { renderTerminal, textTable } from './table.js'
import { cellRow, sampleResult } from './testing.js'

const charts = {
  throughput: 'latest.svg',
  contention: 'latest.contention.svg',
  growth: 'latest.growth.svg',
}

describe('format', () => {
  it('abbreviates ops/s, ratios, milliseconds and counts', () => {
    expect(formatOps(1_234_567)).toBe('1.23M')
    expect(formatOps(45_678)).toBe('45.7k')
    expect(formatOps(40_000)).toBe('40k')
    expect(formatOps(512.4)).toBe('512')
    expect(formatOps(Number.NaN)).toBe('–')
    expect(formatRatio(0.8734)).toBe('0.87×')
    expect(formatRatio(undefined)).toBe('–')
    expect(formatMs(0.0421)).toBe('0.042')
    expect(formatMs(12.34)).toBe('12.3')
    expect(formatMs(5012.4)).toBe('5012')
    expect(formatCount(1_000_000)).toBe('1M')
    expect(formatCount(10_000)).toBe('10k')
    expect(formatCount(1024)).toBe('1024')
  })

  it('names the contention scope and the hand-written BEGIN IMMEDIATE variant', () => {
    expect(contentionScope({ scope: 'in-process', processes: 1, begin: 'BEGIN by hand' })).toBe(
      'in-process',
    )
    expect(
      contentionScope({ scope: 'cross-process', processes: 3, begin: 'BEGIN IMMEDIATE by hand' }),
    ).toBe('3 processes, BEGIN IMMEDIATE')
  })
})

describe('ratios', () => {
  const result = sampleResult()

  it('divides ops/s within the same cell only', () => {
    expect(
      ratio(result.throughput, 'litepool-better-sqlite3', 'raw-better-sqlite3', 'point-select', 1),
    ).toBeCloseTo(0.9)
    expect(
      ratio(result.throughput, 'litepool-better-sqlite3', 'raw-better-sqlite3', 'point-select', 32),
    ).toBeUndefined()
  })

  it('pairs rounds that ran side by side, so drift between rounds cancels out', () => {
    const row = (subject: string, rounds: number[]) => ({
      workload: 'point-select' as const,
      callers: 1,
      subject,
      opsPerSec: rounds[2]!,
      rounds,
      rme: 1,
      samples: 5,
      batch: 512,
      latencyUs: 1,
    })
    // The machine sped up after round 2 (and 'a' stumbled once in round 3): medians alone say 0.4×.
    const rows = [row('a', [40, 40, 40, 80, 80]), row('b', [50, 50, 100, 100, 100])]
    expect(ratio(rows, 'a', 'b', 'point-select', 1)).toBeCloseTo(0.8)
  })

  it('holds the issue #4 targets: ≥ 0.85× for reads, ≥ 0.90× for single inserts', () => {
    const byLabel = Object.fromEntries(headlines(result).map((h) => [h.label, h]))
    expect(byLabel['pool.read(get) vs raw stmt.get']).toMatchObject({ target: 0.85, met: true })
    expect(byLabel['pool.write(insert) vs raw autocommit insert']).toMatchObject({
      target: 0.9,
      met: false,
    })
    expect(byLabel['generic-pool get vs raw stmt.get']?.ratio).toBeCloseTo(0.7)
    expect(byLabel['generic-pool get vs raw stmt.get']?.met).toBeUndefined()
    expect(byLabel['tarn get vs raw stmt.get']?.ratio).toBeUndefined()
  })

  it('tells a BUSY cell from a failed one and from one that did not run', () => {
    const failed = sampleResult({
      failures: [
        { suite: 'throughput', subject: 'generic-pool', where: 'insert ×1 close', message: 'x' },
      ],
    })
    expect(missingCell(failed, 'sqlite-pool', 'batch-insert', 32)).toBe('BUSY')
    expect(missingCell(failed, 'generic-pool', 'insert', 1)).toBe('FAIL')
    expect(missingCell(failed, 'generic-pool', 'insert', 128)).toBe('–')
    expect(subjectsIn(failed, 'batch-insert').map((s) => s.id)).toEqual([
      'litepool-better-sqlite3',
      'raw-better-sqlite3',
      'sqlite-pool',
    ])
  })
})

describe('kysely (issue #7)', () => {
  it('holds the dialect to 10 % single-caller overhead and higher throughput beside a slow read', () => {
    const result = sampleResult({
      throughput: [
        ...sampleResult().throughput,
        cellRow('kysely', 'point-select', 1, 30_000),
        cellRow('kysely-litepool', 'point-select', 1, 28_500),
      ],
      kysely: [
        {
          scenario: 'stream',
          subject: 'kysely',
          callers: 8,
          opsPerSec: 2_000,
          slowPerSec: 3,
          rounds: [2_000],
        },
        {
          scenario: 'stream',
          subject: 'kysely-litepool',
          callers: 8,
          opsPerSec: 9_000,
          slowPerSec: 3,
          rounds: [9_000],
        },
        {
          scenario: 'snapshot',
          subject: 'kysely',
          callers: 8,
          opsPerSec: 5_000,
          slowPerSec: 50,
          rounds: [5_000],
        },
        {
          scenario: 'snapshot',
          subject: 'kysely-litepool',
          callers: 8,
          opsPerSec: 5_000,
          slowPerSec: 60,
          rounds: [5_000],
        },
      ],
    })
    const byLabel = Object.fromEntries(headlines(result).map((h) => [h.label, h]))
    expect(byLabel['Kysely, 1 caller: LitepoolDialect vs SqliteDialect select']).toMatchObject({
      met: true,
    })
    expect(
      byLabel['Kysely, 8 callers + slow stream(): LitepoolDialect vs SqliteDialect']?.ratio,
    ).toBeCloseTo(4.5)
    // Equal is not "higher throughput".
    expect(
      byLabel['Kysely, 8 callers + slow read transaction: LitepoolDialect vs SqliteDialect'],
    ).toMatchObject({
      ratio: 1,
      met: false,
    })
    expect(kyselyRatio(result.kysely ?? [], 'stream')).toBeCloseTo(4.5)
    const md = renderMarkdown(result, charts)
    expect(md).toContain('## Kysely (issue #7)')
    expect(md).toMatch(/\| stream \| Kysely LitepoolDialect \| 9k \| 3 \| 4\.50× \|/)
    expect(md).toContain('> 1.00×')
    expect(renderTerminal(result)).toContain('kysely — 7 point-select callers + 1 slow read')
  })

  it('leaves the Kysely lines out of results written before the suite existed', () => {
    const { kysely: _, ...old } = sampleResult()
    expect(headlines(old).some((h) => h.label.startsWith('Kysely'))).toBe(false)
    expect(renderMarkdown(old, charts)).not.toContain('## Kysely')
  })
})

describe('markdown', () => {
  it('escapes pipes in table cells', () => {
    expect(mdTable(['a', 'b'], [['x|y', 'z']])).toBe('| a | b |\n| --- | --- |\n| x\\|y | z |')
  })

  it('renders the headline, ratio tables, BUSY cells, contention and chart links', () => {
    const md = renderMarkdown(sampleResult(), charts)
    expect(md).toContain('# litepool benchmark (quick run)')
    expect(md).toMatch(/\| pool\.read\(get\) vs raw stmt\.get \| 0\.90× \| ≥ 0\.85× \| met \|/)
    expect(md).toMatch(
      /\| pool\.write\(insert\) vs raw autocommit insert \| 0\.80× \| ≥ 0\.90× \| \*\*not met\*\* \|/,
    )
    expect(md).toContain('| litepool (better-sqlite3) | 0.90× (360k/s) |')
    expect(md).toContain('| generic-pool \\| better-sqlite3 | 0.70× (280k/s) |')
    expect(md).toContain('| @matteo.collina/sqlite-pool | – | BUSY |')
    expect(md).toContain('## SQLITE_BUSY from peers')
    expect(md).toContain('5003')
    expect(md).toContain('![throughput ratios](latest.svg)')
    expect(md).toContain('![contention](latest.contention.svg)')
    expect(md).not.toContain('## Failures')
  })

  it('lists failures first when there are any', () => {
    const md = renderMarkdown(
      sampleResult({
        failures: [
          {
            suite: 'throughput',
            subject: 'tarn',
            where: 'insert ×1',
            message: 'verification: 10 rows',
          },
        ],
      }),
      charts,
    )
    expect(md).toContain('## Failures')
    expect(md.indexOf('## Failures')).toBeLessThan(md.indexOf('## Headline'))
  })
})

describe('svg', () => {
  /** Every element that opens is closed (or self-closing), and no raw `&`/`<` leaks from text. */
  function wellFormed(svg: string): void {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    const open = (svg.match(/<(svg|text|g)\b[^>]*[^/]>/g) ?? []).length
    const close = (svg.match(/<\/(svg|text|g)>/g) ?? []).length
    expect(open).toBe(close)
    for (const m of svg.matchAll(/>([^<]*)</g)) expect(m[1]).not.toMatch(/&(?!amp;|lt;|gt;|quot;)/)
  }

  it('escapes text', () => {
    expect(esc('a < b & "c" > d')).toBe('a &lt; b &amp; &quot;c&quot; &gt; d')
  })

  it('draws well-formed charts with one bar label per measured ratio and the BUSY cell named', () => {
    const result = sampleResult()
    const t = throughputSvg(result)
    wellFormed(t)
    expect(t).toContain('0.90×')
    expect(t).toContain('failed: SQLITE_BUSY')
    expect(t).toContain('stroke-dasharray') // the 1.0× line
    const c = contentionSvg(result)
    wellFormed(c)
    expect(c).toContain('max 5003 ms · 3 BUSY')
    const g = growthSvg(result)
    wellFormed(g)
    expect(g).toContain('<polyline')
  })
})

describe('terminal', () => {
  it('aligns columns and shows ratios, BUSY and the headline', () => {
    expect(textTable(['a', 'bb'], [['xyz', '1']])).toBe('a    bb\n───  ──\nxyz   1')
    const out = renderTerminal(sampleResult())
    expect(out).toContain('360k 0.90×')
    expect(out).toContain('BUSY')
    expect(out).toContain('≥ 0.85× met')
    expect(out).toContain('≥ 0.90× NOT MET')
  })
})
