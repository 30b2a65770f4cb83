/**
 * `go tool pprof -base BASE NEW`: the base profile's values negated and merged with the new
 * profile's, so what grew is positive and what shrank negative. With `normalize`, pprof's
 * -normalize: the new profile is first scaled, per sample type, so that its total equals the
 * base's (profile.Normalize), which compares shapes rather than sizes.
 *
 * Merging keys differ from pprof's in one deliberate way: a location is identified by its
 * symbolized lines (function, file, start line, line), not its address, so profiles from two runs
 * of a binary with different load addresses still line up; unsymbolized locations fall back to
 * the address. Samples merge by stack alone: labels (heap profiles' bytes=<size>) are dropped,
 * and samples that sum to zero in every type are left out. Values are rounded as pprof's ScaleN
 * rounds them.
 */
import type { Mapping, Profile } from './heap-profile.ts'

/** Two profiles that cannot be subtracted (different sample types). */
export class IncompatibleProfiles extends Error {
  override name = 'IncompatibleProfiles'
}

export interface DiffOptions {
  normalize?: boolean
}

/** NEW − BASE as a profile of its own (source "BASE → NEW"). */
export function diffProfiles(base: Profile, next: Profile, options: DiffOptions = {}): Profile {
  const types = (p: Profile) => p.sampleTypes.map(t => `${t.type}/${t.unit}`).join(', ')
  if (types(base) !== types(next))
    throw new IncompatibleProfiles(
      `the profiles have different sample types (${types(base)} vs ${types(next)})`,
    )
  const width = next.sampleTypes.length
  let nextScale = new Float64Array(width).fill(1)
  if (options.normalize) {
    const baseTotals = totals(base)
    const nextTotals = totals(next)
    nextScale = baseTotals.map((b, i) => (nextTotals[i] === 0 ? 0 : b / (nextTotals[i] as number)))
  }
  const baseScale = new Float64Array(width).fill(-1)

  const merged = new Merger(width)
  merged.add(next, nextScale)
  merged.add(base, baseScale)
  return merged.finish(next, `${base.source} → ${next.source}`)
}

function totals(p: Profile): Float64Array {
  const width = p.sampleTypes.length
  const sums = new Float64Array(width)
  for (let i = 0; i < p.samples.count * width; i++)
    sums[i % width] = (sums[i % width] as number) + (p.samples.values[i] as number)
  return sums
}

/** Accumulates profiles into shared function, location and sample tables. */
class Merger {
  readonly fnKeys = new Map<string, number>()
  readonly fnName: string[] = []
  readonly fnSystem: string[] = []
  readonly fnFile: string[] = []
  readonly fnStart: number[] = []
  readonly mapKeys = new Map<string, number>()
  readonly mappings: Mapping[] = []
  readonly locKeys = new Map<string, number>()
  readonly locAddress: number[] = []
  readonly locMapping: number[] = []
  readonly lineStart: number[] = [0]
  readonly lineFunction: number[] = []
  readonly lineNumber: number[] = []
  readonly sampleKeys = new Map<string, number>()
  readonly sampleStart: number[] = [0]
  readonly sampleLoc: number[] = []
  values: Float64Array
  constructor(readonly width: number) {
    this.values = new Float64Array(width * 1024)
  }

  add(p: Profile, scale: Float64Array): void {
    const fnMap = p.functions.name.map((name, f) => {
      const system = p.functions.systemName[f] ?? ''
      const file = p.functions.filename[f] ?? ''
      const start = p.functions.startLine[f] ?? 0
      const key = `${name}\0${system}\0${file}\0${start}`
      let id = this.fnKeys.get(key)
      if (id === undefined) {
        id = this.fnName.length
        this.fnKeys.set(key, id)
        this.fnName.push(name)
        this.fnSystem.push(system)
        this.fnFile.push(file)
        this.fnStart.push(start)
      }
      return id
    })
    const mapMap = p.mappings.map(m => {
      const key = `${m.filename}\0${m.buildId}`
      let id = this.mapKeys.get(key)
      if (id === undefined) {
        id = this.mappings.length
        this.mapKeys.set(key, id)
        this.mappings.push({ ...m, id: id + 1 })
      }
      return id
    })
    const { lineStart, lineFunction, lineNumber, address, mapping } = p.locations
    const locMap = new Uint32Array(address.length)
    for (let l = 0; l < address.length; l++) {
      const from = lineStart[l] as number
      const to = lineStart[l + 1] as number
      let key = ''
      for (let i = from; i < to; i++) key += `${fnMap[lineFunction[i] as number]}:${lineNumber[i]};`
      if (from === to) key = `@${address[l]}`
      let id = this.locKeys.get(key)
      if (id === undefined) {
        id = this.locAddress.length
        this.locKeys.set(key, id)
        this.locAddress.push(address[l] as number)
        const m = mapping[l] as number
        this.locMapping.push(m < 0 ? -1 : (mapMap[m] as number))
        for (let i = from; i < to; i++) {
          this.lineFunction.push(fnMap[lineFunction[i] as number] as number)
          this.lineNumber.push(lineNumber[i] as number)
        }
        this.lineStart.push(this.lineFunction.length)
      }
      locMap[l] = id
    }
    const { count, locationStart, location, values } = p.samples
    const width = this.width
    for (let s = 0; s < count; s++) {
      let zero = true
      for (let t = 0; t < width; t++) if (values[s * width + t] !== 0) zero = false
      if (zero) continue
      const from = locationStart[s] as number
      const to = locationStart[s + 1] as number
      let key = ''
      for (let i = from; i < to; i++) key += `${locMap[location[i] as number]},`
      let id = this.sampleKeys.get(key)
      if (id === undefined) {
        id = this.sampleStart.length - 1
        this.sampleKeys.set(key, id)
        for (let i = from; i < to; i++) this.sampleLoc.push(locMap[location[i] as number] as number)
        this.sampleStart.push(this.sampleLoc.length)
        if ((id + 1) * width > this.values.length) {
          const grown = new Float64Array(this.values.length * 2)
          grown.set(this.values)
          this.values = grown
        }
      }
      for (let t = 0; t < width; t++) {
        const v = Math.round((values[s * width + t] as number) * (scale[t] as number))
        this.values[id * width + t] = (this.values[id * width + t] as number) + v
      }
    }
  }

  finish(template: Profile, source: string): Profile {
    const width = this.width
    // Drop the samples that cancelled out, compacting in place.
    const keepStart: number[] = [0]
    const keepLoc: number[] = []
    const sampleCount = this.sampleStart.length - 1
    const values = new Float64Array(sampleCount * width)
    let kept = 0
    for (let s = 0; s < sampleCount; s++) {
      let zero = true
      for (let t = 0; t < width; t++) if (this.values[s * width + t] !== 0) zero = false
      if (zero) continue
      for (let t = 0; t < width; t++)
        values[kept * width + t] = this.values[s * width + t] as number
      for (let i = this.sampleStart[s] as number; i < (this.sampleStart[s + 1] as number); i++)
        keepLoc.push(this.sampleLoc[i] as number)
      keepStart.push(keepLoc.length)
      kept++
    }
    const locCount = this.locAddress.length
    return {
      source,
      sampleTypes: template.sampleTypes.map(t => ({ ...t })),
      defaultSampleType: template.defaultSampleType,
      periodType: template.periodType && { ...template.periodType },
      period: template.period,
      timeNanos: template.timeNanos,
      durationNanos: template.durationNanos,
      comments: [...template.comments],
      strings: [''],
      dropFrames: template.dropFrames,
      keepFrames: template.keepFrames,
      mappings: this.mappings,
      functions: {
        name: this.fnName,
        systemName: this.fnSystem,
        filename: this.fnFile,
        startLine: Float64Array.from(this.fnStart),
      },
      locations: {
        id: Float64Array.from({ length: locCount }, (_, i) => i + 1),
        address: Float64Array.from(this.locAddress),
        mapping: Int32Array.from(this.locMapping),
        lineStart: Uint32Array.from(this.lineStart),
        lineFunction: Uint32Array.from(this.lineFunction),
        lineNumber: Float64Array.from(this.lineNumber),
      },
      samples: {
        count: kept,
        locationStart: Uint32Array.from(keepStart),
        location: Uint32Array.from(keepLoc),
        values: values.subarray(0, kept * width),
        labelStart: new Uint32Array(kept + 1),
        labelKey: new Uint32Array(0),
        labelStr: new Uint32Array(0),
        labelNum: new Float64Array(0),
        labelUnit: new Uint32Array(0),
      },
    }
  }
}
