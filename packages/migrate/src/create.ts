import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { MigrationLoadError } from './errors.js'
import { loadMigrations } from './loader.js'

/** Which template {@link createMigrationFile} writes. */
export type MigrationTemplate = 'sql' | 'js' | 'ts'

const TEMPLATES: Readonly<Record<MigrationTemplate, (name: string) => string>> = {
  sql: (name) => `-- ${name}
-- Runs in its own BEGIN IMMEDIATE transaction. Directives (one per line, optional):
--   -- litepool:no-transaction      for VACUUM or PRAGMA journal_mode
--   -- litepool:foreign-keys off    for table rebuilds (foreign_key_check runs before COMMIT)

-- litepool:down
`,
  js: (name) => `// ${name}
/** @param {import('@litepool/sqlite-base').SqliteConnection} db */
export function up(db) {}

/** @param {import('@litepool/sqlite-base').SqliteConnection} db */
export function down(db) {}
`,
  ts: (name) => `// ${name}
import type { MigrationModule } from '@litepool/migrate'

export const up: MigrationModule['up'] = (db) => {}

export const down: MigrationModule['down'] = (db) => {}
`,
}

/**
 * Writes the next migration file: version = newest + 1, zero-padded like the existing files
 * (4 digits in an empty folder), name lower-cased with non-alphanumerics turned into `_`.
 * Creates the folder when missing and never overwrites. Returns the path.
 *
 * @example
 * ```ts
 * await createMigrationFile('./migrations', 'Add email to users') // '…/migrations/0003_add_email_to_users.sql'
 * ```
 */
export async function createMigrationFile(
  folder: string,
  name: string,
  template: MigrationTemplate = 'sql',
): Promise<string> {
  const slug = name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
  const dir = resolve(folder)
  if (slug === '')
    throw new MigrationLoadError(
      dir,
      `"${name}" is not a usable migration name: use letters and digits`,
    )
  await mkdir(dir, { recursive: true })
  const existing = await loadMigrations(dir)
  const last = existing.at(-1)
  const width = last === undefined ? 4 : Math.max(4, /^\d+/.exec(last.name)?.[0].length ?? 4)
  const version = (last?.version ?? 0) + 1
  const base = `${String(version).padStart(width, '0')}_${slug}`
  const file = join(dir, `${base}.${template}`)
  try {
    await writeFile(file, TEMPLATES[template](base), { flag: 'wx' })
  } catch (error) {
    throw new MigrationLoadError(
      file,
      `cannot create ${file}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    )
  }
  return file
}
