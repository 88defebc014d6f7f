/**
 * The contract suite every litepool SQLite driver runs: `runDriverContract` (and the slower
 * `runDriverStress`) register vitest tests against a driver built by a harness.
 *
 * @packageDocumentation
 */
export {
  CONTRACT_SCENARIOS,
  type ContractOptions,
  runDriverContract,
  runDriverStress,
  STRESS_SCENARIOS,
  unknownGapKeys,
} from './contract.js'
export {
  createScenarioContext,
  type DriverHarness,
  type JsonValue,
  type ScenarioContext,
  type ScenarioPool,
  type ScenarioPoolOptions,
} from './harness.js'
export {
  countOpenFiles,
  countThreads,
  type Gate,
  gate,
  type OpenFiles,
  settlesTo,
  within,
} from './helpers.js'
export { type Child, type ChildResult, type ChildTask, forkChild, killAll } from './protocol.js'
export { type Scenario, scenarios } from './scenario.js'
