// Checks what `pnpm build` produced: an API page for every package that has an entry point
// (packages/*/src/index.ts), and a built HTML page for every guide page and every package's API
// index. Run after the build (`pnpm --filter @litepool/docs-site build && … test`).
// Packages without an entry point yet are listed, not failed: they have no API to document.

import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const site = join(dirname(fileURLToPath(import.meta.url)), '..')
const packagesDir = join(site, '..', '..', 'packages')
const dist = join(site, '.vitepress', 'dist')
/** @type {string[]} */
const problems = []
/** @type {string[]} */
const notes = []
let checked = 0

/** @param {string} path @param {string} what */
const need = (path, what) => {
  checked++
  if (!existsSync(path)) problems.push(`missing ${relative(site, path)} (${what})`)
}

if (!existsSync(join(site, 'api')) || !existsSync(dist)) {
  console.error('check-site: no build output; run `pnpm --filter @litepool/docs-site build` first')
  process.exit(1)
}

for (const folder of readdirSync(packagesDir).sort()) {
  const manifestPath = join(packagesDir, folder, 'package.json')
  if (!existsSync(manifestPath)) continue
  const { name, private: isPrivate } = JSON.parse(readFileSync(manifestPath, 'utf8'))
  if (isPrivate) continue
  if (!existsSync(join(packagesDir, folder, 'src', 'index.ts'))) {
    notes.push(`${name}: no src/index.ts yet, no API pages expected`)
    continue
  }
  need(join(site, 'api', name, 'index.md'), `TypeDoc page for ${name}`)
  need(join(dist, 'api', name, 'index.html'), `built API page for ${name}`)
}

for (const page of ['index', 'getting-started', 'api/index']) {
  need(join(dist, `${page}.html`), 'built page')
}
for (const file of readdirSync(join(site, 'guide')).filter((f) => f.endsWith('.md'))) {
  need(join(dist, 'guide', file.replace(/\.md$/, '.html')), `built guide page for ${file}`)
}

for (const note of notes) console.log(`note: ${note}`)
for (const problem of problems) console.error(`✗ ${problem}`)
console.log(`check-site: ${checked - problems.length} passed, ${problems.length} failed`)
process.exit(problems.length > 0 ? 1 : 0)
