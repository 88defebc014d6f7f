import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// Runs this package's tests against another Kysely release (e.g. 0.29, which needs Node 22+):
// `kysely` and `kysely/migration` are aliased to KYSELY_DIR, for the tests and for the built
// dialect (inlined, so the alias reaches its own `import 'kysely'`). See compat/kysely-compat.sh.
const kyselyDir = process.env.KYSELY_DIR
if (kyselyDir === undefined) throw new TypeError('set KYSELY_DIR to an installed kysely package')
const root = fileURLToPath(new URL('..', import.meta.url))
const exportsMap = JSON.parse(readFileSync(`${kyselyDir}/package.json`, 'utf8')).exports

/** The ESM file of an export of the installed Kysely (0.28: dist/esm/…, 0.29: dist/…). */
function entry(subpath: string): string {
  let target: unknown = exportsMap[subpath]
  while (typeof target === 'object' && target !== null) {
    const conditions = target as Record<string, unknown>
    target = conditions.import ?? conditions.default
  }
  if (typeof target !== 'string') throw new TypeError(`kysely has no ESM export ${subpath}`)
  return `${kyselyDir}/${target}`
}

export default defineConfig({
  resolve: {
    alias: [
      { find: /^kysely$/, replacement: entry('.') },
      ...(exportsMap['./migration'] === undefined
        ? []
        : [{ find: /^kysely\/migration$/, replacement: entry('./migration') }]),
    ],
  },
  test: {
    root,
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    server: { deps: { inline: [/packages\/kysely\/dist/, /@litepool\/kysely/] } },
  },
})
