import { defineConfig } from 'tsdown'

// The bench runs from source with tsx (`pnpm bench`); the build checks that it bundles and gives a
// runnable `node dist/main.mjs` too. The worker is its own entry: contention forks it by file.
export default defineConfig({
  entry: ['src/main.ts', 'src/contention-worker.ts'],
  format: 'esm',
  platform: 'node',
  target: 'node20',
  dts: false,
  sourcemap: true,
})
