import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { DatabaseError, type Role } from '@litepool/pool-core'
import type { RunResult, SqliteParams } from '../adapter.js'
import { sqlExcerpt } from '../errors.js'
import type { CheckpointMode } from '../sql.js'
import { type DefaultRow, mayControlTransaction } from '../statement.js'
import type { AsyncSqliteConnection, IterateOptions } from './async-connection.js'
import {
  type Chunk,
  fromWire,
  type Reply,
  type Request,
  ROWS_PER_MESSAGE,
  type RowsMessage,
  type StartMessage,
  type WorkerStart,
} from './protocol.js'

/** Distributive `Omit`: a request without its id, for each op. */
type Unsent = Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never

interface Pending {
  readonly resolve: (value: unknown) => void
  readonly reject: (error: unknown) => void
  /** The statement, for the error when the worker dies under it. */
  readonly sql: string | undefined
  /** Earlier chunks of an `all` result. */
  rows: unknown[] | undefined
}

/** What a worker checkpoint reports (SQLite's `wal_checkpoint` row plus its duration in the worker). */
export interface WorkerCheckpoint {
  readonly busy: number
  readonly log: number
  readonly checkpointed: number
  readonly ms: number
}

/** `driverCode` of the error a caller gets when the worker thread under its query dies. */
export const WORKER_EXIT = 'LITEPOOL_WORKER_EXIT'

/** A pragma may change per-connection state, even inside a query. */
const PRAGMA = /\bPRAGMA\b/i

let script: URL | undefined
/** dist/worker.mjs beside this module; from src/ (coverage runs import sources) the built one. */
function workerScript(): URL {
  if (script !== undefined) return script
  const beside = new URL('./worker.mjs', import.meta.url)
  script = existsSync(fileURLToPath(beside))
    ? beside
    : new URL('../../dist/worker.mjs', import.meta.url)
  return script
}

/**
 * A reader connection that lives in its own worker thread, with its own native connection. The
 * main thread only posts SQL and parameters and receives rows, so a slow query never blocks the
 * event loop. The thread is kept referenced only while a request is in flight: an idle pool
 * never keeps the process alive. When the thread dies (crash, `process.exit`, termination),
 * every request in flight — and every later one — fails with a `DatabaseError` of kind
 * `broken` and `driverCode` {@link WORKER_EXIT}, after which the pool replaces the connection.
 *
 * @example
 * ```ts
 * const rows = await pool.read((w) => w.all('select * from big_report'), { thread: 'worker' })
 * ```
 */
export class WorkerConnection implements AsyncSqliteConnection {
  readonly thread = 'worker'
  readonly role: Role = 'reader'
  readonly filename: string
  readonly #worker: Worker
  readonly #pending = new Map<number, Pending>()
  readonly #exited: Promise<void>
  #nextId = 1
  #failure: string | undefined
  #closing = false
  /** Open `iterate` loops (the pool resets the connection when one is left open). */
  #cursors = 0
  /** A statement ran that may have left a transaction open or changed connection state. */
  #dirty = false
  /**
   * Requests posted whose reply has not come back, including those whose callers were already
   * told the connection failed: while it is above 0 the thread may be inside a statement.
   */
  #busy = 0
  #exitedYet = false
  #onIdle: (() => void)[] = []
  /** Whether the binding survives its thread being ended mid-statement (see `WorkerAdapterSpec`). */
  readonly #terminable: boolean

  private constructor(worker: Worker, start: WorkerStart, exited: Promise<void>) {
    this.#worker = worker
    this.filename = start.options.filename
    this.#terminable = start.adapter.terminable
    this.#exited = exited
    worker.on('message', (message: Reply | RowsMessage) => this.#receive(message))
    worker.on('error', (error: Error) => this.#fail(`threw ${error.message}`, error))
    worker.on('exit', (code: number) => {
      this.#exitedYet = true
      this.#fail(`exited with code ${code}`)
      this.#idle()
    })
    worker.unref()
  }

  /** Starts a worker thread and opens its connection; rejects (thread ended) when opening fails. */
  static async open(start: WorkerStart): Promise<WorkerConnection> {
    const worker = new Worker(workerScript(), { workerData: start })
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
    const started = await new Promise<StartMessage>((resolve) => {
      worker.once('message', resolve)
      worker.once('error', (error) =>
        resolve({ started: false, error: { message: error.message, code: 'LITEPOOL_ERROR' } }),
      )
      worker.once('exit', (code) =>
        resolve({
          started: false,
          error: { message: `the worker thread exited with code ${code}`, code: 'LITEPOOL_ERROR' },
        }),
      )
    })
    if (!started.started) {
      await worker.terminate()
      throw fromWire(started.error)
    }
    return new WorkerConnection(worker, start, exited)
  }

  /** The worker's thread id (diagnostics, tests). */
  get threadId(): number {
    return this.#worker.threadId
  }

  /** True once the thread has ended or failed: every request now fails. */
  get closed(): boolean {
    return this.#failure !== undefined
  }

  /**
   * Whether the pool must `reset` this connection before reuse: an iteration is still open, a
   * statement other than a plain query ran (it may have begun a transaction or set a pragma),
   * or the thread is gone (the reset then fails and the pool closes the connection).
   */
  get needsReset(): boolean {
    return this.#cursors > 0 || this.#dirty || this.closed
  }

  get<Row = DefaultRow>(sql: string, params?: SqliteParams): Promise<Row | undefined> {
    return this.#send({ op: 'get', sql, params }, sql) as Promise<Row | undefined>
  }

  all<Row = DefaultRow>(sql: string, params?: SqliteParams): Promise<Row[]> {
    return this.#send({ op: 'all', sql, params }, sql) as Promise<Row[]>
  }

  run(sql: string, params?: SqliteParams): Promise<RunResult> {
    return this.#send({ op: 'run', sql, params }, sql) as Promise<RunResult>
  }

  async exec(sql: string): Promise<void> {
    await this.#send({ op: 'exec', sql }, sql)
  }

  async *iterate<Row = DefaultRow>(
    sql: string,
    params?: SqliteParams,
    options?: IterateOptions,
  ): AsyncGenerator<Row, void, undefined> {
    const chunkSize = Math.max(1, Math.floor(options?.chunkSize ?? ROWS_PER_MESSAGE))
    let chunk = (await this.#send({ op: 'iterate', sql, params, chunkSize }, sql)) as Chunk
    const { cursor } = chunk
    this.#cursors++
    let ahead: Promise<unknown> | undefined
    try {
      for (;;) {
        // One chunk ahead: the worker steps the statement while this one is consumed.
        ahead = chunk.done ? undefined : this.#send({ op: 'next', cursor, chunkSize }, sql)
        ahead?.catch(() => undefined) // awaited below; unobserved only when the loop is left early
        for (const row of chunk.rows) yield row as Row
        if (ahead === undefined) return
        chunk = (await ahead) as Chunk
        ahead = undefined
      }
    } finally {
      this.#cursors--
      // Left early: end the statement in the worker (after the chunk in flight, in order).
      if (!chunk.done && !this.closed)
        await this.#send({ op: 'end', cursor }).catch(() => undefined)
    }
  }

  /** Cheap liveness check (`SELECT 1` in the worker). */
  async ping(): Promise<void> {
    await this.#send({ op: 'ping' })
  }

  /** Ends open iterations and undoes per-connection state (see `restoreConnection`). */
  async reset(): Promise<void> {
    await this.#send({ op: 'reset' })
    this.#dirty = false
  }

  /** Runs a WAL checkpoint in the worker. */
  checkpoint(mode: CheckpointMode): Promise<WorkerCheckpoint> {
    return this.#send({ op: 'checkpoint', mode }) as Promise<WorkerCheckpoint>
  }

  /**
   * Closes the connection in the worker, then ends the thread. A statement still running (the
   * pool closes under its holder after its close timeout) fails its caller at once; the thread
   * is then ended under it — or, on a binding that cannot be ended mid-statement (the node:sqlite
   * shim), it finishes the statement first. Safe to call twice.
   */
  async close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true
      this.#worker.ref() // keep the process up until the thread is gone
      const running = this.#busy > 0
      if (running) this.#fail('was closed')
      if (!this.#exitedYet && (!running || !this.#terminable)) {
        // Queued behind the statement in progress, if any.
        await this.#send({ op: 'close' }, undefined, true).catch(() => undefined)
      }
      await this.#worker.terminate()
    }
    await this.#exited
  }

  /**
   * Ends the thread as a crash would: every caller waiting on it gets the `WORKER_EXIT` error now.
   * On a binding that cannot be ended mid-statement (see `WorkerAdapterSpec.terminable`) the
   * thread ends once its statement in progress returns (fault injection in tests; `close`).
   */
  async terminate(): Promise<void> {
    this.#fail('was terminated')
    if (!this.#terminable) await this.#untilIdle()
    await this.#worker.terminate()
  }

  #untilIdle(): Promise<void> {
    if (this.#busy === 0 || this.#exitedYet) return Promise.resolve()
    return new Promise((resolve) => this.#onIdle.push(resolve))
  }

  #idle(): void {
    this.#busy = 0
    this.#worker.unref()
    for (const resolve of this.#onIdle.splice(0)) resolve()
  }

  #send(request: Unsent, sql?: string, evenIfFailed = false): Promise<unknown> {
    if (sql !== undefined && !this.#dirty) {
      this.#dirty =
        request.op === 'run' ||
        request.op === 'exec' ||
        mayControlTransaction(sql) ||
        PRAGMA.test(sql)
    }
    if (this.#failure !== undefined && !evenIfFailed) {
      return Promise.reject(this.#broken(this.#failure, sql))
    }
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      try {
        this.#worker.postMessage({ ...request, id })
      } catch (error) {
        // Parameters that cannot cross threads (functions, symbols, class instances with slots).
        reject(
          new DatabaseError(
            `parameters of a worker query cannot be sent to its thread: ${(error as Error).message}`,
            { kind: 'misuse', driverCode: 'DataCloneError', cause: error },
          ),
        )
        return
      }
      if (this.#busy++ === 0) this.#worker.ref()
      this.#pending.set(id, { resolve, reject, sql, rows: undefined })
    })
  }

  #receive(message: Reply | RowsMessage): void {
    if ('ok' in message && --this.#busy === 0) this.#idle()
    const pending = this.#pending.get(message.id)
    if (pending === undefined) return // its caller was already told the connection failed
    if (!('ok' in message)) {
      pending.rows ??= []
      for (const row of message.rows) pending.rows.push(row)
      return
    }
    this.#pending.delete(message.id)
    if (!message.ok) pending.reject(fromWire(message.error))
    else if (pending.rows === undefined) pending.resolve(message.value)
    else {
      for (const row of message.value as unknown[]) pending.rows.push(row)
      pending.resolve(pending.rows)
    }
  }

  #fail(reason: string, cause?: unknown): void {
    if (this.#failure !== undefined) return
    this.#failure = this.#closing ? 'was closed' : reason
    const failure = this.#failure
    const pending = [...this.#pending.values()]
    this.#pending.clear()
    for (const p of pending) p.reject(this.#broken(failure, p.sql, cause))
  }

  #broken(reason: string, sql: string | undefined, cause?: unknown): DatabaseError {
    const where = sql === undefined ? '' : ` while running: ${sqlExcerpt(sql)}`
    return new DatabaseError(
      `the worker thread hosting a reader connection to ${this.filename} ${reason}${where}`,
      { kind: 'broken', driverCode: WORKER_EXIT, ...(cause === undefined ? {} : { cause }) },
    )
  }
}
