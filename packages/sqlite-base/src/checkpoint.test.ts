import { describe, expect, it } from 'vitest'
import { chooseCheckpointMode, nextCheckpointStep, walSize } from './checkpoint.js'

describe('checkpoint policy', () => {
  const thresholds = { restartAtBytes: 100, truncateAtBytes: 1000, stepMs: 10 }
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
    expect(
      chooseCheckpointMode('idle', 10_000, { restartAtBytes: 0, truncateAtBytes: 0, stepMs: 0 }),
    ).toBe('PASSIVE')
  })

  it('walSize is 0 for a database without a -wal file', () => {
    expect(walSize('/nonexistent/litepool.db')).toBe(0)
  })

  it('sizes the next checkpoint step to the time budget, moving at most 2x per step', () => {
    expect(nextCheckpointStep(256, 256, 20, 10)).toBe(128) // took twice the budget
    expect(nextCheckpointStep(256, 256, 80, 10)).toBe(128) // far over: still only halves
    expect(nextCheckpointStep(256, 256, 8, 10)).toBe(320) // a little under: grows to fit
    expect(nextCheckpointStep(256, 256, 0, 10)).toBe(512) // unmeasurably fast: doubles
    expect(nextCheckpointStep(256, 0, 5, 10)).toBe(512) // no commits counted: doubles
    expect(nextCheckpointStep(20, 20, 100, 10)).toBe(16) // never below 16 commits
    expect(nextCheckpointStep(60_000, 60_000, 1, 10)).toBe(65_536) // never above 65 536
  })
})
