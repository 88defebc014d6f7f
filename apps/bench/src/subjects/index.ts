import { kyselyLitepoolSubject } from '../kysely.bench.js'
import { genericPoolSubject, tarnSubject } from './generic-pools.js'
import { knexSubject } from './knex.js'
import { kyselySubject } from './kysely.js'
import { litepoolBetterSqlite3, litepoolNodeSqlite } from './litepool.js'
import { rawBetterSqlite3, rawBetterSqlite3NoCheckpoint } from './raw-better-sqlite3.js'
import { rawNodeSqlite } from './raw-node-sqlite.js'
import { sqlitePoolSubject } from './sqlite-pool.js'
import type { Subject } from './types.js'

export type { ContentionWorker, Instance, OpenOptions, Subject, SubjectInfo } from './types.js'

/** The subject every ratio is taken against. */
export const BASELINE: Subject = rawBetterSqlite3

/**
 * Every subject of the throughput suite, in report order: litepool first, then the raw drivers,
 * then what people use instead. `kysely-litepool` (the `@litepool/kysely` dialect, issue 7) sits
 * next to `kysely`; both are built with `kyselyInstance` from `./kysely.js`, so they run the same
 * query-builder code.
 */
export const SUBJECTS: readonly Subject[] = [
  litepoolBetterSqlite3,
  litepoolNodeSqlite,
  rawBetterSqlite3,
  rawBetterSqlite3NoCheckpoint,
  rawNodeSqlite,
  genericPoolSubject,
  tarnSubject,
  kyselySubject,
  kyselyLitepoolSubject,
  sqlitePoolSubject,
  knexSubject,
]

/** Looks subjects up by id; throws on an unknown id, listing the known ones. */
export function pickSubjects(ids: readonly string[] | undefined): readonly Subject[] {
  if (ids === undefined || ids.length === 0) return SUBJECTS
  return ids.map((id) => {
    const subject = SUBJECTS.find((s) => s.id === id)
    if (subject === undefined) {
      throw new RangeError(
        `unknown subject "${id}" (known: ${SUBJECTS.map((s) => s.id).join(', ')})`,
      )
    }
    return subject
  })
}
