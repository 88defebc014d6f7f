import { library } from '../../tsdown.base.ts'

// child.ts is the entry of the processes the stress suite forks (dist/child.mjs).
export default library(['src/index.ts', 'src/child.ts'])
