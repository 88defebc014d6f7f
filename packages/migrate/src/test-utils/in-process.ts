import { runCli } from '../cli-run.js'
import type { CliResult } from './setup.js'

/** How an in-process run sees its "process"; defaults: no env, not a TTY, the test's cwd. */
export interface InProcessOptions {
  readonly cwd?: string
  readonly env?: Readonly<Record<string, string>>
  readonly isTTY?: boolean
}

/**
 * Runs `litepool-migrate` in this process (so coverage sees it), capturing its output. The forked
 * `runCli` of `setup.ts` stays the proof that the built bin works.
 */
export async function cli(
  argv: readonly string[],
  options: InProcessOptions = {},
): Promise<CliResult> {
  let stdout = ''
  let stderr = ''
  const code = await runCli(argv, {
    stdout: (text) => {
      stdout += text
    },
    stderr: (text) => {
      stderr += text
    },
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    isTTY: options.isTTY ?? false,
  })
  return { code, signal: null, stdout, stderr }
}

/** An ANSI colour escape. */
export const ANSI: RegExp = new RegExp(`${String.fromCharCode(27)}\\[\\d+m`)
