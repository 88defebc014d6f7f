import { channel } from 'node:diagnostics_channel'

/**
 * Pool events on `node:diagnostics_channel`. Publishing is skipped entirely while a channel has
 * no subscriber, so an unobserved pool pays one property read per event site.
 *
 * @example
 * ```ts
 * import { subscribe } from 'node:diagnostics_channel'
 * import { CHANNELS } from '@litepool/pool-core'
 * subscribe(CHANNELS.timeout, (event) => console.warn('acquire timed out', event))
 * ```
 */
export const CHANNELS = {
  /** A connection was handed out. `{ pool, role, purpose, connection, waitMs }` */
  acquire: 'litepool:acquire',
  /** A connection came back. `{ pool, role, purpose, connection, useMs }` */
  release: 'litepool:release',
  /** A waiter gave up. `{ pool, role, waitMs, status }` */
  timeout: 'litepool:timeout',
  /** A connection was opened. `{ pool, role, createMs }` */
  connect: 'litepool:connect',
  /** Opening a connection failed. `{ pool, role, error }` */
  connectError: 'litepool:connect-error',
  /** A connection failed its health check. `{ pool, role, error }` */
  healthFailure: 'litepool:health-failure',
  /** A connection was closed. `{ pool, role, connection, reason }` */
  evict: 'litepool:evict',
  /** A callback held its connection longer than `slowThresholdMs`. `{ pool, role, purpose, connection, useMs }` */
  slow: 'litepool:slow',
  /** The driver's maintenance ran (SQLite: a checkpoint). `{ pool, reason, ms, error? }` */
  maintenance: 'litepool:maintenance',
} as const

/** Names of the pool's diagnostics channels. */
export type ChannelName = (typeof CHANNELS)[keyof typeof CHANNELS]

/** The channels, created once per process (channel objects are global by name). */
export const channels: { readonly [K in keyof typeof CHANNELS]: ReturnType<typeof channel> } = {
  acquire: channel(CHANNELS.acquire),
  release: channel(CHANNELS.release),
  timeout: channel(CHANNELS.timeout),
  connect: channel(CHANNELS.connect),
  connectError: channel(CHANNELS.connectError),
  healthFailure: channel(CHANNELS.healthFailure),
  evict: channel(CHANNELS.evict),
  slow: channel(CHANNELS.slow),
  maintenance: channel(CHANNELS.maintenance),
}
