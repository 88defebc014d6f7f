/**
 * The entry of a worker thread that hosts one SQLite connection (built as `dist/worker.mjs`).
 * It loads the driver's native adapter itself (each thread loads the native addon on its own),
 * opens its connection exactly as the main thread opens one, then answers requests in order.
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { NativeAdapter, SqliteParams } from '../adapter.js'
import type { SqliteConnection } from '../connection.js'
import { openSqliteConnection } from '../open.js'
import { restoreConnection } from '../setup.js'
import { CHECKPOINT_SQL, SQL } from '../sql.js'
import {
  type Chunk,
  type Reply,
  type Request,
  ROWS_PER_MESSAGE,
  type RowsMessage,
  type StartMessage,
  toWire,
  type WorkerStart,
} from './protocol.js'

const port = parentPort
if (port === null) throw new TypeError('litepool worker.mjs runs only as a worker thread')
const start = workerData as WorkerStart

/** Open iterations, by cursor id. */
const cursors = new Map<number, Iterator<unknown>>()
let nextCursor = 1

function take(iterator: Iterator<unknown>, count: number): { rows: unknown[]; done: boolean } {
  const rows: unknown[] = []
  while (rows.length < count) {
    const step = iterator.next()
    if (step.done === true) return { rows, done: true }
    rows.push(step.value)
  }
  return { rows, done: false }
}

function chunkOf(cursor: number, count: number): Chunk {
  const iterator = cursors.get(cursor)
  if (iterator === undefined) return { cursor, rows: [], done: true }
  const { rows, done } = take(iterator, count)
  if (done) cursors.delete(cursor)
  return { cursor, rows, done }
}

/** `all` in messages of at most ROWS_PER_MESSAGE rows, so no single message is slow to decode. */
function all(
  connection: SqliteConnection,
  request: { id: number; sql: string; params: SqliteParams | undefined },
): unknown[] {
  const rows = connection.all(request.sql, request.params)
  let at = 0
  for (; rows.length - at > ROWS_PER_MESSAGE; at += ROWS_PER_MESSAGE) {
    port?.postMessage({
      id: request.id,
      rows: rows.slice(at, at + ROWS_PER_MESSAGE),
    } satisfies RowsMessage)
  }
  return at === 0 ? rows : rows.slice(at)
}

async function handle(connection: SqliteConnection, request: Request): Promise<unknown> {
  switch (request.op) {
    case 'get':
      return connection.get(request.sql, request.params)
    case 'all':
      return all(connection, request)
    case 'run':
      return connection.run(request.sql, request.params)
    case 'exec':
      connection.exec(request.sql)
      return undefined
    case 'iterate': {
      const cursor = nextCursor++
      cursors.set(cursor, connection.iterate(request.sql, request.params))
      return chunkOf(cursor, request.chunkSize)
    }
    case 'next':
      return chunkOf(request.cursor, request.chunkSize)
    case 'end':
      cursors.get(request.cursor)?.return?.()
      cursors.delete(request.cursor)
      return undefined
    case 'ping':
      connection.getControl(SQL.ping)
      return undefined
    case 'reset':
      cursors.clear() // restoreConnection ends every open iteration
      restoreConnection(connection, start.options)
      return undefined
    case 'checkpoint': {
      const started = performance.now()
      const row = connection.getControl<{ busy: number; log: number; checkpointed: number }>(
        CHECKPOINT_SQL[request.mode],
      )
      return { ...row, ms: performance.now() - started }
    }
    case 'close':
      cursors.clear()
      await connection.closeNative()
      return undefined
  }
}

async function main(): Promise<void> {
  let connection: SqliteConnection
  try {
    const module = (await import(start.adapter.module)) as Record<string, unknown>
    const factory = module[start.adapter.export]
    if (typeof factory !== 'function') {
      throw new TypeError(`${start.adapter.module} exports no function ${start.adapter.export}`)
    }
    const adapter = factory(start.adapter.options) as NativeAdapter<unknown>
    connection = await openSqliteConnection(adapter, start.options, 'reader')
  } catch (error) {
    port?.postMessage({ started: false, error: toWire(error) } satisfies StartMessage)
    return
  }
  port?.postMessage({ started: true } satisfies StartMessage)
  // Requests run one at a time, in order: the main thread borrows this connection exclusively.
  let queue = Promise.resolve()
  port?.on('message', (request: Request) => {
    queue = queue.then(async () => {
      let reply: Reply
      try {
        reply = { id: request.id, ok: true, value: await handle(connection, request) }
      } catch (error) {
        reply = { id: request.id, ok: false, error: toWire(error) }
      }
      port.postMessage(reply)
      if (request.op === 'close') port.close()
    })
  })
}

void main()
