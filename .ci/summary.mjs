// Prints each test leg's totals from vitest's JSON reports, then one plain closing line.
import { readFileSync } from 'node:fs'

let passed = 0
let failed = 0
let skipped = 0
for (const file of process.argv.slice(2)) {
  const report = JSON.parse(readFileSync(file, 'utf8'))
  const leg = file.split('/').pop().replace('.json', '')
  const legSkipped = report.numPendingTests + report.numTodoTests
  console.log(
    `${leg}: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${legSkipped} skipped (${report.numTotalTestSuites} suites)`,
  )
  passed += report.numPassedTests
  failed += report.numFailedTests
  skipped += legSkipped
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`)
process.exit(failed > 0 || passed === 0 ? 1 : 0)
