// TypeDoc plugin: names each API module after its package (`@litepool/pool-core`) instead of its
// folder (`pool-core/src`), and uses the package description as the module summary when the entry
// point has no `@packageDocumentation` comment of its own.
import { readFileSync } from 'node:fs'
import { Comment, Converter, ReflectionKind } from 'typedoc'

const packagesDir = new URL('../../packages/', import.meta.url)

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const module of context.project.getChildrenByKind(ReflectionKind.Module)) {
      const folder = /^([\w.-]+)\/src$/.exec(module.name)?.[1]
      if (!folder) continue
      const manifest = JSON.parse(
        readFileSync(new URL(`${folder}/package.json`, packagesDir), 'utf8'),
      )
      module.name = manifest.name
      if (!module.comment && manifest.description) {
        module.comment = new Comment([{ kind: 'text', text: manifest.description }])
      }
    }
  })
}
