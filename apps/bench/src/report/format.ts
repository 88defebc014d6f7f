/** Number formatting shared by the terminal table, the Markdown and the SVG charts. */

/** 1234567 → "1.23M", 45678 → "45.7k", 512 → "512". */
export function formatOps(value: number): string {
  if (!Number.isFinite(value)) return '–'
  const abs = Math.abs(value)
  if (abs >= 1e6) return `${trim((value / 1e6).toPrecision(3))}M`
  if (abs >= 1e3) return `${trim((value / 1e3).toPrecision(3))}k`
  if (abs >= 100) return String(Math.round(value))
  return trim(value.toPrecision(3))
}

/** 0.8734 → "0.87×". */
export function formatRatio(ratio: number | undefined): string {
  return ratio === undefined || !Number.isFinite(ratio) ? '–' : `${ratio.toFixed(2)}×`
}

/** Milliseconds with sensible precision: 0.0421 → "0.042", 12.34 → "12.3", 5012 → "5012". */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '–'
  if (ms >= 100) return String(Math.round(ms))
  if (ms >= 10) return ms.toFixed(1)
  if (ms >= 1) return ms.toFixed(2)
  return trim(ms.toPrecision(2))
}

/** 100000 → "100k", 1000000 → "1M" (table sizes and counts in labels). */
export function formatCount(value: number): string {
  if (value >= 1e6 && value % 1e6 === 0) return `${value / 1e6}M`
  if (value >= 1e3 && value % 1e3 === 0) return `${value / 1e3}k`
  return String(value)
}

function trim(text: string): string {
  return text.includes('.') && !text.includes('e') ? text.replace(/\.?0+$/, '') : text
}

/** "in-process", "3 processes", plus "BEGIN IMMEDIATE" for the hand-written immediate variant. */
export function contentionScope(row: {
  readonly scope: string
  readonly processes: number
  readonly begin: string
}): string {
  const scope = row.scope === 'in-process' ? 'in-process' : `${row.processes} processes`
  return row.begin === 'BEGIN IMMEDIATE by hand' ? `${scope}, BEGIN IMMEDIATE` : scope
}
