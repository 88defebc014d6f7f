import type { Kysely, Migration, MigrationProvider } from 'kysely'
import * as kysely from 'kysely'
import { describe, expect, it } from 'vitest'
import { DRIVERS, makeDb, makePool } from './setup.js'

// Kysely 0.28 exports the Migrator from 'kysely'; 0.29 moved it to 'kysely/migration'.
const MIGRATION_MODULE = 'kysely/migration'
const { Migrator } = (
  'Migrator' in kysely ? kysely : await import(MIGRATION_MODULE)
) as typeof kysely

// biome-ignore lint/suspicious/noExplicitAny: migrations are written against an unknown schema
type AnyDb = Kysely<any>

function provider(migrations: Record<string, Migration>): MigrationProvider {
  return { getMigrations: async () => migrations }
}

const ups: string[] = []

const MIGRATIONS: Record<string, Migration> = {
  '0001_person': {
    up: async (db: AnyDb) => {
      ups.push('0001')
      await db.schema
        .createTable('person')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('name', 'text')
        .execute()
    },
    down: async (db: AnyDb) => {
      await db.schema.dropTable('person').execute()
    },
  },
  '0002_pet': {
    up: async (db: AnyDb) => {
      ups.push('0002')
      await db.schema
        .createTable('pet')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .execute()
      await db.insertInto('person').values({ id: 1, name: 'Ada' }).execute()
    },
    down: async (db: AnyDb) => {
      await db.schema.dropTable('pet').execute()
    },
  },
}

for (const d of DRIVERS) {
  describe(`${d.variant}: Kysely Migrator`, () => {
    it('migrates up and down', async () => {
      const db: AnyDb = makeDb(makePool(d))
      const migrator = new Migrator({ db, provider: provider(MIGRATIONS) })
      const up = await migrator.migrateToLatest()
      expect(up.error).toBeUndefined()
      expect(up.results?.map((r) => [r.migrationName, r.status])).toEqual([
        ['0001_person', 'Success'],
        ['0002_pet', 'Success'],
      ])
      expect(await db.selectFrom('person').selectAll().execute()).toEqual([{ id: 1, name: 'Ada' }])
      const down = await migrator.migrateDown()
      expect(down.results?.map((r) => [r.migrationName, r.status])).toEqual([
        ['0002_pet', 'Success'],
      ])
      const tables = (await db.introspection.getTables()).map((t) => t.name)
      expect(tables).toEqual(['person'])
    })

    it('two migrators at once apply each migration once (the run holds the write lock)', async () => {
      const pool = makePool(d)
      ups.length = 0
      const a = new Migrator({ db: makeDb(pool), provider: provider(MIGRATIONS) })
      const b = new Migrator({ db: makeDb(pool), provider: provider(MIGRATIONS) })
      const [ra, rb] = await Promise.all([a.migrateToLatest(), b.migrateToLatest()])
      expect(ra.error).toBeUndefined()
      expect(rb.error).toBeUndefined()
      expect(ups).toEqual(['0001', '0002'])
      expect([ra.results?.length, rb.results?.length].sort()).toEqual([0, 2])
    })

    it('a failing migration rolls back the whole run (transactional DDL)', async () => {
      const db: AnyDb = makeDb(makePool(d))
      const failing = {
        ...MIGRATIONS,
        '0003_broken': {
          up: async (trx: AnyDb) => {
            await trx.schema.createTable('half').addColumn('id', 'integer').execute()
            await trx.insertInto('nowhere').values({ id: 1 }).execute()
          },
        },
      }
      const result = await new Migrator({ db, provider: provider(failing) }).migrateToLatest()
      expect(result.error).toBeDefined()
      const tables = (await db.introspection.getTables()).map((t) => t.name)
      expect(tables).toEqual([])
      const executed = await db.selectFrom('kysely_migration').select('name').execute()
      expect(executed).toEqual([])
    })
  })
}
