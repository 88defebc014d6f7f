import { PEER_BUSY_TIMEOUT } from '../settings.js'
import {
  BETTER_SQLITE3_DEFAULT_BUSY_MS,
  BetterSqlite3Connection,
  ownConnectionWorker,
} from './better-sqlite3-connection.js'
import type { Instance, Subject } from './types.js'
import { packageVersion } from './versions.js'

function rawSubject(autoCheckpoint: boolean): Subject {
  return {
    id: autoCheckpoint ? 'raw-better-sqlite3' : 'raw-better-sqlite3-no-autocheckpoint',
    label: autoCheckpoint ? 'raw better-sqlite3' : 'raw better-sqlite3, no auto-checkpoint',
    family: 'raw',
    driver: `better-sqlite3 ${packageVersion('better-sqlite3')}`,
    config: {
      connections: '1 (contention: 1 per worker)',
      journal_mode: 'WAL',
      synchronous: 'NORMAL',
      wal_autocheckpoint: autoCheckpoint
        ? '1000 pages (SQLite default: checkpoints run inside commits)'
        : '0 (off, like litepool; nothing checkpoints while it runs: the WAL only grows)',
      busy_timeout: PEER_BUSY_TIMEOUT,
      statements: 'prepared once, reused',
      'batch transaction': 'db.transaction() (BEGIN DEFERRED)',
      'contention transaction': 'BEGIN … await … COMMIT by hand (deferred)',
    },
    async open(filename, options = {}): Promise<Instance> {
      const busyTimeoutMs = options.busyTimeoutMs ?? BETTER_SQLITE3_DEFAULT_BUSY_MS
      const connection = new BetterSqlite3Connection(filename, busyTimeoutMs)
      if (!autoCheckpoint) connection.db.pragma('wal_autocheckpoint = 0')
      return {
        sync: true,
        pointSelect: (id) => connection.pointSelect(id),
        rangeSelect: (from, count) => connection.rangeSelect(from, count),
        insert: (item) => connection.insert(item),
        insertBatch: (items) => connection.insertBatch(items),
        // The naive concurrent pattern: every worker opens its own connection.
        worker: async () =>
          ownConnectionWorker(
            new BetterSqlite3Connection(filename, busyTimeoutMs, options.beginImmediate),
          ),
        close: async () => connection.close(),
      }
    },
  }
}

/** The baseline: one better-sqlite3 connection, prepared statements, sync calls. */
export const rawBetterSqlite3: Subject = rawSubject(true)

/**
 * The baseline without SQLite's auto-checkpoint, as litepool's writer runs: separates what
 * `pool.write` costs from what moving checkpoints off the commit path saves.
 */
export const rawBetterSqlite3NoCheckpoint: Subject = rawSubject(false)
