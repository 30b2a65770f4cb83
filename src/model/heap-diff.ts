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
  // Profiles of one program share most stacks: the new one's size is a good first guess.
  merged.reserve(next.samples.count, next.samples.location.length)
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

/** A typed array that doubles when full. */
class Column<T extends Int32Array | Uint32Array | Float64Array> {
  length = 0
  constructor(public data: T) {}
  push(v: number): void {
    if (this.length === this.data.length) this.reserve(this.length + 1)
    this.data[this.length++] = v
  }
  reserve(n: number): void {
    if (n <= this.data.length) return
    const next = new (this.data.constructor as new (n: number) => T)(
      Math.max(n, this.data.length * 2),
    )
    next.set(this.data)
    this.data = next
  }
}

/**
 * Merged samples by the hash of their stacks: open addressing over typed arrays (a Map of 2M
 * numbers cost a 1M-sample diff ~0.15 s), grown to stay at most half full.
 */
class SampleSlots {
  private slots = new Int32Array(1 << 16).fill(-1)
  private shift = 16
  private readonly hashes = new Column(new Int32Array(1 << 15))
  private used = 0
  /** The slot where the probe for `hash` starts. */
  first(hash: number): number {
    return Math.imul(hash, 0x9e3779b1) >>> (32 - this.shift)
  }
  next(slot: number): number {
    return (slot + 1) & (this.slots.length - 1)
  }
  /** The sample in `slot`, -1 when empty. */
  at(slot: number): number {
    return this.slots[slot] as number
  }
  hash(id: number): number {
    return this.hashes.data[id] as number
  }
  /** Puts sample `id` (the next one: ids are dense) in the empty `slot` the probe ended on. */
  put(slot: number, id: number, hash: number): void {
    this.slots[slot] = id
    this.hashes.push(hash)
    if (++this.used * 2 > this.slots.length) this.grow()
  }
  private grow(): void {
    this.slots = new Int32Array(this.slots.length * 2).fill(-1)
    this.shift++
    for (let id = 0; id < this.used; id++) {
      let slot = this.first(this.hashes.data[id] as number)
      while ((this.slots[slot] as number) >= 0) slot = this.next(slot)
      this.slots[slot] = id
    }
  }
}

/** Mixes one 32-bit value into a hash (the multiply of murmur3's finalizer). */
const mix = (h: number, v: number) => Math.imul(h ^ v, 0x85ebca6b) ^ (h >>> 13)

/**
 * Accumulates profiles into shared function, location and sample tables. Locations and samples
 * are looked up by a numeric hash of their lines or frames, checked against the stored ones on a
 * hit: string keys built from every sample's frames cost a 1M-sample profile seconds.
 */
class Merger {
  /** Merged functions by name (names are nearly unique; the rest is compared on a hit). */
  readonly fnByName = new Map<string, number[]>()
  readonly fnName: string[] = []
  readonly fnSystem: string[] = []
  readonly fnFile: string[] = []
  readonly fnStart: number[] = []
  readonly mapKeys = new Map<string, number>()
  readonly mappings: Mapping[] = []
  /** First location with a hash, and the next with the same hash, by location. */
  readonly locByHash = new Map<number, number>()
  readonly locNext: number[] = []
  readonly locAddress: number[] = []
  readonly locMapping: number[] = []
  readonly lineStart: number[] = [0]
  readonly lineFunction: number[] = []
  readonly lineNumber: number[] = []
  readonly samples = new SampleSlots()
  readonly sampleStart = new Column(new Uint32Array(1024))
  readonly sampleLoc = new Column(new Uint32Array(4096))
  readonly values: Column<Float64Array>
  constructor(readonly width: number) {
    this.values = new Column(new Float64Array(width * 1024))
    this.sampleStart.push(0)
  }

  /** Room for `samples` samples and `frames` frames, so the columns are not copied as they grow. */
  reserve(samples: number, frames: number): void {
    this.sampleStart.reserve(samples + 1)
    this.sampleLoc.reserve(frames)
    this.values.reserve(samples * this.width)
  }

  add(p: Profile, scale: Float64Array): void {
    const fnMap = p.functions.name.map((name, f) => {
      const system = p.functions.systemName[f] ?? ''
      const file = p.functions.filename[f] ?? ''
      const start = p.functions.startLine[f] ?? 0
      const candidates = this.fnByName.get(name)
      let id = candidates?.find(
        c => this.fnSystem[c] === system && this.fnFile[c] === file && this.fnStart[c] === start,
      )
      if (id === undefined) {
        id = this.fnName.length
        if (candidates) candidates.push(id)
        else this.fnByName.set(name, [id])
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
    const locMap = this.addLocations(p, fnMap, mapMap)
    this.addSamples(p, locMap, scale)
  }

  /** p's locations as merged location ids: the same lines (or, unsymbolized, address) merge. */
  private addLocations(p: Profile, fnMap: number[], mapMap: number[]): Uint32Array {
    const { lineStart, lineFunction, lineNumber, address, mapping } = p.locations
    const locMap = new Uint32Array(address.length)
    for (let l = 0; l < address.length; l++) {
      const from = lineStart[l] as number
      const to = lineStart[l + 1] as number
      let hash = to - from
      if (from === to) hash = mix(mix(hash, address[l] as number), (address[l] as number) / 2 ** 32)
      for (let i = from; i < to; i++)
        hash = mix(mix(hash, fnMap[lineFunction[i] as number] as number), lineNumber[i] as number)
      let id = this.locByHash.get(hash) ?? -1
      while (id >= 0 && !this.sameLocation(id, p, l, fnMap)) id = this.locNext[id] as number
      if (id < 0) {
        id = this.locAddress.length
        this.locNext.push(this.locByHash.get(hash) ?? -1)
        this.locByHash.set(hash, id)
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
    return locMap
  }

  private sameLocation(id: number, p: Profile, l: number, fnMap: number[]): boolean {
    const { lineStart, lineFunction, lineNumber, address } = p.locations
    const from = lineStart[l] as number
    const to = lineStart[l + 1] as number
    const mine = this.lineStart[id] as number
    if ((this.lineStart[id + 1] as number) - mine !== to - from) return false
    if (from === to) return this.locAddress[id] === address[l]
    for (let i = 0; i < to - from; i++)
      if (
        this.lineFunction[mine + i] !== fnMap[lineFunction[from + i] as number] ||
        this.lineNumber[mine + i] !== lineNumber[from + i]
      )
        return false
    return true
  }

  /** p's samples added, scaled, to the merged sample with the same stack. */
  private addSamples(p: Profile, locMap: Uint32Array, scale: Float64Array): void {
    const { count, locationStart, location, values } = p.samples
    const width = this.width
    for (let s = 0; s < count; s++) {
      let zero = true
      for (let t = 0; t < width; t++) if (values[s * width + t] !== 0) zero = false
      if (zero) continue
      const from = locationStart[s] as number
      const to = locationStart[s + 1] as number
      let hash = to - from
      for (let i = from; i < to; i++) hash = mix(hash, locMap[location[i] as number] as number)
      const slots = this.samples
      let slot = slots.first(hash)
      let id = slots.at(slot)
      while (
        id >= 0 &&
        !(slots.hash(id) === hash && this.sameStack(id, location, from, to, locMap))
      ) {
        slot = slots.next(slot)
        id = slots.at(slot)
      }
      if (id < 0) {
        id = this.sampleStart.length - 1
        slots.put(slot, id, hash)
        const loc = this.sampleLoc
        loc.reserve(loc.length + (to - from))
        for (let i = from; i < to; i++)
          loc.data[loc.length++] = locMap[location[i] as number] as number
        this.sampleStart.push(loc.length)
        this.values.reserve((id + 1) * width)
        this.values.length = (id + 1) * width
      }
      const merged = this.values.data
      for (let t = 0; t < width; t++) {
        const v = Math.round((values[s * width + t] as number) * (scale[t] as number))
        merged[id * width + t] = (merged[id * width + t] as number) + v
      }
    }
  }

  private sameStack(
    id: number,
    location: Uint32Array,
    from: number,
    to: number,
    locMap: Uint32Array,
  ): boolean {
    const start = this.sampleStart.data[id] as number
    if ((this.sampleStart.data[id + 1] as number) - start !== to - from) return false
    const loc = this.sampleLoc.data
    for (let i = 0; i < to - from; i++)
      if (loc[start + i] !== locMap[location[from + i] as number]) return false
    return true
  }

  finish(template: Profile, source: string): Profile {
    const width = this.width
    // Drop the samples that cancelled out.
    const sampleCount = this.sampleStart.length - 1
    const merged = this.values.data
    const starts = this.sampleStart.data
    const locs = this.sampleLoc.data
    const keepStart = new Uint32Array(sampleCount + 1)
    const keepLoc = new Uint32Array(this.sampleLoc.length)
    const values = new Float64Array(sampleCount * width)
    let kept = 0
    let k = 0
    for (let s = 0; s < sampleCount; s++) {
      let zero = true
      for (let t = 0; t < width; t++) if (merged[s * width + t] !== 0) zero = false
      if (zero) continue
      for (let t = 0; t < width; t++) values[kept * width + t] = merged[s * width + t] as number
      for (let i = starts[s] as number; i < (starts[s + 1] as number); i++)
        keepLoc[k++] = locs[i] as number
      kept++
      keepStart[kept] = k
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
        locationStart: keepStart.slice(0, kept + 1),
        location: keepLoc.slice(0, k),
        values: values.slice(0, kept * width),
        labelStart: new Uint32Array(kept + 1),
        labelKey: new Uint32Array(0),
        labelStr: new Uint32Array(0),
        labelNum: new Float64Array(0),
        labelUnit: new Uint32Array(0),
      },
    }
  }
}
