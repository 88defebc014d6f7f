import { defineConfig, type UserConfig } from 'tsdown'

/**
 * The one build configuration of every published package: ESM for Node 20+, `.d.mts` types and
 * source maps (coverage and stack traces map back to `src/`). A package passes only its entries.
 */
export function library(entry: string[] | Record<string, string> = ['src/index.ts']): UserConfig {
  return defineConfig({
    entry,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    dts: true,
    sourcemap: true,
  })
}
