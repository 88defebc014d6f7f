import type { ScenarioContext } from './harness.js'

/**
 * One contract scenario. `key` is stable across versions: drivers name it in `knownGaps`.
 *
 * @example
 * ```ts
 * const scenario: Scenario = {
 *   key: 'types.null',
 *   title: 'null round-trips',
 *   async run(t) { const c = await t.open(); expect(c.get('select null as x')).toEqual({ x: null }) },
 * }
 * ```
 */
export interface Scenario {
  readonly key: string
  readonly title: string
  /** Per-scenario timeout; the suite default is 15 s. */
  readonly timeoutMs?: number
  run(t: ScenarioContext): Promise<void> | void
}

/**
 * Builds a scenario list, keyed `${prefix}.${key}`.
 *
 * @example
 * ```ts
 * scenarios('types', [{ key: 'null', title: 'null round-trips', run }]) // key 'types.null'
 * ```
 */
export function scenarios(prefix: string, list: readonly Scenario[]): readonly Scenario[] {
  return list.map((s) => ({ ...s, key: `${prefix}.${s.key}` }))
}
