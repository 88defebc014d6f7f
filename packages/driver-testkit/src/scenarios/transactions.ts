import type { TransactionMode } from '@litepool/pool-core'
import { expect } from 'vitest'
import { type Scenario, scenarios } from '../scenario.js'

const MODES: readonly TransactionMode[] = ['deferred', 'immediate', 'exclusive']

const count = (c: { get(sql: string): unknown }) =>
  (c.get('select count(*) as n from v') as { n: number }).n

/** BEGIN in every mode, COMMIT, ROLLBACK and nested savepoints. */
export const transactionScenarios: readonly Scenario[] = scenarios('transactions', [
  ...MODES.flatMap((mode): Scenario[] => [
    {
      key: `${mode}.commit`,
      title: `BEGIN ${mode.toUpperCase()} … COMMIT makes the writes visible to a reader`,
      async run(t) {
        const driver = t.driver()
        const c = await t.open('writer')
        const reader = await t.open('reader')
        c.exec('create table v(x)')
        expect(driver.transactions.isActive(c)).toBe(false)
        await driver.transactions.begin(c, mode)
        expect(driver.transactions.isActive(c)).toBe(true)
        c.run('insert into v values (1)')
        expect(count(reader)).toBe(0)
        await driver.transactions.commit(c)
        expect(driver.transactions.isActive(c)).toBe(false)
        expect(count(reader)).toBe(1)
      },
    },
    {
      key: `${mode}.rollback`,
      title: `BEGIN ${mode.toUpperCase()} … ROLLBACK discards the writes`,
      async run(t) {
        const driver = t.driver()
        const c = await t.open('writer')
        c.exec('create table v(x)')
        await driver.transactions.begin(c, mode)
        c.run('insert into v values (1)')
        await driver.transactions.rollback(c)
        expect(c.inTransaction).toBe(false)
        expect(count(c)).toBe(0)
      },
    },
  ]),
  {
    key: 'savepoints-nest',
    title: 'savepoints nest: rolling back an inner one keeps the outer work',
    async run(t) {
      const { transactions: tx } = t.driver()
      const c = await t.open('writer')
      c.exec('create table v(x)')
      await tx.begin(c, 'immediate')
      c.run('insert into v values (1)')
      await tx.savepoint(c, 'sp_1')
      c.run('insert into v values (2)')
      await tx.savepoint(c, 'sp_2')
      c.run('insert into v values (3)')
      await tx.rollbackToSavepoint(c, 'sp_2')
      await tx.releaseSavepoint(c, 'sp_2')
      expect(count(c)).toBe(2)
      await tx.releaseSavepoint(c, 'sp_1')
      expect(tx.isActive(c)).toBe(true)
      await tx.savepoint(c, 'sp_3')
      c.run('insert into v values (4)')
      await tx.rollbackToSavepoint(c, 'sp_3')
      await tx.releaseSavepoint(c, 'sp_3')
      await tx.commit(c)
      expect(c.all('select x from v order by x')).toEqual([{ x: 1 }, { x: 2 }])
    },
  },
  {
    key: 'savepoint-names-are-quoted',
    title: 'savepoint names are quoted identifiers (no SQL injection through a name)',
    async run(t) {
      const { transactions: tx } = t.driver()
      const c = await t.open('writer')
      c.exec('create table v(x)')
      await tx.begin(c, 'immediate')
      const name = 'odd "name"; drop table v; --'
      await tx.savepoint(c, name)
      c.run('insert into v values (1)')
      await tx.rollbackToSavepoint(c, name)
      await tx.releaseSavepoint(c, name)
      await tx.commit(c)
      expect(count(c)).toBe(0)
    },
  },
  {
    key: 'rollback-without-transaction',
    title: 'rollback without an open transaction is a no-op',
    async run(t) {
      const { transactions: tx } = t.driver()
      const c = await t.open('writer')
      await tx.rollback(c)
      expect(tx.isActive(c)).toBe(false)
    },
  },
])
