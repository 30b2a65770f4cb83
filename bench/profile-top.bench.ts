/**
 * `gomemdoctor profile top` against `go tool pprof -top -nodefraction=0` on both profile shapes,
 * in one run: the wide-flat 1M-sample profile (gen-heap-profile.ts) and the deep-stack one
 * (gen-deep-profile.ts). Wall time and peak RSS of each tool, best of N, and the floor (floor.ts)
 * beside them. Not part of the test suite:
 *   node --import tsx bench/profile-top.bench.ts          # go on PATH
 *   GO=/usr/lib/go-1.19/bin/go node --import tsx bench/profile-top.bench.ts
 *   node --import tsx bench/profile-top.bench.ts --shape deep   # one shape (wide or deep)
 * go tool pprof takes 5–20 s a run on the wide file, so this takes a few minutes.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { floorCommand, floorSteps } from './floor.ts'
import { writeDeepProfile } from './gen-deep-profile.ts'
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

const allShapes = [
  {
    key: 'wide',
    name: 'wide: 1,000,000 samples 5–24 deep over 100,000 locations',
    file: join(dir, 'heap-1M-samples-v2.pb.gz'),
    write: writeHeapProfile,
    runs: 3,
  },
  {
    key: 'deep',
    name: 'deep: 120,000 samples 20–59 deep (20,000 leaves × 3 sites × 2 chains)',
    file: join(dir, 'heap-deep.pb.gz'),
    write: writeDeepProfile,
    runs: 5,
  },
]

const { values: options } = parseArgs({ options: { shape: { type: 'string' } } })
const shapes = allShapes.filter(shape => options.shape === undefined || shape.key === options.shape)
if (shapes.length === 0) {
  console.error(`--shape must be one of ${allShapes.map(shape => shape.key).join(', ')}`)
  process.exit(2)
}

buildBundles()
console.log(machine())
console.log(`reference: ${goVersion(go)}`)
for (const shape of shapes) {
  if (!existsSync(shape.file)) {
    const started = Date.now()
    shape.write(shape.file)
    console.log(`generated ${shape.file} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  }
  console.log(
    `\n${shape.name}: ${shape.file}, ${(statSync(shape.file).size / 1048576).toFixed(1)} MiB gzipped`,
  )
  const [node, floorArgs] = floorCommand(shape.file)
  // In turns, best of N each: a busy machine slows either, and one tool's runs must not fall
  // in a quieter minute than the other's.
  const [ours, theirs, floor] = measureInterleaved(
    [
      {
        label: 'gomemdoctor profile top',
        repeat: 3,
        command: process.execPath,
        args: [bin, 'profile', 'top', shape.file, '-n', '20'],
      },
      {
        label: 'go tool pprof -top -nodefraction=0',
        command: go,
        args: ['tool', 'pprof', '-top', '-nodefraction=0', shape.file],
      },
      { label: 'floor: node, read, inflate, one pass', repeat: 3, command: node, args: floorArgs },
    ],
    shape.runs,
  ) as [Measurement, Measurement, Measurement]
  console.log(report(ours, theirs, floor))
  console.log(`floor steps (one run): ${floorSteps(shape.file)}`)
}
console.log(`\n${machine()}`)
