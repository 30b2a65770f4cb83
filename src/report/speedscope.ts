import type { Profile } from '../model/heap-profile.ts'

/**
 * A profile in speedscope's file format (https://www.speedscope.app, "Import from file"), one
 * sampled profile for one sample type. speedscope draws big profiles fast (WebGL) and shows
 * them left-heavy, sandwich or as a timeline; its own pprof import reads only gzipped files.
 *
 *   { "$schema": "https://www.speedscope.app/file-format-schema.json",
 *     "shared": { "frames": [{ "name": "main.leakyCache", "file": "/src/main.go", "line": 12 }] },
 *     "profiles": [{ "type": "sampled", "unit": "bytes", "samples": [[0, 3, 7]], "weights": [4096], … }] }
 *
 * Stacks are listed root first. Inlined calls become frames of their own, as pprof shows them.
 * Reference: jlfwong/speedscope src/lib/file-format-spec.ts (v1.25).
 */
export interface SpeedscopeFile {
  $schema: 'https://www.speedscope.app/file-format-schema.json'
  shared: { frames: { name: string; file?: string; line?: number }[] }
  profiles: {
    type: 'sampled'
    name: string
    unit: 'bytes' | 'nanoseconds' | 'none'
    startValue: number
    endValue: number
    samples: number[][]
    weights: number[]
  }[]
  name: string
  activeProfileIndex: 0
  exporter: string
}

export function toSpeedscope(
  profile: Profile,
  typeIndex: number,
  exporter: string,
): SpeedscopeFile {
  const type = profile.sampleTypes[typeIndex]
  if (!type) throw new RangeError(`no sample type ${typeIndex}`)
  const width = profile.sampleTypes.length
  const { samples, locations, functions } = profile
  const frames: SpeedscopeFile['shared']['frames'] = []
  // One frame per function: speedscope merges equal frames, and pprof's -top counts by function.
  const frameOf = new Int32Array(functions.name.length).fill(-1)
  const frameFor = (fn: number): number => {
    let index = frameOf[fn] ?? -1
    if (index < 0) {
      index = frames.length
      frameOf[fn] = index
      const frame: SpeedscopeFile['shared']['frames'][number] = { name: functions.name[fn] ?? '' }
      const file = functions.filename[fn]
      if (file) frame.file = file
      const line = functions.startLine[fn]
      if (line) frame.line = line
      frames.push(frame)
    }
    return index
  }
  const stacks: number[][] = []
  const weights: number[] = []
  let total = 0
  for (let s = 0; s < samples.count; s++) {
    const weight = samples.values[s * width + typeIndex] ?? 0
    if (weight <= 0) continue
    // Sample locations are leaf first, each location's lines innermost first: reverse both.
    const stack: number[] = []
    for (
      let i = (samples.locationStart[s + 1] ?? 0) - 1;
      i >= (samples.locationStart[s] ?? 0);
      i--
    ) {
      const location = samples.location[i] ?? 0
      for (
        let l = (locations.lineStart[location + 1] ?? 0) - 1;
        l >= (locations.lineStart[location] ?? 0);
        l--
      ) {
        stack.push(frameFor(locations.lineFunction[l] ?? 0))
      }
    }
    stacks.push(stack)
    weights.push(weight)
    total += weight
  }
  const unit =
    type.unit === 'bytes' ? 'bytes' : type.unit === 'nanoseconds' ? 'nanoseconds' : 'none'
  return {
    $schema: 'https://www.speedscope.app/file-format-schema.json',
    shared: { frames },
    profiles: [
      {
        type: 'sampled',
        name: `${type.type} (${profile.source})`,
        unit,
        startValue: 0,
        endValue: total,
        samples: stacks,
        weights,
      },
    ],
    name: profile.source,
    activeProfileIndex: 0,
    exporter,
  }
}
