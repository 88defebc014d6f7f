import { betterSqlite3 } from '@litepool/driver-better-sqlite3'
import { runDriverStress } from '@litepool/driver-testkit'

runDriverStress('better-sqlite3', {
  open: (options) => betterSqlite3(options),
  module: new URL('../dist/index.mjs', import.meta.url).href,
  exportName: 'betterSqlite3',
})
