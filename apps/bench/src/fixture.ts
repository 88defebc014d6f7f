import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { makeItem, prng, SCHEMA, SQL } from './model.js'

/**
 * Seeded database files in a temp dir. Each table size is seeded once (deterministically), then
 * every subject gets its own fresh copy, so all start from byte-identical files.
 */
export class Fixtures {
  readonly dir: string
  private readonly templates = new Map<number, string>()
  private copies = 0

  constructor(dir: string = mkdtempSync(join(tmpdir(), 'litepool-bench-'))) {
    this.dir = dir
  }

  /** A fresh copy of the `rows`-row database, named after `label`. */
  copy(rows: number, label: string): string {
    const template = this.template(rows)
    const file = join(this.dir, `${label.replace(/[^\w.-]+/g, '_')}-${++this.copies}.db`)
    copyFileSync(template, file)
    return file
  }

  /** Deletes a copy and its -wal/-shm files. */
  discard(file: string): void {
    for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(file + suffix, { force: true })
  }

  /** Deletes the whole temp dir. */
  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true })
  }

  private template(rows: number): string {
    let file = this.templates.get(rows)
    if (file !== undefined) return file
    file = join(this.dir, `seed-${rows}.db`)
    const db = new Database(file)
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = OFF')
    db.exec(SCHEMA)
    const insert = db.prepare(SQL.insert)
    const random = prng(rows)
    db.transaction(() => {
      for (let i = 1; i <= rows; i++) insert.run(...makeItem(i, random))
    })()
    db.pragma('wal_checkpoint(TRUNCATE)')
    db.close()
    this.templates.set(rows, file)
    return file
  }
}

/** What a database file holds after a subject is done with it (read with a fresh connection). */
export interface FileCounts {
  readonly items: number
  readonly maxItemId: number
  readonly counter: number
  readonly events: number
}

/** Counts rows in a database file with a separate connection, after the subject has closed. */
export function countRows(file: string): FileCounts {
  const db = new Database(file)
  try {
    const items = db.prepare('select count(*) as n, max(id) as m from items').get() as {
      n: number
      m: number
    }
    const counter = (db.prepare(SQL.counterGet).get() as { n: number }).n
    const events = (db.prepare('select count(*) as n from events').get() as { n: number }).n
    return { items: items.n, maxItemId: items.m, counter, events }
  } finally {
    db.close()
  }
}
