import { nodeSqlite } from '@litepool/driver-node-sqlite'
import { runDriverContract } from '@litepool/driver-testkit'

// Node 20 has no node:sqlite: there the shim runs. On Node 24 both backends run the contract.
const native =
  typeof process.getBuiltinModule === 'function' && !!process.getBuiltinModule('node:sqlite')
const backends = native
  ? (['node:sqlite', '@photostructure/sqlite'] as const)
  : (['@photostructure/sqlite'] as const)

for (const backend of backends) {
  runDriverContract(
    `node-sqlite (${backend})`,
    {
      open: (options) => nodeSqlite({ ...options, backend }),
      // Child processes of the stress suite import the built package from here.
      module: new URL('../dist/index.mjs', import.meta.url).href,
      exportName: 'nodeSqlite',
      options: { backend },
    },
    {
      knownGaps: [
        // node:sqlite binds missing parameters as NULL and prepares only the first of several
        // statements (it has no parameter count and ignores the tail); neither is detectable cheaply.
        'params.missing-positional-throws',
        'prepare.rejects-multiple-statements',
        ...(backend === '@photostructure/sqlite'
          ? [
              // The shim binds subnormal doubles as 0 (node:sqlite itself does not).
              'types.real-subnormal',
            ]
          : []),
      ],
    },
  )
}
