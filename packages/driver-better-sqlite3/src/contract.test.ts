import { betterSqlite3 } from '@litepool/driver-better-sqlite3'
import { runDriverContract } from '@litepool/driver-testkit'

runDriverContract(
  'better-sqlite3',
  {
    open: (options) => betterSqlite3(options),
    // Child processes of the stress suite import the built package from here.
    module: new URL('../dist/index.mjs', import.meta.url).href,
    exportName: 'betterSqlite3',
  },
  {
    knownGaps: [
      // better-sqlite3 locks the connection while an iterator is open: writes throw
      // "This database connection is busy executing a query".
      'iterate.write-during-iteration',
    ],
  },
)
