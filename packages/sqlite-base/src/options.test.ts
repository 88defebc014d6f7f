import { isAbsolute } from 'node:path'
import { ConfigError } from '@litepool/pool-core'
import { describe, expect, it } from 'vitest'
import { resolveSqliteOptions, SQLITE_DEFAULTS } from './options.js'

const issuesOf = (input: unknown, extra = {}) => {
  try {
    resolveSqliteOptions(input, 'test options', extra)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as ConfigError).issues
  }
  return expect.fail('expected a ConfigError')
}

describe('resolveSqliteOptions', () => {
  it('applies the defaults and resolves the file to an absolute path', () => {
    const o = resolveSqliteOptions({ filename: 'app.db' }, 'test options')
    expect(isAbsolute(o.filename)).toBe(true)
    expect(o).toMatchObject({
      memory: false,
      readonly: false,
      safeIntegers: false,
      busyTimeoutMs: SQLITE_DEFAULTS.busyTimeoutMs,
      statementCacheSize: 100,
      autoCheckpointPages: 0,
      journalSizeLimitBytes: 64 * 1024 * 1024,
      checkpoint: {
        restartAtBytes: 16 * 1024 * 1024,
        truncateAtBytes: 64 * 1024 * 1024,
        stepMs: 0,
      },
      pragmas: {},
    })
    expect(Object.isFrozen(o)).toBe(true)
  })

  it("treats ':memory:' and '' as private in-memory databases, kept as given", () => {
    expect(resolveSqliteOptions({ filename: ':memory:' }, 's')).toMatchObject({
      memory: true,
      filename: ':memory:',
    })
    expect(resolveSqliteOptions({ filename: '' }, 's')).toMatchObject({
      memory: true,
      filename: '',
    })
  })

  it('keeps 0 as a value (0 means off), never replacing it by the default', () => {
    const o = resolveSqliteOptions(
      {
        filename: 'a.db',
        busyTimeoutMs: 0,
        statementCacheSize: 0,
        checkpoint: { restartAtBytes: 0, stepMs: 0 },
      },
      's',
    )
    expect(o.busyTimeoutMs).toBe(0)
    expect(o.statementCacheSize).toBe(0)
    expect(o.checkpoint).toEqual({
      restartAtBytes: 0,
      truncateAtBytes: SQLITE_DEFAULTS.truncateAtBytes,
      stepMs: 0,
    })
  })

  it('lists every invalid field with path, expected and received', () => {
    const issues = issuesOf({
      filename: null,
      readonly: 'yes',
      busyTimeoutMs: 1.5,
      safeIntegers: 1,
      statementCacheSize: -1,
      journalSizeLimitBytes: -2,
      autoCheckpointPages: Number.NaN,
      checkpoint: { restartAtBytes: '1MB', stepMs: -1, nope: 1 },
      pragmas: { 'x;drop': 1, cache_size: 'a b', query_only: false },
      typo: 1,
    })
    expect(issues.map((i) => i.path).sort()).toEqual(
      [
        'autoCheckpointPages',
        'busyTimeoutMs',
        'checkpoint.nope',
        'checkpoint.restartAtBytes',
        'checkpoint.stepMs',
        'filename',
        'journalSizeLimitBytes',
        'pragmas.cache_size',
        'pragmas.query_only',
        'pragmas.x;drop',
        'readonly',
        'safeIntegers',
        'statementCacheSize',
        'typo',
      ].sort(),
    )
    const byPath = new Map(issues.map((i) => [i.path, i]))
    expect(byPath.get('filename')).toEqual({
      path: 'filename',
      expected: 'a string (path, or ":memory:")',
      received: 'null',
    })
    expect(byPath.get('checkpoint.restartAtBytes')?.received).toBe('"1MB"')
    expect(byPath.get('pragmas.query_only')?.expected).toMatch(/litepool manages it/)
  })

  it('rejects a non-object and accepts driver-specific keys and issues', () => {
    expect(issuesOf(undefined)).toEqual([
      { path: '(root)', expected: 'an options object', received: 'undefined' },
    ])
    const extra = {
      knownKeys: ['nativeBinding'],
      issues: [{ path: 'nativeBinding', expected: 'a path', received: '3' }],
    }
    expect(issuesOf({ filename: 'a.db', nativeBinding: 3 }, extra).map((i) => i.path)).toEqual([
      'nativeBinding',
    ])
  })

  it('accepts numbers, booleans, keywords and schema-qualified pragma names', () => {
    const o = resolveSqliteOptions(
      {
        filename: 'a.db',
        pragmas: {
          'main.cache_size': -2000,
          temp_store: 'MEMORY',
          recursive_triggers: true,
          mmap_size: '-1',
        },
      },
      's',
    )
    expect(Object.keys(o.pragmas)).toEqual([
      'main.cache_size',
      'temp_store',
      'recursive_triggers',
      'mmap_size',
    ])
  })
})
