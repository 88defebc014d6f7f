#!/usr/bin/env node
// litepool-migrate: the bin. Everything else is in cli-run.ts, which tests run in-process.
import { runCli } from './cli-run.js'

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  isTTY: process.stdout.isTTY === true,
})
