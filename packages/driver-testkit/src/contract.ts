import { describe, expect, it } from 'vitest'
import { createScenarioContext, type DriverHarness } from './harness.js'
import type { Scenario } from './scenario.js'
import { connectionScenarios } from './scenarios/connection.js'
import { errorScenarios } from './scenarios/errors.js'
import { leftOpenScenarios } from './scenarios/left-open.js'
import { poolScenarios } from './scenarios/pool.js'
import { statementScenarios } from './scenarios/statements.js'
import { stressScenarios } from './scenarios/stress.js'
import { transactionScenarios } from './scenarios/transactions.js'
import { rowScenarios, typeScenarios } from './scenarios/values.js'
import { workerPoolScenarios } from './scenarios/worker-pool.js'
import { workerScenarios } from './scenarios/workers.js'

/**
 * Every scenario of the contract suite, in run order.
 *
 * @example
 * ```ts
 * const keys = CONTRACT_SCENARIOS.map((s) => s.key) // ['types.integer', …]
 * ```
 */
export const CONTRACT_SCENARIOS: readonly Scenario[] = Object.freeze([
  ...typeScenarios,
  ...rowScenarios,
  ...statementScenarios,
  ...errorScenarios,
  ...transactionScenarios,
  ...connectionScenarios,
  ...poolScenarios,
  ...leftOpenScenarios,
  ...workerScenarios,
  ...workerPoolScenarios,
])

/**
 * Every scenario of the stress suite.
 *
 * @example
 * ```ts
 * const keys = STRESS_SCENARIOS.map((s) => s.key) // ['stress.multi-process-writers', …]
 * ```
 */
export const STRESS_SCENARIOS: readonly Scenario[] = Object.freeze([...stressScenarios])

/**
 * Options of {@link runDriverContract} and {@link runDriverStress}.
 *
 * @example
 * ```ts
 * const options: ContractOptions = { knownGaps: ['iterate.write-during-iteration'] }
 * ```
 */
export interface ContractOptions {
  /**
   * Scenario keys the driver is known to fail. They run as `it.fails`, so a gap that gets fixed
   * turns the suite red until it is removed from this list. Unknown keys fail the run.
   */
  readonly knownGaps?: readonly string[]
}

/**
 * Keys in `knownGaps` that name no scenario in `list` (typos, renamed or removed scenarios).
 *
 * @example
 * ```ts
 * unknownGapKeys(['types.null', 'types.nul'], CONTRACT_SCENARIOS) // ['types.nul']
 * ```
 */
export function unknownGapKeys(knownGaps: readonly string[], list: readonly Scenario[]): string[] {
  const keys = new Set(list.map((s) => s.key))
  return knownGaps.filter((key) => !keys.has(key))
}

function register(
  name: string,
  harness: DriverHarness,
  list: readonly Scenario[],
  options: ContractOptions,
) {
  const gaps = new Set(options.knownGaps ?? [])
  describe(name, () => {
    it('knownGaps names only real scenario keys', () => {
      expect(unknownGapKeys([...gaps], list)).toEqual([])
    })
    for (const scenario of list) {
      const test = gaps.has(scenario.key) ? it.fails : it
      const title = `${scenario.key}: ${scenario.title}${gaps.has(scenario.key) ? ' (known gap)' : ''}`
      test(
        title,
        async () => {
          const { context, cleanup } = createScenarioContext(harness)
          try {
            await scenario.run(context)
          } finally {
            await cleanup()
          }
        },
        scenario.timeoutMs ?? 15_000,
      )
    }
  })
}

/**
 * Registers the driver contract suite with vitest: every scenario runs against the driver from
 * `harness` on a real SQLite file in a fresh temp directory. Call it from a driver's
 * `src/contract.test.ts`.
 *
 * @example
 * ```ts
 * import { runDriverContract } from '@litepool/driver-testkit'
 * import { betterSqlite3 } from '@litepool/driver-better-sqlite3'
 *
 * runDriverContract('better-sqlite3', {
 *   open: (options) => betterSqlite3(options),
 *   module: '@litepool/driver-better-sqlite3',
 *   exportName: 'betterSqlite3',
 * }, { knownGaps: ['iterate.write-during-iteration'] })
 * ```
 */
export function runDriverContract(
  name: string,
  harness: DriverHarness,
  options: ContractOptions = {},
): void {
  register(`${name}: driver contract`, harness, CONTRACT_SCENARIOS, options)
}

/**
 * Registers the stress suite (child processes on one file, event-loop delay, WAL growth). Slower
 * than the contract; call it from a driver's `src/*.stress.test.ts`. Results are printed as
 * `[litepool stress] …` lines.
 *
 * @example
 * ```ts
 * runDriverStress('better-sqlite3', harness)
 * ```
 */
export function runDriverStress(
  name: string,
  harness: DriverHarness,
  options: ContractOptions = {},
): void {
  register(`${name}: stress`, harness, STRESS_SCENARIOS, options)
}
