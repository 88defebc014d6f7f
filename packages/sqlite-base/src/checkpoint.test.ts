import { describe, expect, it } from 'vitest'
import { chooseCheckpointMode, walSize } from './checkpoint.js'

describe('checkpoint policy', () => {
  const thresholds = { restartAtBytes: 100, truncateAtBytes: 1000 }
  it.each([
    ['idle', 0, undefined],
    ['idle', 50, 'PASSIVE'],
    ['interval', 100, 'RESTART'],
    ['interval', 999, 'RESTART'],
    ['idle', 1000, 'TRUNCATE'],
    ['close', 0, 'TRUNCATE'],
  ] as const)('%s with a %i-byte WAL → %s', (reason, bytes, mode) => {
    expect(chooseCheckpointMode(reason, bytes, thresholds)).toBe(mode)
  })

  it('a threshold of 0 turns that escalation off', () => {
    expect(chooseCheckpointMode('idle', 10_000, { restartAtBytes: 0, truncateAtBytes: 0 })).toBe(
      'PASSIVE',
    )
  })

  it('walSize is 0 for a database without a -wal file', () => {
    expect(walSize('/nonexistent/litepool.db')).toBe(0)
  })
})
