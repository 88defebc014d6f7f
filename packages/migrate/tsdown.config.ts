import { library } from '../../tsdown.base.ts'

// cli.ts starts with a shebang, which tsdown keeps in dist/cli.mjs (the `bin`).
export default library(['src/index.ts', 'src/cli.ts'])
