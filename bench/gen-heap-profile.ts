/**
 * A big synthetic heap profile, the shape of a large Go service's: 100k locations (every 5th with
 * an inlined frame) over 20k functions, 1M samples with distinct stacks 5–24 deep, the four heap
 * sample types and a bytes label on each sample. Seeded, so every run writes the same file.
 */
import { writeFileSync } from 'node:fs'
import type { Profile } from '../src/model/heap-profile.ts'
import { encodeProfileGzip } from '../src/sources/formats/pprof-encode.ts'
import { seededRandom } from '../test/helpers/random.ts'

export function generateHeapProfile(
  samples = 1_000_000,
  locations = 100_000,
  functions = 20_000,
): Profile {
  // mulberry32: the LCG used before issue 13 (seed * 1103515245 in doubles, past 2^53) fell into
  // a short cycle, so its 1M samples had 595 distinct stacks over 7,893 of the 100k locations.
  const rnd = seededRandom(42)
  const pkgs = [
    'main',
    'github.com/acme/orders/cache',
    'github.com/acme/orders/api',
    'encoding/json',
    'net/http',
    'bufio',
  ]
  const names = Array.from({ length: functions }, (_, i) => `${pkgs[i % pkgs.length]}.fn${i}`)
  const lineStart = new Uint32Array(locations + 1)
  const lineFunction: number[] = []
  for (let l = 0; l < locations; l++) {
    lineStart[l] = lineFunction.length
    if (l % 5 === 0) lineFunction.push(Math.floor(rnd() * functions))
    lineFunction.push(l % functions)
  }
  lineStart[locations] = lineFunction.length
  const locationStart = new Uint32Array(samples + 1)
  const location: number[] = []
  const values = new Float64Array(samples * 4)
  const labelStart = new Uint32Array(samples + 1)
  const labelNum = new Float64Array(samples)
  for (let s = 0; s < samples; s++) {
    locationStart[s] = location.length
    const depth = 5 + Math.floor(rnd() * 20)
    for (let d = 0; d < depth; d++) location.push(Math.floor(rnd() * locations))
    const size = 2 ** (4 + Math.floor(rnd() * 12))
    const objects = 1 + Math.floor(rnd() * 50)
    const live = Math.floor(objects * rnd())
    values.set([objects, objects * size, live, live * size], s * 4)
    labelStart[s] = s
    labelNum[s] = size
  }
  locationStart[samples] = location.length
  labelStart[samples] = samples
  return {
    source: 'generated',
    sampleTypes: [
      { type: 'alloc_objects', unit: 'count' },
      { type: 'alloc_space', unit: 'bytes' },
      { type: 'inuse_objects', unit: 'count' },
      { type: 'inuse_space', unit: 'bytes' },
    ],
    defaultSampleType: '',
    periodType: { type: 'space', unit: 'bytes' },
    period: 524288,
    timeNanos: 1_700_000_000_000_000_000,
    durationNanos: 0,
    comments: [],
    strings: ['', 'bytes'],
    dropFrames: '',
    keepFrames: '',
    mappings: [
      {
        id: 1,
        memoryStart: 0x400000,
        memoryLimit: 0x4000000,
        fileOffset: 0,
        filename: '/usr/local/bin/orders',
        buildId: '',
        hasFunctions: true,
        hasFilenames: true,
        hasLineNumbers: true,
        hasInlineFrames: true,
      },
    ],
    functions: {
      name: names,
      systemName: names,
      filename: names.map(n => `/src/${n.replace(/\.[^.]*$/, '')}/file.go`),
      startLine: Float64Array.from(names, (_, i) => 10 + (i % 500)),
    },
    locations: {
      id: Float64Array.from({ length: locations }, (_, i) => i + 1),
      address: Float64Array.from({ length: locations }, (_, i) => 0x401000 + 16 * i),
      mapping: new Int32Array(locations),
      lineStart,
      lineFunction: Uint32Array.from(lineFunction),
      lineNumber: Float64Array.from(lineFunction, (_, i) => 20 + (i % 300)),
    },
    samples: {
      count: samples,
      locationStart,
      location: Uint32Array.from(location),
      values,
      labelStart,
      labelKey: new Uint32Array(samples).fill(1),
      labelStr: new Uint32Array(samples),
      labelNum,
      labelUnit: new Uint32Array(samples).fill(1),
    },
  }
}

export function writeHeapProfile(path: string): void {
  writeFileSync(path, encodeProfileGzip(generateHeapProfile()))
}
