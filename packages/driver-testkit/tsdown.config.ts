import { defineConfig } from 'tsdown'

export default defineConfig({
  // child.ts is the entry of the processes the stress suite forks (dist/child.mjs).
  entry: ['src/index.ts', 'src/child.ts'],
  format: 'esm',
  platform: 'node',
  target: 'node20',
  dts: true,
  sourcemap: true,
})
