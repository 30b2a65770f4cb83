/**
 * Builds small profiles from readable stacks, for edge cases the real captures cannot pin down
 * (recursion, negative values, ties). Always in addition to the real fixtures, never instead.
 */
import type { Profile } from '../../src/model/heap-profile.ts'

export interface SyntheticSample {
  /** Leaf first, as pprof stores stacks. A location with inlined frames is written 'inner|outer'. */
  stack: string[]
  values: number[]
  labels?: { key: string; str?: string; num?: number; unit?: string }[]
}

export function buildProfile(
  samples: SyntheticSample[],
  sampleTypes = [{ type: 'inuse_space', unit: 'bytes' }],
  source = 'synthetic.pb.gz',
): Profile {
  const fnIndex = new Map<string, number>()
  const locIndex = new Map<string, number>()
  const lineStart: number[] = [0]
  const lineFunction: number[] = []
  const strings = ['']
  const intern = (s: string) => {
    const i = strings.indexOf(s)
    if (i >= 0) return i
    strings.push(s)
    return strings.length - 1
  }
  const fn = (name: string) => {
    if (!fnIndex.has(name)) fnIndex.set(name, fnIndex.size)
    return fnIndex.get(name) as number
  }
  const loc = (frame: string) => {
    if (!locIndex.has(frame)) {
      locIndex.set(frame, locIndex.size)
      for (const name of frame.split('|')) lineFunction.push(fn(name))
      lineStart.push(lineFunction.length)
    }
    return locIndex.get(frame) as number
  }
  const locationStart = [0]
  const location: number[] = []
  const labelStart = [0]
  const labelKey: number[] = []
  const labelStr: number[] = []
  const labelNum: number[] = []
  const labelUnit: number[] = []
  for (const s of samples) {
    for (const frame of s.stack) location.push(loc(frame))
    locationStart.push(location.length)
    for (const l of s.labels ?? []) {
      labelKey.push(intern(l.key))
      labelStr.push(intern(l.str ?? ''))
      labelNum.push(l.num ?? 0)
      labelUnit.push(intern(l.unit ?? ''))
    }
    labelStart.push(labelKey.length)
  }
  const names = [...fnIndex.keys()]
  const locCount = locIndex.size
  return {
    source,
    sampleTypes,
    defaultSampleType: '',
    periodType: { type: 'space', unit: 'bytes' },
    period: 524288,
    timeNanos: 1_700_000_000_000_000_000,
    durationNanos: 0,
    comments: [],
    strings,
    dropFrames: '',
    keepFrames: '',
    mappings: [
      {
        id: 1,
        memoryStart: 0x400000,
        memoryLimit: 0x800000,
        fileOffset: 0,
        filename: '/bin/synthetic',
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
      filename: names.map(n => `/src/${n.split('.')[0]}.go`),
      startLine: Float64Array.from(names, lineOf),
    },
    locations: {
      id: Float64Array.from({ length: locCount }, (_, i) => i + 1),
      address: Float64Array.from({ length: locCount }, (_, i) => 0x401000 + 16 * i),
      mapping: new Int32Array(locCount),
      lineStart: Uint32Array.from(lineStart),
      lineFunction: Uint32Array.from(lineFunction),
      lineNumber: Float64Array.from(lineFunction, f => lineOf(names[f] ?? '') + 5),
    },
    samples: {
      count: samples.length,
      locationStart: Uint32Array.from(locationStart),
      location: Uint32Array.from(location),
      values: Float64Array.from(samples.flatMap(s => s.values)),
      labelStart: Uint32Array.from(labelStart),
      labelKey: Uint32Array.from(labelKey),
      labelStr: Uint32Array.from(labelStr),
      labelNum: Float64Array.from(labelNum),
      labelUnit: Uint32Array.from(labelUnit),
    },
  }
}

/** A line number that depends only on the function name, so two builds of a stack merge. */
function lineOf(name: string): number {
  let h = 0
  for (const c of name) h = (h * 31 + (c.codePointAt(0) ?? 0)) % 9973
  return 10 + h
}
