import { readdirSync } from 'node:fs'
import type { Pool } from '@litepool/pool-core'
import type { SqliteConnection } from '@litepool/sqlite-base'
import { describe, expect, it } from 'vitest'
import {
  type CliResult,
  DRIVERS,
  json,
  runCli,
  type Sandbox,
  useSandbox,
} from './test-utils/setup.js'

// Real processes racing on one file: each forks the built CLI (dist/cli.mjs). A migration that must
// be interrupted signals the test over IPC and then waits, so the test kills it at a known point
// (a promise gate, not a sleep).

const step = (id: string, wait = 'await new Promise((r) => setTimeout(r, 30))') =>
  `export async function up(db) {\n  db.run('insert into ledger (migration, pid) values (?, ?)', ['${id}', process.pid])\n  ${wait}\n}\n`

const HANG = `if (process.env.LITEPOOL_TEST_HANG === '1') {
    process.send?.('inside')
    await new Promise((r) => setTimeout(r, 120_000))
  }`

const RACE = {
  '0001_ledger.sql': 'create table ledger (migration text not null, pid integer not null);\n',
  '0002_a.mjs': step(
    '0002',
    'await new Promise((r) => setTimeout(r, 400)) // everyone else is started and waiting by now',
  ),
  '0003_b.mjs': step('0003'),
  '0004_vacuum.sql':
    "-- litepool:no-transaction\ninsert into ledger (migration, pid) values ('0004', 0);\nVACUUM;\n",
  '0005_c.sql': "insert into ledger (migration, pid) values ('0005', 0);\ncreate table c (x);\n",
}

interface RunJson {
  ok: boolean
  steps: { name: string }[]
  backup?: string | null
  tookOverFrom?: { pid: number }
  error?: { code: string; message: string }
}

const one = async <T>(pool: Pool<SqliteConnection>, sql: string) => pool.read((c) => c.get<T>(sql))

async function expectVersion(s: Sandbox, version: number): Promise<Pool<SqliteConnection>> {
  const pool = s.pool()
  expect(await one(pool, 'pragma user_version')).toEqual({ user_version: version })
  expect(await one(pool, 'select coalesce(max(version), 0) as v from litepool_migrations')).toEqual(
    { v: version },
  )
  expect(await one(pool, 'pragma integrity_check')).toEqual({ integrity_check: 'ok' })
  return pool
}

/** Starts `up` and kills it with SIGKILL once its migration says it is inside. */
function upUntilInside(s: Sandbox, driver: string): Promise<{ result: CliResult; pid: number }> {
  let pid = 0
  return runCli(['up', '--db', s.db, '--dir', s.migrations, '--driver', driver, '--json'], {
    env: { LITEPOOL_TEST_HANG: '1' },
    timeoutMs: 30_000,
    onMessage: (message, child) => {
      if (message !== 'inside') return
      pid = child.pid ?? 0
      child.kill('SIGKILL')
    },
  }).then((result) => ({ result, pid }))
}

for (const driver of DRIVERS) {
  describe(`${driver.name}: concurrent processes`, () => {
    const sandbox = useSandbox()

    it.each([2, 8])(
      '%i processes run up at once: each migration applied exactly once, all exit 0',
      { timeout: 90_000 },
      async (n) => {
        const s = sandbox(driver)
        s.write(RACE)
        const args = ['up', '--db', s.db, '--dir', s.migrations, '--driver', driver.name, '--json']
        const results = await Promise.all(
          Array.from({ length: n }, () => runCli(args, { timeoutMs: 80_000 })),
        )
        for (const r of results)
          expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' })
        const runs = results.map((r) => json<RunJson>(r))
        expect(runs.flatMap((r) => r.steps.map((x) => x.name)).sort()).toEqual([
          '0001_ledger',
          '0002_a',
          '0003_b',
          '0004_vacuum',
          '0005_c',
        ])
        // One run held the lock for all of it: it alone made a backup and applied everything.
        expect(runs.filter((r) => r.steps.length > 0)).toHaveLength(1)
        expect(runs.filter((r) => r.backup)).toHaveLength(1)
        // that run's backups: one at the start (v0), one just before the step outside a transaction (v3)
        expect(
          readdirSync(s.dir)
            .filter((f) => f.endsWith('.bak'))
            .map((f) => f.split('.')[2])
            .sort(),
        ).toEqual(['v0', 'v3'])
        const pool = await expectVersion(s, 5)
        expect(
          await pool.read((c) =>
            c.all(
              'select migration, count(*) as n from ledger group by migration order by migration',
            ),
          ),
        ).toEqual(['0002', '0003', '0004', '0005'].map((migration) => ({ migration, n: 1 })))
        expect(await one(pool, 'select count(*) as n from litepool_migrations')).toEqual({ n: 5 })
        expect(await one(pool, 'select count(*) as n from litepool_migrations_lock')).toEqual({
          n: 0,
        })
      },
    )

    it('a process killed (SIGKILL) inside a migration leaves the previous version; a re-run takes over and completes', {
      timeout: 60_000,
    }, async () => {
      const s = sandbox(driver)
      s.write({
        '0001_ledger.sql': RACE['0001_ledger.sql'],
        '0002_hangs.mjs': step('0002', HANG),
        '0003_c.sql': 'create table c (x);\n',
      })
      const { result, pid } = await upUntilInside(s, driver.name)
      expect(result.signal).toBe('SIGKILL')
      const pool = await expectVersion(s, 1)
      expect(await one(pool, "select count(*) as n from ledger where migration = '0002'")).toEqual({
        n: 0,
      }) // rolled back
      const status = json<{ lock: { pid: number; verdict: string } }>(
        await runCli([
          'status',
          '--db',
          s.db,
          '--dir',
          s.migrations,
          '--driver',
          driver.name,
          '--json',
        ]),
      )
      expect(status.lock).toMatchObject({ pid, verdict: 'stale' })
      const rerun = await runCli(
        ['up', '--db', s.db, '--dir', s.migrations, '--driver', driver.name, '--json'],
        { timeoutMs: 30_000 },
      )
      expect(rerun.code, rerun.stderr).toBe(0)
      expect(json<RunJson>(rerun)).toMatchObject({
        ok: true,
        tookOverFrom: { pid },
        steps: [{ name: '0002_hangs' }, { name: '0003_c' }],
      })
      await expectVersion(s, 3)
      expect(await one(pool, "select count(*) as n from ledger where migration = '0002'")).toEqual({
        n: 1,
      })
    })

    it('a process killed inside a step outside a transaction blocks later runs until unlock', {
      timeout: 60_000,
    }, async () => {
      const s = sandbox(driver)
      const half = `export const transaction = false\nexport async function up(db) {\n  db.exec('create table if not exists half (x)')\n  ${HANG}\n}\n`
      s.write({ '0001_ledger.sql': RACE['0001_ledger.sql'], '0002_half.mjs': half })
      const base = ['--db', s.db, '--dir', s.migrations, '--driver', driver.name]
      const { result, pid } = await upUntilInside(s, driver.name)
      expect(result.signal).toBe('SIGKILL')
      await expectVersion(s, 1)
      const refused = await runCli(['up', ...base])
      expect(refused.code, refused.stderr).toBe(4)
      expect(refused.stderr).toMatch(
        new RegExp(
          `pid ${pid} .*stopped in the middle of 0002_half, which runs outside a transaction.*its backup is .*\\.bak`,
        ),
      )
      const unlocked = await runCli(['unlock', ...base])
      expect(unlocked.stdout).toMatch(
        new RegExp(
          `Removed the migration lock of pid ${pid} .*interrupted|Removed the migration lock of pid ${pid} .*in 0002_half`,
        ),
      )
      const finalRun = await runCli(['up', ...base])
      expect(finalRun.code, finalRun.stderr).toBe(0)
      await expectVersion(s, 2)
    })
  })
}
