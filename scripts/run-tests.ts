// Node 20's test runner expands no globs, so the test files are listed here and handed to it
// explicitly (knip's run-test.js pattern). Arguments narrow the run to paths containing them.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'

function findTests(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : findTests(path)
    return entry.name.endsWith('.test.ts') ? [path] : []
  })
}

const filters = process.argv.slice(2)
const files = ['src', 'test']
  .flatMap(findTests)
  .filter(file => filters.length === 0 || filters.some(f => file.includes(f)))
  .sort()
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`)
  process.exit(2)
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', ...files],
  { stdio: 'inherit' },
)
process.exit(result.status ?? 1)
