// Run by close.test.ts in a child process: a pool with every timer enabled, used and left open,
// must not keep the process alive. Imports the built package (pnpm --filter @litepool/pool-core build).
import { createPool, silentLogger } from '../../dist/index.mjs'

const noop = () => {}
const connection = () => ({ tx: false })
const driver = {
  name: 'fixture',
  target: 'fixture.db',
  capabilities: { readers: true },
  open: async () => connection(),
  close: noop,
  ping: noop,
  reset: (c) => {
    c.tx = false
  },
  maintain: noop,
  transactions: {
    begin: (c) => {
      c.tx = true
    },
    commit: (c) => {
      c.tx = false
    },
    rollback: (c) => {
      c.tx = false
    },
    savepoint: noop,
    releaseSavepoint: noop,
    rollbackToSavepoint: noop,
    isActive: (c) => c.tx,
  },
}

const pool = createPool({
  driver,
  logger: silentLogger,
  readers: { min: 2, max: 4 },
  healthCheckIntervalMs: 100,
  maintenanceIntervalMs: 100,
  idleTimeoutMs: 1_000,
  maxLifetimeMs: 60_000,
  leakDetectionMs: 10_000,
})
await pool.read(() => 1)
await pool.write(() => 2)
await pool.transaction(async () => {
  await pool.transaction(() => 3)
})
const lease = await pool.acquire()
await lease.release()
await pool.ready()
// a waiter that times out leaves no timer behind either
const held = await pool.acquire({ role: 'writer' })
await pool.write(noop, { timeoutMs: 20 }).catch(noop)
await held.release()
console.log(`used ${pool.status().readers.open} readers`)
