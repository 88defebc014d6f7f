#!/usr/bin/env node
// Type-checks the TSDoc examples, run by `pnpm lint` (`pnpm check:examples` alone). Our standard:
// every ```ts block after an `@example` tag in packages/*/src/**/*.ts (tests and test-utils
// excluded) compiles against the current API.
//
// Each example becomes its own module in apps/docs-site/.examples-check/ (so `@litepool/*`
// resolves through the docs site, which depends on every package, to the built dist/ types),
// prefixed by its package's PREAMBLE below, and all of them are checked in one TypeScript
// program with the repo's compiler options (strict, NodeNext) minus the declaration-emit ones.
// Examples are fragments: the preamble imports the public exports they use and declares, with
// their real public types, the free identifiers they assume (`pool`, `c`, `db`, …). A preamble
// name the example declares or imports itself is dropped, so an example may bring its own
// imports. Examples of symbols a package does not export import them from the source file.
//
// Fails with `file:line (symbol): message` lines; the folder is removed afterwards (`--keep`
// keeps it, to open the generated modules in an editor).
// Plain Node ESM; its only dependency is the repo's `typescript`.

import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const packagesDir = join(root, 'packages')
const outDir = join(root, 'apps/docs-site/.examples-check')
const TEST = /\.(?:test|spec|bench)\.[cm]?[jt]sx?$/
/** Package sources, relative to the generated modules (for examples of non-exported symbols). */
const SRC = '../../../packages'

// One preamble per package: imports, then `declare`d stand-ins for the free identifiers its
// examples use. Real public types only, never `any`.
const PREAMBLE = {
  'pool-core': `
import { AcquireTimeoutError, CHANNELS, createPool, Pool, PoolManager, retryWhileBusy, trackAsyncContext } from '@litepool/pool-core'
import { betterSqlite3, type AsyncSqliteConnection, type SqliteConnection, type SqliteDriver } from '@litepool/driver-better-sqlite3'
import type { RoutedRead } from '@litepool/pool-core'
declare const pool: Pool<SqliteConnection, AsyncSqliteConnection>
declare const connection: SqliteConnection
declare const driver: SqliteDriver
declare const sql: string
declare const params: readonly number[]
declare function done(row: Record<string, unknown>): boolean
declare function somethingThatBindsAContextLater(): Promise<void>
`,
  'sqlite-base': `
import type { Pool } from '@litepool/pool-core'
import { BEGIN_SQL, CHECKPOINT_SQL, checkpointDue, runCheckpointWith, WorkerConnection, chooseCheckpointMode, nextCheckpointStep, classifySqliteError, connectionPragmas, createSqliteDriver, describeValue, PRAGMA_KEYWORD_PATTERN, PRAGMA_NAME_PATTERN, pragmaSql, quoteIdentifier, reclaimZombieHandles, resolveSqliteOptions, restoreConnection, runCheckpoint, SAVEPOINT_SQL, setupConnection, SQL, SQLITE_DEFAULTS, SQLITE_RESULT_CODES, SqliteConnection, sqliteCodeName, sqliteErrorKind, walSize } from '@litepool/sqlite-base'
import type { AsyncSqliteConnection, WorkerAdapterSpec, CheckpointMode, DefaultRow, NativeAdapter, NativeDatabase, NativeStatement, PragmaValue, ResolvedSqliteOptions, RunResult, SqliteDriver, SqliteDriverOptions, SqliteParams, SqliteStatement, SqliteValue } from '@litepool/sqlite-base'
import { betterSqlite3 } from '@litepool/driver-better-sqlite3'
declare const pool: Pool<SqliteConnection, AsyncSqliteConnection>
declare const worker: WorkerConnection
declare const w: AsyncSqliteConnection
declare function handle(row: DefaultRow): void
declare const c: SqliteConnection
declare const connection: SqliteConnection
declare const writer: SqliteConnection
declare const options: ResolvedSqliteOptions
declare const statement: SqliteStatement
declare const stmt: NativeStatement
declare const sql: string
declare const params: SqliteParams
declare const xs: readonly SqliteValue[]
declare function done(row: DefaultRow): boolean
declare class MyDb {
  constructor(filename: string, options: { readonly: boolean })
  readonly inTx: boolean
  prepare(sql: string): NativeStatement
  exec(sql: string): void
  close(): void
}
declare const raw: MyDb
declare const adapter: NativeAdapter<MyDb>
declare const myAdapter: NativeAdapter<MyDb>
declare function wrap(db: MyDb): NativeDatabase<MyDb>
declare function prepare(sql: string): NativeStatement
declare function exec(sql: string): void
declare function close(): void
`,
  'driver-better-sqlite3': `
import { createPool, type Pool } from '@litepool/pool-core'
import { betterSqlite3, betterSqlite3Adapter, type BetterSqlite3Database, type BetterSqlite3Options, type BetterSqlite3Statement, type SqliteConnection } from '@litepool/driver-better-sqlite3'
declare const pool: Pool<SqliteConnection<BetterSqlite3Database>>
declare const connection: SqliteConnection<BetterSqlite3Database>
`,
  'driver-node-sqlite': `
import { createPool, type Pool } from '@litepool/pool-core'
import { nodeSqlite, nodeSqliteAdapter, type NodeSqliteBackend, type NodeSqliteDatabase, type NodeSqliteDriver, type NodeSqliteOptions, type NodeSqliteStatement, type SqliteConnection } from '@litepool/driver-node-sqlite'
declare const pool: Pool<SqliteConnection<NodeSqliteDatabase>>
declare const connection: SqliteConnection<NodeSqliteDatabase>
`,
  'driver-testkit': `
import { expect } from 'vitest'
import type { Pool } from '@litepool/pool-core'
import type { SqliteConnection, SqliteDriver } from '@litepool/sqlite-base'
import { betterSqlite3 } from '@litepool/driver-better-sqlite3'
import { CONTRACT_SCENARIOS, countOpenFiles, countThreads, settlesTo, createScenarioContext, forkChild, gate, killAll, runDriverContract, runDriverStress, scenarios, STRESS_SCENARIOS, unknownGapKeys, within } from '@litepool/driver-testkit'
import type { Child, ChildResult, ContractOptions, DriverHarness, Gate, JsonValue, OpenFiles, Scenario, ScenarioContext } from '@litepool/driver-testkit'
import type { ChildMessage, ParentMessage } from '${SRC}/driver-testkit/src/protocol.js'
declare const pool: Pool<SqliteConnection>
declare const driver: SqliteDriver
declare const connection: SqliteConnection
declare const filename: string
declare const harness: DriverHarness
declare const scenario: Scenario
declare const t: ScenarioContext
declare const child: Child
declare const children: readonly Child[]
declare const release: Gate
declare const run: Scenario['run']
declare const before: number | undefined
`,
  kysely: `
import { Kysely, type Generated } from 'kysely'
import { createPool, type Pool } from '@litepool/pool-core'
import type { SqliteConnection } from '@litepool/sqlite-base'
import { betterSqlite3 } from '@litepool/driver-better-sqlite3'
import { nodeSqlite } from '@litepool/driver-node-sqlite'
import { LitepoolAdapter, LitepoolDialect } from '@litepool/kysely'
import type { AbortOptions, DialectConnection, DialectPool, DialectStatement, DialectWorkerConnection, LitepoolDialectConfig } from '@litepool/kysely'
import type { AsyncSqliteConnection } from '@litepool/sqlite-base'
import { planRawSql } from '${SRC}/kysely/src/classify.js'
interface Database { person: { id: Generated<number>; name: string } }
declare const pool: Pool<SqliteConnection, AsyncSqliteConnection>
declare const connection: DialectConnection
declare const db: Kysely<Database>
`,
  migrate: `
import type { Pool } from '@litepool/pool-core'
import type { SqliteConnection } from '@litepool/sqlite-base'
import { betterSqlite3 } from '@litepool/driver-better-sqlite3'
import { createPool } from '@litepool/pool-core'
import { analyze, backupFileName, checksum, createMigrationFile, createMigrator, loadMigrations, MigrationError, normalizeText, parseFileName, parseSqlMigration, planDown, planUp, rebuildTableOnPool, restoreBackup, validationError } from '@litepool/migrate'
import type { Analysis, Migration, MigrationContext, MigrationModule, Migrator } from '@litepool/migrate'
import { parseCliArgs } from '${SRC}/migrate/src/cli-args.js'
import { runCli } from '${SRC}/migrate/src/cli-run.js'
import { readHistory } from '${SRC}/migrate/src/history.js'
import { importMigration } from '${SRC}/migrate/src/loader.js'
import type { TableSql } from '${SRC}/migrate/src/sql.js'
declare const pool: Pool<SqliteConnection>
declare const connection: SqliteConnection
declare const migrator: Migrator
declare const analysis: Analysis
declare const migration: Migration
declare const context: MigrationContext
declare const sql: TableSql
declare function stdout(text: string): void
declare function stderr(text: string): void
declare const env: Readonly<Record<string, string | undefined>>
declare const cwd: string
declare function slugify(title: string): string
`,
}

// ---- extraction -------------------------------------------------------------------------------

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) {
      if (entry.name !== 'test-utils' && entry.name !== 'node_modules') yield* walk(path)
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && !TEST.test(path)) {
      yield path
    }
  }
}

/** `Name` or `Container.name` of the declaration a doc comment belongs to. */
function declarationName(node) {
  const own = node.name && ts.isIdentifier(node.name) ? node.name.text : undefined
  let name = own
  if (ts.isVariableStatement(node)) {
    const first = node.declarationList.declarations[0]
    if (first && ts.isIdentifier(first.name)) name = first.name.text
  }
  if (!name && ts.isConstructorDeclaration(node)) name = 'constructor'
  const parent = node.parent
  if (name && parent && (ts.isClassLike(parent) || ts.isInterfaceDeclaration(parent))) {
    return `${parent.name?.text ?? '(anonymous)'}.${name}`
  }
  return name
}

/** Doc comments of `sourceFile` as [start, end, symbol] ranges. */
function docRanges(sourceFile) {
  const ranges = []
  const visit = (node) => {
    for (const doc of ts.getJSDocCommentsAndTags(node)) {
      if (ts.isJSDoc(doc)) ranges.push([doc.pos, doc.end, declarationName(node)])
    }
    ts.forEachChild(node, visit)
  }
  visit(sourceFile)
  return ranges
}

/** Every ```ts block after an `@example` tag: { line (1-based, first code line), code, symbol }. */
function extractExamples(file, text) {
  const sourceFile = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const ranges = docRanges(sourceFile)
  const lines = text.split('\n')
  const lineStarts = sourceFile.getLineStarts()
  const examples = []
  let inExample = false
  let fence
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]
    const inComment = /^\s*\*(?!\/)/.test(raw) || /^\s*\/\*\*/.test(raw)
    if (!inComment) {
      inExample = false
      fence = undefined
      continue
    }
    const content = raw.replace(/^\s*(?:\/\*\*\s?|\*\s?)/, '')
    if (fence) {
      if (/^\s*```\s*$/.test(content)) {
        examples.push(fence)
        fence = undefined
        inExample = false
      } else {
        fence.code.push(content)
      }
    } else if (/@example\b/.test(content)) {
      inExample = true
    } else if (inExample && /^\s*```(?:ts|typescript)\s*$/.test(content)) {
      const offset = lineStarts[i]
      const range = ranges.find(([start, end]) => start <= offset && offset < end)
      fence = { line: i + 2, code: [], symbol: range?.[2] }
    } else if (inExample && /^\s*@\w/.test(content)) {
      inExample = false
    }
  }
  return examples.map((e) => ({ ...e, code: e.code.join('\n') }))
}

// ---- preamble pruning -------------------------------------------------------------------------

function bindingNames(name, into) {
  if (ts.isIdentifier(name)) into.add(name.text)
  else
    for (const element of name.elements)
      if (!ts.isOmittedExpression(element)) bindingNames(element.name, into)
}

/** Names an example declares at its top level (imports included). */
function topLevelNames(code) {
  const names = new Set()
  const sourceFile = ts.createSourceFile('x.ts', code, ts.ScriptTarget.Latest, true)
  for (const statement of sourceFile.statements) {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause
      if (clause?.name) names.add(clause.name.text)
      const bindings = clause?.namedBindings
      if (bindings && ts.isNamespaceImport(bindings)) names.add(bindings.name.text)
      if (bindings && ts.isNamedImports(bindings))
        for (const el of bindings.elements) names.add(el.name.text)
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations)
        bindingNames(declaration.name, names)
    } else if (statement.name && ts.isIdentifier(statement.name)) {
      names.add(statement.name.text)
    }
  }
  return names
}

/** The preamble without what `taken` already declares. */
function prunedPreamble(preamble, taken) {
  const sourceFile = ts.createSourceFile('preamble.ts', preamble, ts.ScriptTarget.Latest, true)
  const out = []
  for (const statement of sourceFile.statements) {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause
      const bindings = clause?.namedBindings
      if (!clause || !bindings || !ts.isNamedImports(bindings)) {
        out.push(statement.getText(sourceFile))
        continue
      }
      const kept = bindings.elements.filter((el) => !taken.has(el.name.text))
      if (kept.length === 0) continue
      const specifiers = kept.map((el) => el.getText(sourceFile)).join(', ')
      const from = statement.moduleSpecifier.getText(sourceFile)
      out.push(`import ${clause.isTypeOnly ? 'type ' : ''}{ ${specifiers} } from ${from}`)
    } else if (ts.isVariableStatement(statement)) {
      const names = new Set()
      for (const declaration of statement.declarationList.declarations)
        bindingNames(declaration.name, names)
      if (![...names].some((n) => taken.has(n))) out.push(statement.getText(sourceFile))
    } else if (!(statement.name && taken.has(statement.name.text))) {
      out.push(statement.getText(sourceFile))
    }
  }
  return out.join('\n')
}

// ---- check ------------------------------------------------------------------------------------

const examples = []
const files = new Set()
for (const pkg of readdirSync(packagesDir, { withFileTypes: true })) {
  if (!pkg.isDirectory() || !existsSync(join(packagesDir, pkg.name, 'src'))) continue
  for (const file of walk(join(packagesDir, pkg.name, 'src'))) {
    const text = readFileSync(file, 'utf8')
    if (!text.includes('@example')) continue
    for (const example of extractExamples(file, text)) {
      examples.push({ ...example, pkg: pkg.name, file: relative(root, file) })
      files.add(file)
    }
  }
}

rmSync(outDir, { recursive: true, force: true })
mkdirSync(join(outDir, 'node_modules'), { recursive: true })
// Peer dependencies the docs site does not list resolve to the copy their package uses.
for (const [name, via] of [['kysely', 'packages/kysely']]) {
  symlinkSync(join(root, via, 'node_modules', name), join(outDir, 'node_modules', name), 'junction')
}

const problems = []
const modules = new Map()
examples.forEach((example, index) => {
  const preamble = PREAMBLE[example.pkg]
  if (preamble === undefined) {
    problems.push(`${example.file}:${example.line}: no preamble for package ${example.pkg}`)
    return
  }
  const head = prunedPreamble(preamble, topLevelNames(example.code))
  const headLines = head.split('\n').length
  const path = join(outDir, `${example.pkg}-${String(index).padStart(3, '0')}.ts`)
  // `;` ends the preamble's last declaration; `export {}` keeps an example without imports a module (top-level await, no global clashes).
  writeFileSync(path, `${head};\n${example.code}\nexport {}\n`)
  modules.set(path, { ...example, headLines })
})

try {
  const base = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.base.json'),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  )
  const options = {
    ...base.options,
    noEmit: true,
    declaration: false,
    isolatedDeclarations: false,
    noUnusedLocals: false,
    noUnusedParameters: false,
    types: ['node'],
    typeRoots: [join(root, 'node_modules/@types')],
  }
  const program = ts.createProgram([...modules.keys()], options)
  const format = (d) => ts.flattenDiagnosticMessageText(d.messageText, '\n  ')
  for (const d of program.getOptionsDiagnostics()) problems.push(`tsconfig: ${format(d)}`)
  for (const d of program.getGlobalDiagnostics()) problems.push(`global: ${format(d)}`)
  for (const [path, example] of modules) {
    const sourceFile = program.getSourceFile(path)
    const diagnostics = [
      ...program.getSyntacticDiagnostics(sourceFile),
      ...program.getSemanticDiagnostics(sourceFile),
    ]
    for (const d of diagnostics) {
      const line =
        d.start === undefined ? 0 : sourceFile.getLineAndCharacterOfPosition(d.start).line
      const where =
        line < example.headLines
          ? `${example.file}:${example.line} (preamble of ${example.pkg}, line ${line + 1})`
          : `${example.file}:${example.line + line - example.headLines}`
      const symbol = example.symbol ? ` (${example.symbol})` : ''
      problems.push(`${where}${symbol}: ${format(d)}`)
    }
  }
} finally {
  if (!process.argv.includes('--keep')) rmSync(outDir, { recursive: true, force: true })
}

if (problems.length > 0) {
  for (const problem of problems) console.error(problem)
  console.error(`check-examples: ${problems.length} problem(s) in ${examples.length} examples`)
  process.exit(1)
}
console.log(`check-examples: ${examples.length} examples in ${files.size} files compile`)
