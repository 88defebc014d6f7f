import type { CompiledQuery } from 'kysely'

/**
 * Where a query issued outside a transaction runs:
 * - `read`: `pool.read`, on a reader connection (in parallel with other reads);
 * - `write`: `pool.write`, in a `BEGIN IMMEDIATE` transaction on the writer lane;
 * - `session`: the writer in autocommit mode (`pool.acquire({ role: 'writer' })`), for statements
 *   that cannot run inside a transaction or that touch connection state (VACUUM, PRAGMA, ATTACH);
 * - `refuse`: transaction control written as SQL, which a pooled session cannot honour.
 */
export type Route = 'read' | 'write' | 'session' | 'refuse'

/** How a statement is stepped: `rows` with `all()`, `changes` with `run()` (affected rows, rowid). */
export type Shape = 'rows' | 'changes'

/** Where a query runs and how it is stepped. */
export interface Plan {
  readonly route: Route
  readonly shape: Shape
}

const plan = (route: Route, shape: Shape): Plan => Object.freeze({ route, shape })
const READ: Plan = plan('read', 'rows')
const WRITE_ROWS: Plan = plan('write', 'rows')
const WRITE_CHANGES: Plan = plan('write', 'changes')
const SESSION_ROWS: Plan = plan('session', 'rows')
const SESSION_CHANGES: Plan = plan('session', 'changes')
const REFUSE: Plan = plan('refuse', 'changes')

interface QueryNodeShape {
  readonly kind: string
  readonly returning?: unknown
  readonly explain?: unknown
}

/**
 * Plans a compiled Kysely query from its operation node: selects read, data changes write (and
 * return rows only with `returning`), schema changes write; raw SQL goes through
 * {@link planRawSql}, which sends anything it cannot prove read-only to the writer.
 */
export function planQuery(compiled: CompiledQuery): Plan {
  const node = compiled.query as QueryNodeShape
  switch (node.kind) {
    case 'SelectQueryNode':
      return READ
    case 'InsertQueryNode':
    case 'UpdateQueryNode':
    case 'DeleteQueryNode':
    case 'MergeQueryNode':
      if (node.explain !== undefined) return READ
      return node.returning === undefined ? WRITE_CHANGES : WRITE_ROWS
    case 'RawNode':
      return planRawSql(compiled.sql)
    default:
      return WRITE_CHANGES // schema builders: CREATE, DROP, ALTER…
  }
}

/** Pragmas that only read, with or without an argument (a table or index name, a row limit). */
const READ_PRAGMAS_WITH_ARGUMENT = new Set([
  'table_info',
  'table_xinfo',
  'table_list',
  'index_list',
  'index_info',
  'index_xinfo',
  'foreign_key_list',
  'foreign_key_check',
  'integrity_check',
  'quick_check',
])

/** Pragmas that read a database-wide value when given no argument (with one, they set it). */
const READ_PRAGMAS_BARE = new Set([
  'database_list',
  'collation_list',
  'function_list',
  'module_list',
  'pragma_list',
  'compile_options',
  'user_version',
  'schema_version',
  'application_id',
  'page_count',
  'page_size',
  'freelist_count',
  'encoding',
  'journal_mode',
])

/** Data-changing keywords inside a `WITH …` statement (`replace(…)` the function does not count). */
const WRITE_IN_WITH = /\b(?:insert|update|delete)\b|\breplace\s+into\b/i
const RETURNING = /\breturning\b/i
const MORE_STATEMENTS = /;\s*\S/
const PRAGMA = /^pragma\s+(?:\w+\s*\.\s*)?(\w+)\s*([=(])?/i

const rawPlans = new Map<string, Plan>()
const RAW_PLAN_CACHE = 500

/**
 * Plans raw SQL (`sql\`…\`.execute(db)`, `CompiledQuery.raw`). Comments, string literals and quoted
 * identifiers are ignored. Reads (`SELECT`, `VALUES`, read-only `WITH`, `EXPLAIN`, introspection
 * pragmas) go to readers; when unsure, the statement goes to the writer and its rows are kept.
 *
 * @example
 * ```ts
 * planRawSql('select * from t') // { route: 'read', shape: 'rows' }
 * planRawSql('vacuum') // { route: 'session', shape: 'changes' }
 * ```
 */
export function planRawSql(sql: string): Plan {
  let found = rawPlans.get(sql)
  if (found === undefined) {
    found = planStatement(blankOut(sql).trim())
    if (rawPlans.size >= RAW_PLAN_CACHE) rawPlans.clear()
    rawPlans.set(sql, found)
  }
  return found
}

function planStatement(code: string): Plan {
  if (MORE_STATEMENTS.test(code)) return WRITE_ROWS // several statements: never guess
  const keyword = /^[a-z]+/i.exec(code)?.[0].toLowerCase()
  switch (keyword) {
    case 'select':
    case 'values':
    case 'explain':
      return READ
    case 'with':
      return WRITE_IN_WITH.test(code) ? WRITE_ROWS : READ
    case 'pragma':
      return planPragma(code)
    case 'insert':
    case 'update':
    case 'delete':
    case 'replace':
      return RETURNING.test(code) ? WRITE_ROWS : WRITE_CHANGES
    case 'create':
    case 'drop':
    case 'alter':
    case 'reindex':
    case 'analyze':
      return WRITE_CHANGES
    case 'vacuum':
    case 'attach':
    case 'detach':
      return SESSION_CHANGES
    case 'begin':
    case 'commit':
    case 'end':
    case 'rollback':
    case 'savepoint':
    case 'release':
      return REFUSE
    default:
      return WRITE_ROWS
  }
}

function planPragma(code: string): Plan {
  const match = PRAGMA.exec(code)
  const name = match?.[1]?.toLowerCase() ?? ''
  const operator = match?.[2]
  if (operator !== '=' && READ_PRAGMAS_WITH_ARGUMENT.has(name)) return READ
  if (operator === undefined && READ_PRAGMAS_BARE.has(name)) return READ
  return SESSION_ROWS
}

/**
 * The SQL with comments, string literals and quoted identifiers replaced by one space each, so
 * keyword tests see only keywords.
 */
export function blankOut(sql: string): string {
  const parts: string[] = []
  let from = 0
  let i = 0
  const skip = (to: number) => {
    parts.push(sql.slice(from, i), ' ')
    i = to
    from = to
  }
  while (i < sql.length) {
    const ch = sql[i]
    const next = sql[i + 1]
    if (ch === '-' && next === '-') skip(endOf(sql.indexOf('\n', i + 2), sql.length))
    else if (ch === '/' && next === '*') skip(endOf(sql.indexOf('*/', i + 2), sql.length - 2) + 2)
    else if (ch === "'" || ch === '"' || ch === '`') skip(endOfQuoted(sql, i, ch))
    else if (ch === '[') skip(endOf(sql.indexOf(']', i + 1), sql.length - 1) + 1)
    else i++
  }
  parts.push(sql.slice(from))
  return parts.join('')
}

function endOf(index: number, fallback: number): number {
  return index < 0 ? fallback : index
}

/** Index just past a quoted token starting at `start`; a doubled quote is part of the token. */
function endOfQuoted(sql: string, start: number, quote: string): number {
  let at = start + 1
  for (;;) {
    const close = sql.indexOf(quote, at)
    if (close < 0) return sql.length
    if (sql[close + 1] !== quote) return close + 1
    at = close + 2
  }
}
