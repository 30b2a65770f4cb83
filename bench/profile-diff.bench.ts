/**
 * `gomemdoctor profile diff` against `go tool pprof -top -nodefraction=0 -base` on both profile
 * shapes, in one run: each shape's generated profile as the base, and the same program later
 * (gen-grown-profile.ts: a tenth of the samples doubled, a fiftieth gone) as the new one. Not part
 * of the test suite:
 *   node --import tsx bench/profile-diff.bench.ts          # go on PATH; GO=… for another Go
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parsePprof } from '../src/sources/formats/pprof.ts'
import { encodeProfileGzip } from '../src/sources/formats/pprof-encode.ts'
import { writeDeepProfile } from './gen-deep-profile.ts'
import { grownProfile } from './gen-grown-profile.ts'
import { writeHeapProfile } from './gen-heap-profile.ts'
import {
  buildBundles,
  goVersion,
  type Measurement,
  machine,
  measureInterleaved,
  report,
} from './measure.ts'

const bin = fileURLToPath(new URL('../bin/gomemdoctor.js', import.meta.url))
const go = process.env.GO ?? 'go'
const dir = join(tmpdir(), 'gomemdoctor-bench')
mkdirSync(dir, { recursive: true })

const shapes = [
  { name: 'wide', file: join(dir, 'heap-1M-samples-v2.pb.gz'), write: writeHeapProfile, runs: 3 },
  { name: 'deep', file: join(dir, 'heap-deep.pb.gz'), write: writeDeepProfile, runs: 5 },
]

buildBundles()
console.log(machine())
console.log(`reference: ${goVersion(go)}`)
for (const shape of shapes) {
  if (!existsSync(shape.file)) shape.write(shape.file)
  const grown = shape.file.replace(/\.pb\.gz$/, '-grown.pb.gz')
  if (!existsSync(grown))
    writeFileSync(
      grown,
      encodeProfileGzip(grownProfile(parsePprof(readFileSync(shape.file), shape.file))),
    )
  const mib = (f: string) => `${(statSync(f).size / 1048576).toFixed(1)} MiB`
  console.log(`\n${shape.name}: ${shape.file} (${mib(shape.file)}) → ${grown} (${mib(grown)})`)
  const [ours, theirs] = measureInterleaved(
    [
      {
        label: 'gomemdoctor profile diff',
        repeat: 3,
        command: process.execPath,
        args: [bin, 'profile', 'diff', shape.file, grown, '-n', '20'],
      },
      {
        label: 'go tool pprof -top -nodefraction=0 -base',
        command: go,
        args: ['tool', 'pprof', '-top', '-nodefraction=0', '-base', shape.file, grown],
      },
    ],
    shape.runs,
  ) as [Measurement, Measurement]
  console.log(report(ours, theirs))
}
console.log(`\n${machine()}`)
