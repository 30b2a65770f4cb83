/**
 * `gomemdoctor goroutines` against panicparse (Debian package `panicparse`, binary `panicparse`)
 * on the same generated dump of 200k goroutines: wall time and peak RSS, and the ratios, at
 * panicparse's default similarity (any pointer) and its -aggressive one (any value).
 * Not part of the test suite: `node --import tsx bench/goroutines.bench.ts`.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeGoroutineDump } from './gen-goroutine-dump.ts'
import { measure, report } from './measure.ts'

const bin = fileURLToPath(new URL('../bin/gomemdoctor.js', import.meta.url))
const dir = join(tmpdir(), 'gomemdoctor-bench')
mkdirSync(dir, { recursive: true })
const file = join(dir, 'goroutines-200k.txt')
if (!existsSync(file)) writeGoroutineDump(file)
console.log(`${file}: ${(statSync(file).size / 1048576).toFixed(1)} MiB, 200,000 goroutines`)

const panicparse = '/usr/bin/panicparse'
if (!existsSync(panicparse)) {
  console.error('panicparse is not installed: apt-get install -y panicparse')
  process.exit(2)
}
// -parse=false -rebase=false: panicparse would otherwise read Go sources that do not exist here.
// panicparse runs once: a run takes 10-20 s.
const base = ['-parse=false', '-rebase=false', '-no-color']
const anyPointer = [bin, 'goroutines', file, '--similarity', 'any-pointer']
console.log(
  report(
    measure('gomemdoctor goroutines --similarity any-pointer', process.execPath, anyPointer, 3),
    measure('panicparse (any pointer)', panicparse, [...base, file]),
  ),
)
console.log(
  report(
    measure('gomemdoctor goroutines (any value)', process.execPath, [bin, 'goroutines', file], 3),
    measure('panicparse -aggressive (any value)', panicparse, [...base, '-aggressive', file]),
  ),
)
