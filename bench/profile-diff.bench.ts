/**
 * `gomemdoctor profile diff` against `go tool pprof -top -nodefraction=0 -base` on both profile
 * shapes, in one run: each shape's generated profile as the base, and the same program later
 * (gen-grown-profile.ts: a tenth of the samples doubled, a fiftieth gone) as the new one. Not part
 * of the test suite:
 *   node --import tsx bench/profile-diff.bench.ts          # go on PATH; GO=… for another Go
 *   node --import tsx bench/profile-diff.bench.ts --shape deep   # one shape (wide or deep)
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parsePprof } from '../src/sources/formats/pprof.ts'
import { encodeProfileGzip } from '../src/sources/formats/pprof-encode.ts'
import { grownProfile } from './gen-grown-profile.ts'
import {
  buildBundles,
  goVersion,
  type Measurement,
  machine,
  measureInterleaved,
  report,
} from './measure.ts'
import { shapesFromArgs } from './profile-shapes.ts'

const bin = fileURLToPath(new URL('../bin/gomemdoctor.js', import.meta.url))
const go = process.env.GO ?? 'go'
const shapes = shapesFromArgs()

buildBundles()
console.log(machine())
console.log(`reference: ${goVersion(go)}`)
for (const shape of shapes) {
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
