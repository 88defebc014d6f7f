/**
 * `pnpm bench [--quick] [--suite throughput,contention,growth] [--subject id,…] [--workload id,…]`
 *
 * Runs the suites in this one process (so ratios are comparable), prints a progress line and the
 * result tables, and writes JSON, Markdown and SVG under `results/`: `latest.*` for a full run,
 * `latest-quick.*` (git-ignored) for `--quick`. Exits 1 when a subject errors or a verification
 * fails — never because of a timing.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { contentionSteps, runContentionSuite } from './contention.bench.js'
import type { SuiteContext } from './context.js'
import { environment } from './env.js'
import { Fixtures } from './fixture.js'
import { growthSteps, runGrowth } from './growth.bench.js'
import { type KyselyRow, kyselySteps, runKyselySuite } from './kysely.bench.js'
import { Progress } from './progress.js'
import { renderMarkdown } from './report/markdown.js'
import { contentionSvg, growthSvg, throughputSvg } from './report/svg.js'
import { renderTerminal } from './report/table.js'
import type {
  BenchResult,
  BusyCell,
  ContentionRow,
  Failure,
  GrowthRow,
  ThroughputRow,
} from './results.js'
import { FULL, QUICK } from './settings.js'
import { BASELINE, pickSubjects } from './subjects/index.js'
import { runThreadsSuite, type ThreadsResult, threadsSteps } from './threads.bench.js'
import { runThroughput, throughputSteps } from './throughput.bench.js'
import { WORKLOADS, type WorkloadId, workload } from './workloads.js'

const SUITES = ['throughput', 'contention', 'growth', 'kysely', 'threads'] as const
type Suite = (typeof SUITES)[number]

const NOTES = [
  'litepool moves WAL checkpoints off the commit path by design (wal_autocheckpoint = 0; the pool checkpoints when idle or on a schedule; DESIGN.md, “Keep WAL checkpoints off the commit path”). The raw drivers and the peers keep SQLite’s default auto-checkpoint (1000 pages), which runs inside whichever commit crosses the threshold: write-heavy cells include that cost for them and not for litepool. “raw better-sqlite3, no auto-checkpoint” turns it off (nothing checkpoints while it runs) to separate the two effects.',
  'pool.write() is a BEGIN IMMEDIATE … COMMIT transaction (decision 0004); the raw baseline for single inserts is an autocommit insert, as issue #4 asks.',
  `Every timed sample runs a batch of operations (sequentially, or from N concurrent async callers pulling from one counter); ops/s = operations ÷ mean sample time. Cells run in rounds (full mode: ${FULL.rounds}) with the subjects interleaved in a rotating order, and each figure is the median round; a ratio is the median of the per-round ratios, so drift of a shared machine between rounds cancels out.`,
  'Every result is verified: point selects check the returned id, range selects the row count and bounds; after each cell the file is re-read with a separate connection and must hold the seed rows plus every row the subject reported written; the contention counter must equal the committed increments.',
  'The node:sqlite subjects run the @photostructure/sqlite shim on Node 20 (node:sqlite is built in from Node 22.13).',
]

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      suite: { type: 'string' },
      subject: { type: 'string' },
      workload: { type: 'string' },
      out: { type: 'string' },
      render: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    process.stdout.write(
      `usage: pnpm bench [--quick] [--suite ${SUITES.join(',')}] [--subject id,…] [--workload ${WORKLOADS.map((w) => w.id).join(',')}] [--out dir]\n       pnpm bench --render results/latest.json   (rewrite the Markdown and SVG from a JSON file)\n`,
    )
    return 0
  }
  if (values.render !== undefined) {
    const file = resolve(values.render)
    const result = JSON.parse(readFileSync(file, 'utf8')) as BenchResult
    const written = writeReports(result, dirname(file), basename(file, '.json'), false)
    process.stdout.write(`${renderTerminal(result)}\nrewritten: ${written}\n`)
    return 0
  }
  const list = (v: string | undefined) =>
    v
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean)
  const suites = (list(values.suite) ?? [...SUITES]) as Suite[]
  for (const s of suites)
    if (!SUITES.includes(s))
      throw new RangeError(`unknown suite ${s} (known: ${SUITES.join(', ')})`)
  const settings = values.quick ? QUICK : FULL
  const subjects = pickSubjects(list(values.subject))
  const workloads = (list(values.workload) as WorkloadId[] | undefined)?.map(workload) ?? WORKLOADS
  const partial =
    values.suite !== undefined || values.subject !== undefined || values.workload !== undefined
  const outDir = values.out ?? fileURLToPath(new URL('../results/', import.meta.url))
  const stem = `latest${values.quick ? '-quick' : ''}${partial ? '-partial' : ''}`

  const plan = { settings, subjects, workloads }
  const steps =
    (suites.includes('throughput') ? throughputSteps(plan) : 0) +
    (suites.includes('contention') ? contentionSteps(plan) : 0) +
    (suites.includes('growth') ? growthSteps(plan) : 0) +
    (suites.includes('kysely') ? kyselySteps(plan) : 0) +
    (suites.includes('threads') ? threadsSteps(plan) : 0)
  const progress = new Progress(steps)
  const fixtures = new Fixtures()
  const failures: Failure[] = []
  const busy: BusyCell[] = []
  const ctx: SuiteContext = { settings, subjects, workloads, fixtures, progress, failures, busy }
  const started = Date.now()
  const startedAt = new Date(started).toISOString().replace(/\.\d+Z$/, 'Z')
  process.stderr.write(
    `litepool bench: ${settings.mode} mode, ${subjects.length} subjects, suites ${suites.join(', ')}; temp files in ${fixtures.dir}\n`,
  )
  const env = await environment()

  let throughput: ThroughputRow[] = []
  let contention: ContentionRow[] = []
  let growth: GrowthRow[] = []
  let kysely: KyselyRow[] = []
  let threads: ThreadsResult | undefined
  try {
    if (suites.includes('throughput')) throughput = await runThroughput(ctx)
    if (suites.includes('contention')) contention = await runContentionSuite(ctx)
    if (suites.includes('growth')) growth = await runGrowth(ctx)
    if (suites.includes('kysely')) kysely = await runKyselySuite(ctx)
    if (suites.includes('threads')) threads = await runThreadsSuite(ctx)
  } finally {
    fixtures.dispose()
  }
  progress.finish(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`)

  const result: BenchResult = {
    schema: 1,
    mode: settings.mode,
    startedAt,
    durationMs: Date.now() - started,
    environment: env,
    settings: { ...settings, suites },
    baseline: BASELINE.id,
    subjects: subjects.map(({ id, label, family, driver, config }) => ({
      id,
      label,
      family,
      driver,
      config,
    })),
    workloads: workloads.map(({ id, label, description }) => ({ id, label, description })),
    throughput,
    contention,
    growth,
    kysely,
    ...(threads === undefined ? {} : { threads }),
    busy,
    failures,
    notes: NOTES,
  }
  const written = writeReports(result, outDir, stem, true)
  process.stdout.write(`\n${renderTerminal(result)}\n`)
  process.stdout.write(`results: ${written}\n`)
  if (failures.length > 0) {
    process.stderr.write(
      `${failures.length} failure(s): a subject errored or a verification failed (see above)\n`,
    )
    return 1
  }
  return 0
}

/** Writes the JSON (when asked), the Markdown and the SVG charts; returns a glob naming them. */
function writeReports(result: BenchResult, outDir: string, stem: string, json: boolean): string {
  mkdirSync(outDir, { recursive: true })
  const files = {
    throughput: `${stem}.svg`,
    contention: `${stem}.contention.svg`,
    growth: `${stem}.growth.svg`,
  }
  if (json) writeFileSync(join(outDir, `${stem}.json`), `${JSON.stringify(result, null, 2)}\n`)
  writeFileSync(join(outDir, `${stem}.md`), renderMarkdown(result, files))
  writeFileSync(join(outDir, files.throughput), throughputSvg(result))
  if (result.contention.length > 0) {
    writeFileSync(join(outDir, files.contention), contentionSvg(result))
  }
  if (result.growth.length > 0) writeFileSync(join(outDir, files.growth), growthSvg(result))
  return join(outDir, `${stem}.{json,md,svg}`)
}

main().then(
  (code) => {
    process.exitCode = code
    // A subject that hung (and was given up on) may still hold handles: do not wait for it.
    setTimeout(() => process.exit(code), 2000).unref()
  },
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error)?.stack ?? String(error)}\n`)
    process.exitCode = 1
  },
)
