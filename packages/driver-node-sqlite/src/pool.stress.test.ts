import { nodeSqlite } from '@litepool/driver-node-sqlite'
import { runDriverStress } from '@litepool/driver-testkit'

const native =
  typeof process.getBuiltinModule === 'function' && !!process.getBuiltinModule('node:sqlite')
const backend = native ? 'node:sqlite' : '@photostructure/sqlite'

runDriverStress(`node-sqlite (${backend})`, {
  open: (options) => nodeSqlite({ ...options, backend }),
  module: new URL('../dist/index.mjs', import.meta.url).href,
  exportName: 'nodeSqlite',
  options: { backend },
})
