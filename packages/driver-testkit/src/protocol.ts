import { type ChildProcess, fork } from 'node:child_process'
import type { SqliteDriverOptions } from '@litepool/sqlite-base'
import type { DriverHarness } from './harness.js'
import { gate, within } from './helpers.js'

/**
 * What a child process does (see `child.ts`).
 *
 * @example
 * ```ts
 * forkChild(harness, { kind: 'write', id: 1, writes: 250 }, { filename })
 * ```
 */
export interface ChildTask {
  readonly kind: 'write' | 'read' | 'contend' | 'hold-lock'
  readonly id: number
  readonly module: string
  readonly exportName: string
  readonly driverOptions: SqliteDriverOptions
  /** write: how many rows; contend: how long each lock is held and the pause between. */
  readonly writes?: number
  readonly concurrency?: number
  readonly acquireTimeoutMs?: number
  readonly holdMs?: number
  readonly pauseMs?: number
}

/**
 * What a child reports when it is done.
 *
 * @example
 * ```ts
 * const result: ChildResult = await child.done
 * expect(result.busyErrors).toBe(0)
 * ```
 */
export interface ChildResult {
  readonly id: number
  writes: number
  reads: number
  busyErrors: number
  lockTimeouts: number
  readonly otherErrors: string[]
  /** Largest and 99th-percentile event-loop delay the child saw (ms). */
  maxDelayMs: number
  p99DelayMs: number
}

/**
 * Messages from parent to child.
 *
 * @example
 * ```ts
 * child.process.send({ type: 'release' } satisfies ParentMessage)
 * ```
 */
export type ParentMessage =
  | { readonly type: 'task'; readonly task: ChildTask }
  | { readonly type: 'go' | 'stop' | 'release' }

/**
 * Messages from child to parent.
 *
 * @example
 * ```ts
 * process.send?.({ type: 'locked' } satisfies ChildMessage)
 * ```
 */
export type ChildMessage =
  | { readonly type: 'ready' | 'locked' }
  | { readonly type: 'done'; readonly result: ChildResult }
  | { readonly type: 'failed'; readonly error: string }

/**
 * A forked child running one task.
 *
 * @example
 * ```ts
 * const child: Child = forkChild(harness, { kind: 'hold-lock', id: 1 }, { filename })
 * await child.ready
 * child.tell('release')
 * await child.done
 * ```
 */
export interface Child {
  readonly process: ChildProcess
  /** Resolves when the child reported `ready` (or `locked` for hold-lock). */
  readonly ready: Promise<void>
  /** Resolves with the child's result; rejects when it failed or exited without one. */
  readonly done: Promise<ChildResult>
  tell(type: 'go' | 'stop' | 'release'): void
}

/** The forked script: `dist/child.mjs` beside the built suite, also when the suite runs from `src/` (coverage). */
const CHILD_URL = new URL(
  import.meta.url.endsWith('.ts') ? '../dist/child.mjs' : './child.mjs',
  import.meta.url,
)

/**
 * Forks a child process that builds the harness's driver (by module and export name) and runs
 * `task` against the same database file.
 *
 * @example
 * ```ts
 * const child = forkChild(harness, { kind: 'hold-lock', id: 1 }, { filename })
 * await child.ready
 * ```
 */
export function forkChild(
  harness: DriverHarness,
  task: Omit<ChildTask, 'module' | 'exportName' | 'driverOptions'>,
  driverOptions: SqliteDriverOptions,
): Child {
  const child = fork(CHILD_URL, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const ready = gate()
  const finished = gate<ChildResult | Error>()
  child.on('message', (message: ChildMessage) => {
    if (message.type === 'done') finished.open(message.result)
    else if (message.type === 'failed') {
      finished.open(new TypeError(`child ${task.id} failed: ${message.error}`))
    } else ready.open()
  })
  child.on('exit', (code) => {
    const error = new TypeError(`child ${task.id} exited (code ${code}) without a result`)
    finished.open(error)
    ready.open()
  })
  child.on('error', (error) => finished.open(error))
  const full: ChildTask = {
    ...task,
    module: harness.module,
    exportName: harness.exportName,
    driverOptions: { ...harness.options, ...driverOptions } as SqliteDriverOptions,
  }
  child.send({ type: 'task', task: full } satisfies ParentMessage)
  const done = finished.promise.then((r) => {
    if (r instanceof Error) throw r
    return r
  })
  return {
    process: child,
    ready: within(ready.promise, 20_000, `child ${task.id} start`),
    done,
    tell(type) {
      if (child.connected) child.send({ type } satisfies ParentMessage)
    },
  }
}

/**
 * Kills children still running (cleanup after a failed scenario).
 *
 * @example
 * ```ts
 * t.defer(() => killAll(children))
 * ```
 */
export function killAll(children: readonly Child[]): void {
  for (const c of children) if (c.process.exitCode === null) c.process.kill('SIGKILL')
}
