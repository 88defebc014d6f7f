import { existsSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const repo = fileURLToPath(new URL('.', import.meta.url))

// One vitest project per workspace package, named by its folder (`--project pool-core`).
// Tests import sibling packages by name, so they run against each package's built `dist/`
// (decision 0005).
// LITEPOOL_PROJECTS (comma separated) limits the run, e.g. the Node 24 leg of CI.
const only = process.env.LITEPOOL_PROJECTS?.split(',')

// Coverage is measured on the sources: a coverage run resolves `@litepool/<name>` to
// `packages/<name>/src/index.ts` (child processes the tests fork still run the built files).
const fromSource = process.argv.some((arg) => arg.startsWith('--coverage'))
const sourceAliases = fromSource
  ? readdirSync(`${repo}packages`)
      .filter((name) => existsSync(`${repo}packages/${name}/src/index.ts`))
      .map((name) => ({
        find: new RegExp(`^@litepool/${name}$`),
        replacement: `${repo}packages/${name}/src/index.ts`,
      }))
  : []
const projects = ['packages', 'apps'].flatMap((dir) =>
  readdirSync(`${repo}${dir}`)
    .filter((name) => existsSync(`${repo}${dir}/${name}/package.json`))
    .filter((name) => !only || only.includes(name))
    .map((name) => ({
      resolve: { alias: sourceAliases },
      test: {
        name,
        root: `${repo}${dir}/${name}`,
        include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
        testTimeout: 30_000,
        hookTimeout: 30_000,
      },
    })),
)

export default defineConfig({
  test: {
    projects,
    passWithNoTests: false,
    coverage: {
      provider: 'v8',
      include: ['packages/*/src/**/*.ts'],
      exclude: ['**/*.test.ts', '**/*.bench.ts', '**/test-utils/**'],
      reporter: ['text-summary', 'text', 'json-summary'],
      reportOnFailure: true,
    },
  },
})
