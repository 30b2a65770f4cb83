/**
 * A deep-stack heap profile, the shape issue 13 measured on a real Go program: many leaf
 * functions with a few allocation sites each, every site reached through a few deep, distinct call
 * chains. Unlike gen-heap-profile.ts (wide and flat: 1M samples over few frames each), time here
 * goes to the tables (tens of thousands of functions and their strings) and to long stacks.
 *
 * Defaults: 20,000 leaves × 3 sites × 2 chains = 120,000 samples, chains 20–59 frames deep over
 * 4,000 mid-level functions (4 call sites each, every 7th site with an inlined frame), so a chain
 * often passes through one function twice (recursion pprof counts once in cum). Seeded: every run
 * writes the same file. Small parameters give the unit test's profile.
 */
import { writeFileSync } from 'node:fs'
import type { Profile } from '../src/model/heap-profile.ts'
import { encodeProfileGzip } from '../src/sources/formats/pprof-encode.ts'
import { seededRandom } from '../test/helpers/random.ts'

export interface DeepShape {
  leaves: number
  sitesPerLeaf: number
  chainsPerSite: number
  midFunctions: number
  minDepth: number
  maxDepth: number
}

export const DEEP_DEFAULTS: DeepShape = {
  leaves: 20_000,
  sitesPerLeaf: 3,
  chainsPerSite: 2,
  midFunctions: 4_000,
  minDepth: 20,
  maxDepth: 59,
}

/** Call sites per mid-level function: its locations. */
const MID_SITES = 4
/** Shared outer parts of chains. */
const SPINES = 48
/** At most this many frames of a chain are its own, between the leaf and its spine. */
const OWN_FRAMES = 4

export function generateDeepProfile(shape: DeepShape = DEEP_DEFAULTS, seed = 13): Profile {
  const rnd = seededRandom(seed)
  const pick = (n: number) => Math.floor(rnd() * n)
  const pkgs = [
    'main',
    'github.com/acme/ledger/store',
    'github.com/acme/ledger/rpc',
    'encoding/gob',
  ]
  const names: string[] = []
  const files: string[] = []
  const fn = (name: string, file: string) => {
    names.push(name)
    files.push(file)
    return names.length - 1
  }
  const roots = [
    fn('runtime.goexit', '/usr/lib/go/src/runtime/asm_amd64.s'),
    fn('runtime.main', '/usr/lib/go/src/runtime/proc.go'),
    fn('main.main', '/src/ledger/main.go'),
  ]
  const mids = Array.from({ length: shape.midFunctions }, (_, i) => {
    const pkg = pkgs[i % pkgs.length] as string
    return fn(`${pkg}.(*stage${i % 97}).step${i}`, `/src/${pkg}/stage${i % 97}.go`)
  })
  const leaves = Array.from({ length: shape.leaves }, (_, i) => {
    const pkg = pkgs[(i + 1) % pkgs.length] as string
    return fn(`${pkg}.alloc${i}`, `/src/${pkg}/alloc${i % 500}.go`)
  })

  // Locations: each holds one line, or two when a callee was inlined (innermost first).
  const lineStart: number[] = [0]
  const lineFunction: number[] = []
  const lineNumber: number[] = []
  const location = (...lines: [number, number][]) => {
    for (const [f, line] of lines) {
      lineFunction.push(f)
      lineNumber.push(line)
    }
    lineStart.push(lineFunction.length)
    return lineStart.length - 2
  }
  const rootLocs = roots.map((f, i) => location([f, 100 + i])).reverse()
  const midLocs = mids.map((f, i) =>
    Array.from({ length: MID_SITES }, (_, s) =>
      (i * MID_SITES + s) % 7 === 0
        ? location([mids[(i + 1) % mids.length] as number, 30 + s], [f, 40 + s])
        : location([f, 40 + s]),
    ),
  )

  // The outer part of a chain is one of a few shared spines (middleware, a server's dispatch
  // loop), as in real programs, where deep stacks repeat near the root; one spine in four walks a
  // recursive function. The inner part, next to the leaf, is the chain's own.
  const spines = Array.from({ length: SPINES }, (_, k) => {
    const length = shape.minDepth + pick(shape.maxDepth - shape.minDepth - OWN_FRAMES + 1)
    const spine = Array.from({ length }, () => midSite(pick(mids.length)))
    if (k % 4 === 0) {
      const recursive = midSite(pick(mids.length))
      spine.splice(pick(length), 0, recursive, recursive, recursive)
    }
    return spine
  })
  function midSite(f: number): number {
    return (midLocs[f] as number[])[pick(MID_SITES)] as number
  }

  const stackStart: number[] = [0]
  const stacks: number[] = []
  const values: number[] = []
  const labelNum: number[] = []
  for (let l = 0; l < shape.leaves; l++) {
    for (let s = 0; s < shape.sitesPerLeaf; s++) {
      const site = location([leaves[l] as number, 10 + s])
      // Sizes from a few powers of two, so that many sites tie on flat and pprof's name order
      // decides between them.
      const size = 2 ** (4 + pick(8))
      for (let c = 0; c < shape.chainsPerSite; c++) {
        stacks.push(site)
        const spine = spines[pick(SPINES)] as number[]
        const own = 1 + pick(OWN_FRAMES)
        for (let d = 0; d < own; d++) stacks.push(midSite(pick(mids.length)))
        stacks.push(...spine, ...rootLocs)
        stackStart.push(stacks.length)
        const objects = 1 + pick(40)
        const live = pick(objects + 1)
        values.push(objects, objects * size, live, live * size)
        labelNum.push(size)
      }
    }
  }

  const count = labelNum.length
  const locCount = lineStart.length - 1
  return {
    source: 'generated-deep',
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
        memoryLimit: 0x8000000,
        fileOffset: 0,
        filename: '/usr/local/bin/ledger',
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
      filename: files,
      startLine: Float64Array.from(names, (_, i) => 5 + (i % 300)),
    },
    locations: {
      id: Float64Array.from({ length: locCount }, (_, i) => i + 1),
      address: Float64Array.from({ length: locCount }, (_, i) => 0x401000 + 16 * i),
      mapping: new Int32Array(locCount),
      lineStart: Uint32Array.from(lineStart),
      lineFunction: Uint32Array.from(lineFunction),
      lineNumber: Float64Array.from(lineNumber),
    },
    samples: {
      count,
      locationStart: Uint32Array.from(stackStart),
      location: Uint32Array.from(stacks),
      values: Float64Array.from(values),
      labelStart: Uint32Array.from({ length: count + 1 }, (_, i) => i),
      labelKey: new Uint32Array(count).fill(1),
      labelStr: new Uint32Array(count),
      labelNum: Float64Array.from(labelNum),
      labelUnit: new Uint32Array(count).fill(1),
    },
  }
}

export function writeDeepProfile(path: string, shape: DeepShape = DEEP_DEFAULTS): void {
  writeFileSync(path, encodeProfileGzip(generateDeepProfile(shape)))
}
