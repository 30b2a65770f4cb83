/**
 * The goroutine parser alone, in one process: parseGoroutineText on the dumps goroutines.bench.ts
 * generates, at any value (args: false) and at any pointer (args and maskPointers, as
 * `--similarity any-pointer` parses), in turns, best of N; how many goroutines matched a block
 * (FrameMatcher's block: all their lines at once), and how many frames at any pointer were masked
 * (its maskedFrame) rather than matched by a block or a site's templates. No start-up
 * or reading in the times: what the two similarities cost apart. Not part of the test suite:
 *   node --import tsx bench/goroutine-parse.ts [--runs 6]   # after goroutines.bench.ts
 * Run it in a worktree of an older commit to compare (the dumps stay in the same tmpdir).
 */
import { existsSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { FrameMatcher } from '../src/sources/formats/goroutine-frames.ts'
import {
  type GoroutineTextOptions,
  parseGoroutineText,
} from '../src/sources/formats/goroutine-text.ts'
import { machine } from './measure.ts'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '6' } } })
const runs = Number(values.runs)
const dir = join(tmpdir(), 'gomemdoctor-bench')
const dumps = ['goroutines-200k.txt', 'goroutines-200k-distinct.txt'].map(name => join(dir, name))
if (!dumps.every(existsSync)) {
  console.error(`no dumps in ${dir}: run bench/goroutines.bench.ts first`)
  process.exit(2)
}

// Counting by wrapping the private method: bench-only, so the hot path carries no counter.
let masked = 0
const methods = FrameMatcher.prototype as unknown as Record<string, (...args: unknown[]) => number>
const maskedFrame = methods.maskedFrame
if (!maskedFrame) throw new Error('FrameMatcher has no maskedFrame: update this bench')
methods.maskedFrame = function (this: unknown, ...args: unknown[]) {
  masked++
  return maskedFrame.apply(this, args)
}
// And the goroutines whose lines matched a block (FrameMatcher.block), read as one.
let blocks = 0
const block = methods.block
if (!block) throw new Error('FrameMatcher has no block: update this bench')
methods.block = function (this: unknown, ...args: unknown[]) {
  const found = block.apply(this, args) as unknown
  if (found !== undefined) blocks++
  return found as number
}

const similarities: [string, GoroutineTextOptions][] = [
  ['any value', { args: false }],
  ['any pointer', { args: true, maskPointers: true }],
]
console.log(machine())
for (const file of dumps) {
  const bytes = readFileSync(file)
  const times = new Map<string, number[]>(similarities.map(([name]) => [name, []]))
  let frames = 0
  let maskedAtAnyPointer = 0
  const matched = new Map<string, number>()
  let goroutines = 0
  for (let run = 0; run < runs; run++)
    for (const [name, options] of similarities) {
      masked = 0
      blocks = 0
      const at = performance.now()
      const dump = parseGoroutineText(bytes, file, options)
      times.get(name)?.push(performance.now() - at)
      matched.set(name, blocks)
      goroutines = dump.records.length
      if (options.maskPointers) {
        maskedAtAnyPointer = masked
        frames = dump.records.reduce((sum, record) => sum + record.frames.length, 0)
      }
    }
  console.log(file)
  for (const [name, ms] of times) {
    const sorted = ms.sort((a, b) => a - b).map(t => t.toFixed(0))
    console.log(
      `  ${name}: best ${sorted[0]} ms of ${runs} (${sorted.join(' ')}); ${(matched.get(name) ?? 0).toLocaleString('en-US')} of ${goroutines.toLocaleString('en-US')} goroutines matched a block`,
    )
  }
  console.log(
    `  any pointer: ${maskedAtAnyPointer.toLocaleString('en-US')} of ${frames.toLocaleString('en-US')} frames masked`,
  )
}
