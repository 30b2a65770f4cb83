/**
 * `gomemdoctor goroutines` against panicparse (Debian package `panicparse`, binary `panicparse`)
 * on the same generated dump of 200k goroutines, in one run: wall time and peak RSS, at
 * panicparse's default similarity (any pointer) and its -aggressive one (any value), with the
 * floor (floor.ts) beside them. Two dumps, each measured the same way: the one every figure
 * since 2026-11-29 was measured on (its generator's random numbers repeat: 6,023 distinct call
 * lines), and one whose every goroutine has its own pointers (mulberry32: ~1.5M distinct call
 * lines). Not part of the test suite:
 *   node --import tsx bench/goroutines.bench.ts [--runs 2]   # panicparse's runs; 10–30 s each
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { floorCommand, floorSteps } from './floor.ts'
import { writeGoroutineDump } from './gen-goroutine-dump.ts'
import { buildBundles, type Measurement, machine, measureInterleaved, report } from './measure.ts'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '2' } } })
const runs = Number(values.runs)
const bin = fileURLToPath(new URL('../bin/gomemdoctor.js', import.meta.url))
const dir = join(tmpdir(), 'gomemdoctor-bench')
mkdirSync(dir, { recursive: true })
const lcg = join(dir, 'goroutines-200k.txt')
const distinct = join(dir, 'goroutines-200k-distinct.txt')
if (!existsSync(lcg)) writeGoroutineDump(lcg)
if (!existsSync(distinct)) writeGoroutineDump(distinct, 'mulberry32')
const files = [
  { file: lcg, what: 'pointers from a short-cycled LCG' },
  { file: distinct, what: 'every goroutine its own pointers' },
]

const panicparse = '/usr/bin/panicparse'
if (!existsSync(panicparse)) {
  console.error('panicparse is not installed: apt-get install -y panicparse')
  process.exit(2)
}
// dpkg-query's format field, not a template.
const version = execFileSync(
  'dpkg-query',
  ['-W', '-f', ['$', '{Version}'].join(''), 'panicparse'],
  {
    encoding: 'utf8',
  },
)
buildBundles()
console.log(machine())
console.log(`reference: panicparse ${version} (Debian)`)
// -parse=false -rebase=false: panicparse would otherwise read Go sources that do not exist here.
const base = ['-parse=false', '-rebase=false', '-no-color']
for (const { file, what } of files) {
  console.log(
    `${file}: ${(statSync(file).size / 1048576).toFixed(1)} MiB, 200,000 goroutines, ${what}`,
  )
  const [node, floorArgs] = floorCommand(file)
  console.log(`floor steps (one run): ${floorSteps(file)}`)
  const ours = (similarity: string) => [bin, 'goroutines', file, '--similarity', similarity]
  // In turns (see measureInterleaved), best of N each.
  const [pointerOurs, pointerTheirs, valueOurs, valueTheirs, floor] = measureInterleaved(
    [
      {
        label: 'gomemdoctor goroutines --similarity any-pointer',
        repeat: 3,
        command: process.execPath,
        args: ours('any-pointer'),
      },
      { label: 'panicparse (any pointer)', command: panicparse, args: [...base, file] },
      {
        label: 'gomemdoctor goroutines (any value)',
        repeat: 3,
        command: process.execPath,
        args: ours('any-value'),
      },
      {
        label: 'panicparse -aggressive (any value)',
        command: panicparse,
        args: [...base, '-aggressive', file],
      },
      { label: 'floor: node, read, one pass', repeat: 3, command: node, args: floorArgs },
    ],
    runs,
  ) as [Measurement, Measurement, Measurement, Measurement, Measurement]
  console.log(report(pointerOurs, pointerTheirs, floor))
  console.log(report(valueOurs, valueTheirs, floor))
  console.log(machine())
}
