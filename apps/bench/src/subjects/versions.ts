import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)

/** The installed version of a dependency of the bench (read from its package.json). */
export function packageVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version
  } catch {
    // Packages whose exports map hides package.json: walk up from the entry point.
    try {
      let dir = dirname(require.resolve(name))
      for (let i = 0; i < 5; i++, dir = dirname(dir)) {
        try {
          const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
            name?: string
            version?: string
          }
          if (manifest.name === name && manifest.version) return manifest.version
        } catch {}
      }
    } catch {}
    return 'unknown'
  }
}
