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
import { statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { floorCommand, floorSteps } from './floor.ts'
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
