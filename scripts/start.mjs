#!/usr/bin/env node
// The Quick start, for a fresh machine that has only Node and npm (no pnpm, no node_modules).
//
//   node scripts/start.mjs            npm start:  pnpm → install → build → demo (→ quick bench)
//   node scripts/start.mjs --test     npm test:   pnpm → install → build → every test
//   node scripts/start.mjs --setup    pnpm → install → build, nothing else
//
// Arguments after `--` are passed to vitest in --test mode (`npm test -- --project pool-core`).
// Plain Node ESM with no dependencies: it must run before anything is installed.
// Each step is logged; the first failing step is named and its exit code returned.

import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const PNPM_VERSION = '12.4.2'
const MIN_NODE = [20, 19]
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const isWindows = process.platform === 'win32'

const argv = process.argv.slice(2)
const dashDash = argv.indexOf('--')
const flags = dashDash === -1 ? argv : argv.slice(0, dashDash)
const passThrough = dashDash === -1 ? [] : argv.slice(dashDash + 1)
const mode = flags.includes('--test') ? 'test' : flags.includes('--setup') ? 'setup' : 'start'
const unknown = flags.filter((f) => !['--test', '--setup'].includes(f))
if (unknown.length > 0) {
  console.error(
    `start: unknown argument ${unknown.join(' ')} (known: --test, --setup, -- <vitest args>)`,
  )
  process.exit(2)
}

const env = {
  ...process.env,
  // Never wait for a keypress from corepack when it provides pnpm (CI has no stdin).
  COREPACK_ENABLE_DOWNLOAD_PROMPT: '0',
}

let stepNumber = 0
const started = Date.now()

/** Logs a step header. */
function step(title) {
  stepNumber++
  console.log(`\n▶ [${stepNumber}] ${title}`)
}

/** Stops with the failing step named. */
function fail(what, code = 1) {
  console.error(`\n✗ start: step "${what}" failed${code === 1 ? '' : ` (exit code ${code})`}.`)
  process.exit(typeof code === 'number' && code !== 0 ? code : 1)
}

/** Runs a command with inherited output; fails the script (naming `what`) on a non-zero exit. */
function run(what, command, args, options = {}) {
  console.log(`  $ ${[command, ...args].join(' ')}`)
  const result = spawnSync(command, args, {
    cwd: root,
    env,
    stdio: 'inherit',
    // .cmd shims (pnpm.cmd, npx.cmd) need a shell on Windows.
    shell: isWindows,
    ...options,
  })
  if (result.error) {
    console.error(`  ${result.error.message}`)
    fail(what)
  }
  if (result.status !== 0) fail(what, result.status ?? 1)
}

/** Runs a command quietly and returns its trimmed stdout, or undefined if it did not succeed. */
function probe(command, args) {
  const result = spawnSync(command, args, {
    cwd: root,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    shell: isWindows,
    timeout: 120_000,
  })
  return result.status === 0 ? result.stdout.trim() : undefined
}

/** The pnpm command (and leading arguments) to use, installing pnpm when needed. */
function findPnpm() {
  step(`find pnpm ${PNPM_VERSION}`)
  const onPath = probe('pnpm', ['--version'])
  if (onPath === PNPM_VERSION) {
    console.log(`  pnpm ${onPath} is on PATH`)
    return ['pnpm']
  }
  console.log(
    onPath ? `  pnpm on PATH is ${onPath}, need ${PNPM_VERSION}` : '  pnpm is not on PATH',
  )

  step(`install pnpm ${PNPM_VERSION} (npm i -g)`)
  console.log(`  $ npm i -g pnpm@${PNPM_VERSION}`)
  const global = spawnSync('npm', ['i', '-g', `pnpm@${PNPM_VERSION}`], {
    cwd: root,
    env,
    stdio: 'inherit',
    shell: isWindows,
  })
  if (global.status === 0) {
    if (probe('pnpm', ['--version']) === PNPM_VERSION) return ['pnpm']
    // Installed, but another pnpm comes first on PATH: use the one npm just installed.
    const prefix = probe('npm', ['prefix', '-g'])
    if (prefix) {
      const bin = isWindows ? join(prefix, 'pnpm.cmd') : join(prefix, 'bin', 'pnpm')
      if (existsSync(bin) && probe(bin, ['--version']) === PNPM_VERSION) {
        console.log(`  using ${bin}`)
        return [bin]
      }
    }
    console.log('  the global install did not give a usable pnpm on PATH')
  } else {
    console.log('  global install failed (no permission?)')
  }

  step(`fall back to npx -y pnpm@${PNPM_VERSION}`)
  if (probe('npx', ['-y', `pnpm@${PNPM_VERSION}`, '--version']) === PNPM_VERSION) {
    return ['npx', '-y', `pnpm@${PNPM_VERSION}`]
  }
  fail(`find or install pnpm ${PNPM_VERSION}`)
}

/**
 * Native modules here (better-sqlite3, @photostructure/sqlite) fall back to compiling from source
 * with node-gyp when no prebuilt binary fits. node-gyp then downloads the Node headers from
 * nodejs.org — pnpm 12 even does so up front — which fails offline or behind a registry-only
 * proxy. A Node installed from the distribution ships its headers in /usr/include/node;
 * `npm_config_nodedir=/usr` points node-gyp at them instead. Only when they match the running
 * Node's major version: headers of another Node would build an addon that cannot load.
 */
function useSystemNodeHeaders() {
  if (env.npm_config_nodedir) return
  const header = '/usr/include/node/node.h'
  const versionHeader = '/usr/include/node/node_version.h'
  if (!existsSync(header) || !existsSync(versionHeader)) return
  const major = /#define NODE_MAJOR_VERSION (\d+)/.exec(readFileSync(versionHeader, 'utf8'))?.[1]
  if (major !== process.versions.node.split('.')[0]) {
    console.log(
      `  /usr/include/node is for Node ${major}, not ${process.versions.node}: not using it`,
    )
    return
  }
  env.npm_config_nodedir = '/usr'
  console.log('  npm_config_nodedir=/usr (use the system Node headers for native builds)')
}

function checkNode() {
  step('check Node')
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number)
  const [needMajor, needMinor] = MIN_NODE
  console.log(`  Node ${process.versions.node} on ${process.platform}-${process.arch}`)
  if (major < needMajor || (major === needMajor && minor < needMinor)) {
    console.error(
      `  litepool needs Node ${needMajor}.${needMinor} or newer (see README, Supported Node versions)`,
    )
    fail('check Node')
  }
}

function main() {
  console.log(`litepool ${mode} in ${root}`)
  checkNode()
  const [pnpm, ...pnpmArgs] = findPnpm()
  const p = (...args) => [pnpm, [...pnpmArgs, ...args]]

  step('install dependencies')
  useSystemNodeHeaders()
  const frozen = existsSync(join(root, 'pnpm-lock.yaml'))
  if (!frozen) console.log('  no pnpm-lock.yaml: plain install (this writes one)')
  run('install dependencies', ...p('install', ...(frozen ? ['--frozen-lockfile'] : [])))

  step('build')
  run('build', ...p('build'))

  if (mode === 'test') {
    step('test')
    run('test', ...p('exec', 'vitest', 'run', ...passThrough))
  } else if (mode === 'start') {
    const demo = join(root, 'scripts', 'demo.mjs')
    if (existsSync(demo)) {
      step('demo')
      run('demo', process.execPath, [demo], { shell: false })
    } else {
      console.log('\n  (no scripts/demo.mjs yet: nothing to demo)')
    }
    if (hasQuickBench()) {
      step('quick benchmark')
      run('quick benchmark', ...p('bench', '--quick'))
    }
  }

  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  console.log(`\n✓ ${mode} finished in ${seconds} s`)
}

/** True once apps/bench has a `bench` script (the issue-8 benchmark app). */
function hasQuickBench() {
  const manifest = join(root, 'apps', 'bench', 'package.json')
  if (!existsSync(manifest)) return false
  try {
    return typeof JSON.parse(readFileSync(manifest, 'utf8')).scripts?.bench === 'string'
  } catch {
    return false
  }
}

main()
