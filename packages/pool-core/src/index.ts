/**
 * `@litepool/pool-core`: a driver-agnostic async connection pool with one writer lane and many
 * readers, nested transactions, health checks, recycling, leak detection and graceful shutdown.
 * It knows nothing about SQL; drivers such as `@litepool/driver-better-sqlite3` supply that.
 *
 * @packageDocumentation
 */

export type {
  AcquireOptions,
  BoundContext,
  CallOptions,
  CloseOptions,
  IterateCallOptions,
  QueryOptions,
  ReadOptions,
  TransactionOptions,
} from './call-options.js'
export type { PoolOptions, ResolvedOptions, ThreadChoice, WorkerOptions } from './config.js'
export { trackAsyncContext } from './context.js'
export type {
  Driver,
  DriverCapabilities,
  MaintenanceReason,
  MaybePromise,
  Role,
  TransactionControl,
  TransactionMode,
  WorkerReaders,
} from './driver.js'
export type { CloseReason, EntryState } from './entry.js'
export {
  AcquireAbortedError,
  AcquireTimeoutError,
  ConfigError,
  type ConfigIssue,
  ConnectionHealthError,
  ConnectionReleasedError,
  DatabaseError,
  type DatabaseErrorKind,
  isBusyError,
  LockTimeoutError,
  PoolClosedError,
  PoolError,
  TransactionError,
} from './errors.js'
export { CHANNELS, type ChannelName } from './events.js'
export type { Lease } from './lease.js'
export { type BusyRetry, retryWhileBusy } from './lock.js'
export { consoleLogger, type Logger, silentLogger } from './logger.js'
export { PoolManager, type PoolManagerOptions } from './manager.js'
export type { HistogramSnapshot, PoolMetrics } from './metrics.js'
export { createPool, type ParamsOf, Pool } from './pool.js'
export type { RoutedRead } from './queries.js'
export {
  describeStatus,
  type HolderStatus,
  type LaneRole,
  type LaneStatus,
  type PoolState,
  type PoolStatus,
  type Purpose,
} from './status.js'
