import { library } from '../../tsdown.base.ts'

// Two entries: the library, and the script each worker thread runs (dist/worker.mjs).
export default library({ index: 'src/index.ts', worker: 'src/threads/worker.ts' })
