#!/usr/bin/env node
// Architecture checks that Biome cannot express, run by `pnpm lint`. Fails with `file:line: rule:
// message` lines (clickable in editors and CI logs) when:
//
//   core-no-sqlite      packages/pool-core/src imports a SQLite driver or any module whose
//                       specifier mentions sqlite (the core knows nothing about SQLite: 0001)
//   no-relative-cross   a packages/*/src file imports a file outside its own package by relative
//                       path; other packages are imported by name, through their exports map
//   no-bare-error       `new Error(` in a non-test source file: throw a PoolError subclass with a
//                       stable code instead
//   max-lines           a non-test source file longer than 500 lines
//
// Comments are ignored by every rule; string contents are ignored by no-bare-error.
// Plain Node ESM, no dependencies.

import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const MAX_LINES = 500
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const packagesDir = join(root, 'packages')
const SOURCE = /\.(?:[cm]?[jt]s|tsx|jsx)$/
const TEST = /\.(?:test|spec|bench)\.[cm]?[jt]sx?$/
/** Module specifiers that load SQLite: anything naming sqlite, plus libsql and sql.js. */
const SQLITE_SPECIFIER = /sqlite|libsql|^sql\.js$/i

const violations = []
let filesChecked = 0

for (const pkg of readdirSync(packagesDir, { withFileTypes: true })) {
  if (!pkg.isDirectory()) continue
  const pkgRoot = join(packagesDir, pkg.name)
  for (const file of walk(join(pkgRoot, 'src'))) {
    filesChecked++
    checkFile(file, pkg.name, pkgRoot)
  }
}

violations.sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1))
for (const v of violations) console.error(`${v.file}:${v.line}: ${v.rule}: ${v.message}`)
const summary = `check-boundaries: ${filesChecked} source file${filesChecked === 1 ? '' : 's'} checked, ${violations.length} violation${violations.length === 1 ? '' : 's'}`
if (violations.length > 0) {
  console.error(summary)
  process.exit(1)
}
console.log(summary)

function checkFile(file, pkgName, pkgRoot) {
  const text = readFileSync(file, 'utf8')
  const rel = relative(root, file).split(sep).join('/')
  const isTest = TEST.test(file) || rel.split('/').includes('test-utils')
  const code = blank(text, { strings: false })
  const report = (index, rule, message) =>
    violations.push({ file: rel, line: lineOf(code, index), rule, message })

  for (const { specifier, index } of importSpecifiers(code)) {
    if (pkgName === 'pool-core' && SQLITE_SPECIFIER.test(specifier)) {
      report(
        index,
        'core-no-sqlite',
        `pool-core must not import '${specifier}': the core knows nothing about SQLite (docs/decisions/0001-driver-agnostic-core.md)`,
      )
    }
    if (specifier.startsWith('.')) {
      const target = resolve(dirname(file), specifier)
      if (target !== pkgRoot && !target.startsWith(pkgRoot + sep)) {
        const other = relative(packagesDir, target).split(sep)[0]
        const hint =
          other && !other.startsWith('..') ? ` (import '@litepool/${other}' by name)` : ''
        report(index, 'no-relative-cross', `'${specifier}' leaves packages/${pkgName}${hint}`)
      }
    }
  }

  if (!isTest) {
    const bare = blank(text, { strings: true })
    for (const match of bare.matchAll(/\bnew\s+Error\s*\(/g)) {
      report(
        match.index,
        'no-bare-error',
        'throw a PoolError subclass with a stable code instead of new Error(',
      )
    }
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0)
    if (lines > MAX_LINES) {
      violations.push({
        file: rel,
        line: MAX_LINES + 1,
        rule: 'max-lines',
        message: `${lines} lines (max ${MAX_LINES}): split it by role`,
      })
    }
  }
}

/** Every module specifier: import/export … from, side-effect import, import(), require(), getBuiltinModule(), *.resolve(). */
function* importSpecifiers(code) {
  const patterns = [
    /\bfrom\s*(['"])([^'"\n]+)\1/g,
    /\bimport\s*(['"])([^'"\n]+)\1/g,
    /\b(?:import|require|getBuiltinModule|import\.meta\.resolve|require\.resolve)\s*\(\s*(['"`])([^'"`\n$]+)\1/g,
  ]
  for (const pattern of patterns) {
    for (const match of code.matchAll(pattern)) yield { specifier: match[2], index: match.index }
  }
}

/**
 * Replaces comments (and, with `strings`, the contents of string and template literals) by spaces,
 * keeping every newline and offset, so matches map back to the original line numbers.
 */
function blank(text, { strings }) {
  let out = ''
  let i = 0
  const keep = (s) => {
    out += s
  }
  const erase = (s) => {
    out += s.replace(/[^\n]/g, ' ')
  }
  while (i < text.length) {
    const c = text[i]
    const next = text[i + 1]
    if (c === '/' && next === '/') {
      const end = text.indexOf('\n', i)
      const stop = end === -1 ? text.length : end
      erase(text.slice(i, stop))
      i = stop
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2)
      const stop = end === -1 ? text.length : end + 2
      erase(text.slice(i, stop))
      i = stop
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1
      while (j < text.length && text[j] !== c) {
        if (text[j] === '\\') j++
        else if (c !== '`' && text[j] === '\n') break
        j++
      }
      const literal = text.slice(i, j + 1)
      if (strings) {
        keep(c)
        erase(literal.slice(1, -1))
        keep(literal.length > 1 ? literal.at(-1) : '')
      } else {
        keep(literal)
      }
      i = j + 1
    } else {
      keep(c)
      i++
    }
  }
  return out
}

function lineOf(text, index) {
  let line = 1
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++
  return line
}

function* walk(dir) {
  let entries
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch {
    return
  }
  for (const entry of entries) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') yield* walk(path)
    } else if (SOURCE.test(entry.name)) {
      yield path
    }
  }
}
