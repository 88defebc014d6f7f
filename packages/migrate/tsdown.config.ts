import { defineConfig } from 'tsdown'

export default defineConfig({
  // cli.ts starts with a shebang, which tsdown keeps in dist/cli.mjs (the `bin`).
  entry: ['src/index.ts', 'src/cli.ts'],
  format: 'esm',
  platform: 'node',
  target: 'node20',
  dts: true,
  sourcemap: true,
})
