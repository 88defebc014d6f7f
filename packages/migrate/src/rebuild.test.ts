import type { Pool } from '@litepool/pool-core'
import type { SqliteConnection } from '@litepool/sqlite-base'
import { describe, expect, it } from 'vitest'
import { ForeignKeyViolationError } from './errors.js'
import { createMigrator } from './migrator.js'
import { rebuildTableOnPool } from './rebuild.js'
import { DRIVERS, useSandbox } from './test-utils/setup.js'

const SCHEMA = `create table users (id integer primary key, name text, email text);
create unique index users_email on users(email);
create index users_name on users(name);
create table posts (id integer primary key, user_id integer not null references users(id) on delete cascade, title text);
create index posts_user on posts(user_id);
create table audit (what text);
create trigger users_ai after insert on users begin insert into audit values ('user ' || new.name); end;
create trigger posts_ai after insert on posts begin insert into audit values ('post by ' || (select name from users where id = new.user_id)); end;
create view user_posts as select u.name, p.title from users u join posts p on p.user_id = u.id;
insert into users (id, name, email) values (1, 'ada', 'ada@x'), (2, null, 'grace@x'), (3, 'linus', null);
insert into posts (user_id, title) values (1, 'engines'), (1, 'notes'), (2, 'cobol');
delete from audit;
`

const REBUILD_USERS = `export const foreignKeys = false
export function up(db, { rebuildTable }) {
  rebuildTable({
    table: 'users',
    columns: 'id integer primary key, name text not null, email text not null, created text',
    copy: { name: "coalesce(name, 'anon')", email: "coalesce(email, 'none-' || id)", created: "'2026'" },
  })
}
`

const schemaOf = (pool: Pool<SqliteConnection>) =>
  pool.read((c) =>
    c.all<{ type: string; name: string }>(
      "select type, name from sqlite_schema where name not like 'sqlite_%' and name not like 'litepool_%' order by type, name",
    ),
  )

for (const driver of DRIVERS) {
  describe(`${driver.name}: table rebuild`, () => {
    const sandbox = useSandbox()

    it('preserves rows, indexes, triggers, views and foreign keys (both directions)', {
      timeout: 15_000,
    }, async () => {
      const s = sandbox(driver)
      s.write({ '0001_schema.sql': SCHEMA, '0002_rebuild_users.mjs': REBUILD_USERS })
      const pool = s.pool()
      const migrator = createMigrator({ pool, migrations: s.migrations, backup: false })
      await migrator.up({ to: 1 })
      const before = await schemaOf(pool)
      expect(before).toHaveLength(9)
      await migrator.up()
      expect(await schemaOf(pool)).toEqual(before)
      expect(await pool.read((c) => c.all('select * from users order by id'))).toEqual([
        { id: 1, name: 'ada', email: 'ada@x', created: '2026' },
        { id: 2, name: 'anon', email: 'grace@x', created: '2026' },
        { id: 3, name: 'linus', email: 'none-3', created: '2026' },
      ])
      // the child rows survived: ON DELETE CASCADE did not fire while the old table was dropped
      expect(await pool.read((c) => c.get('select count(*) as n from posts'))).toEqual({ n: 3 })
      const sql = await pool.read((c) =>
        c.get<{ sql: string }>("select sql from sqlite_schema where name = 'users'"),
      )
      expect(sql?.sql).toMatch(/name text not null, email text not null/)
      await expect(
        pool.write((c) => c.run("insert into users (name, email) values ('dup', 'ada@x')")),
      ).rejects.toMatchObject({ driverCode: 'SQLITE_CONSTRAINT_UNIQUE' })
      await pool.write((c) =>
        c.run("insert into users (id, name, email) values (4, 'barbara', 'b@x')"),
      )
      await pool.write((c) => c.run("insert into posts (user_id, title) values (4, 'clu')"))
      expect(await pool.read((c) => c.all('select what from audit'))).toEqual([
        { what: 'user barbara' },
        { what: 'post by barbara' },
      ])
      expect(
        await pool.read((c) =>
          c.all("select title from user_posts where name = 'ada' order by title"),
        ),
      ).toEqual([{ title: 'engines' }, { title: 'notes' }])
      // posts still references the new users table, enforced and cascading
      await expect(
        pool.write((c) => c.run("insert into posts (user_id, title) values (999, 'x')")),
      ).rejects.toMatchObject({ driverCode: 'SQLITE_CONSTRAINT_FOREIGNKEY' })
      await pool.write((c) => c.run('delete from users where id = 1'))
      expect(
        await pool.read((c) => c.get('select count(*) as n from posts where user_id = 1')),
      ).toEqual({ n: 0 })
      expect(
        await pool.read((c) => c.get('select count(*) as n from pragma_foreign_key_check')),
      ).toEqual({ n: 0 })
    })

    it('names an index that cannot be recreated; `drop` leaves it out', {
      timeout: 15_000,
    }, async () => {
      const s = sandbox(driver)
      const dropName = (drop: string) => `export const foreignKeys = false
export function up(db, { rebuildTable }) {
  rebuildTable({ table: 'users', columns: 'id integer primary key, email text', drop: ${drop} })
}
`
      s.write({ '0001_schema.sql': SCHEMA, '0002_drop_name.mjs': dropName('[]') })
      const pool = s.pool()
      const migrator = createMigrator({ pool, migrations: s.migrations, backup: false })
      await expect(migrator.up()).rejects.toMatchObject({
        migration: '0002_drop_name',
        message: expect.stringMatching(/could not recreate index users_name/),
      })
      expect(
        await pool.read((c) => c.get("select count(*) as n from pragma_table_info('users')")),
      ).toEqual({ n: 3 }) // rolled back
      s.write({ '0002_drop_name.mjs': dropName("['users_name']") })
      await migrator.up()
      expect((await schemaOf(pool)).map((o) => o.name)).not.toContain('users_name')
      expect((await schemaOf(pool)).map((o) => o.name)).toContain('users_email')
    })

    it('refuses to rebuild a referenced table with foreign keys on (the migration lacks the directive)', {
      timeout: 15_000,
    }, async () => {
      const s = sandbox(driver)
      s.write({
        '0001_schema.sql': SCHEMA,
        '0002_rebuild_users.mjs': REBUILD_USERS.replace('export const foreignKeys = false\n', ''),
      })
      const pool = s.pool()
      await expect(
        createMigrator({ pool, migrations: s.migrations, backup: false }).up(),
      ).rejects.toMatchObject({
        cause: {
          code: 'LITEPOOL_MIGRATION_STATE',
          message: expect.stringMatching(/foreign keys are on and posts reference users/),
        },
      })
      expect(await pool.read((c) => c.get('select count(*) as n from posts'))).toEqual({ n: 3 })
    })

    it('rebuildTableOnPool runs all 12 steps and rolls back on a foreign key violation', {
      timeout: 15_000,
    }, async () => {
      const s = sandbox(driver)
      const pool = s.pool()
      await pool.write((c) => c.exec(SCHEMA))
      const bad = rebuildTableOnPool(pool, {
        table: 'posts',
        columns:
          'id integer primary key, user_id integer not null references users(id), title text not null',
        copy: { user_id: 'user_id + 100', title: "coalesce(title, '')" },
      })
      await expect(bad).rejects.toBeInstanceOf(ForeignKeyViolationError)
      await expect(bad).rejects.toMatchObject({
        violations: expect.arrayContaining([
          expect.objectContaining({ table: 'posts', parent: 'users' }),
        ]),
      })
      expect(await pool.read((c) => c.all('select user_id from posts order by id'))).toEqual([
        { user_id: 1 },
        { user_id: 1 },
        { user_id: 2 },
      ])
      const ok = await rebuildTableOnPool(pool, {
        table: 'posts',
        columns:
          'id integer primary key, user_id integer not null references users(id) on delete cascade, title text not null',
      })
      expect(ok).toEqual({ rows: 3, recreated: ['posts_user', 'posts_ai', 'user_posts'] })
      const fk = await pool.acquire({ role: 'writer' })
      expect(fk.get<{ foreign_keys: number }>('pragma foreign_keys')?.foreign_keys).toBe(1)
      await fk.release()
    })
  })
}
