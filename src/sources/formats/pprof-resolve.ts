/**
 * What the pprof decoder read, turned into the model: the file's ids resolved to table indexes
 * and its string indexes to strings, each checked. Kept apart from the decoding because a
 * one-pass decoder meets samples before the tables they name (Go writes them first).
 *
 * Reference: github.com/google/pprof profile/encode.go (postDecode) for what is checked.
 */
import { InputError } from '../../errors.ts'
import type { Mapping, Profile, ValueType } from '../../model/heap-profile.ts'
import { ProtoError } from './pprof-wire.ts'

/** A mapping with its file name and build id still string indexes. */
export type RawMapping = Omit<Mapping, 'filename' | 'buildId'> & { file: number; build: number }

/**
 * Samples' location ids are kept as id − 1 in a Uint32Array. Ids above 2^32 are kept aside in
 * `wideIds`, their slot holding this marker, which is also where the reserved id 0 wraps.
 */
export const WIDE_ID = 0xffffffff

/** The tables as the file wrote them: ids and string indexes unresolved. */
export interface RawProfile {
  source: string
  sampleTypeIdx: [number, number][]
  periodTypeIdx: [number, number] | undefined
  commentIdx: number[]
  dropIdx: number
  keepIdx: number
  defaultIdx: number
  period: number
  timeNanos: number
  durationNanos: number
  strings: string[]
  mappings: RawMapping[]
  /** Name, system name and file name are string indexes. */
  functions: {
    id: Float64Array
    name: Float64Array
    systemName: Float64Array
    filename: Float64Array
    startLine: Float64Array
  }
  /** Lines of location i: lineStart[i] .. lineStart[i+1] (count + 1 entries). */
  locations: {
    id: Float64Array
    address: Float64Array
    mappingId: Float64Array
    lineStart: Uint32Array
    lineFunctionId: Float64Array
    lineNumber: Float64Array
  }
  samples: {
    count: number
    /** Values per sample, as every sample agreed (-1 without samples). */
    width: number
    locationStart: Uint32Array
    /**
     * Location ids minus one (so the indexes already when Go numbered locations 1..n), resolved
     * in place otherwise: this array becomes the model's `location`.
     */
    locationIds: Uint32Array
    /** The largest value in locationIds. */
    locationMax: number
    /** Ids too big for locationIds, by position in it. */
    wideIds: ReadonlyMap<number, number>
    values: Float64Array
    labelStart: Uint32Array
    labelKey: Uint32Array
    labelStr: Uint32Array
    labelNum: Float64Array
    labelUnit: Uint32Array
    /** The largest string index a label names. */
    labelStringMax: number
  }
}

/** The model of a decoded profile; throws ProtoError or InputError (a string index) naming what is wrong. */
export function resolveProfile(raw: RawProfile): Profile {
  const { strings, source, samples } = raw
  if (raw.sampleTypeIdx.length === 0) throw new ProtoError('no sample types')
  if (strings.length === 0) throw new ProtoError('no string table')
  if (strings[0] !== '') throw new ProtoError('string table does not start with ""')
  const width = raw.sampleTypeIdx.length
  if (samples.count > 0 && samples.width !== width)
    throw new ProtoError(`a sample has ${samples.width} values for ${width} sample types`)
  const str = (index: number, what: string): string => {
    const s = strings[index]
    if (s === undefined)
      throw new InputError(
        `${source}: ${what} names string ${index}, past the end of the string table (${strings.length} strings)`,
      )
    return s
  }
  if (samples.labelStringMax >= strings.length) str(samples.labelStringMax, 'a sample label')

  const functionIndex = new IdIndex(raw.functions.id, 'function')
  const { lineFunctionId } = raw.locations
  const lineFunction = new Uint32Array(lineFunctionId.length)
  for (let i = 0; i < lineFunctionId.length; i++) {
    const fn = functionIndex.get(lineFunctionId[i] as number)
    if (fn < 0)
      throw new ProtoError(
        `a location names function ${lineFunctionId[i]}, which is not in the profile`,
      )
    lineFunction[i] = fn
  }

  const mappings: Mapping[] = raw.mappings.map(({ file, build, ...m }) => ({
    ...m,
    filename: str(file, 'a mapping'),
    buildId: str(build, 'a mapping'),
  }))
  const mappingIndex = new IdIndex(
    Float64Array.from(mappings, m => m.id),
    'mapping',
  )
  const { mappingId } = raw.locations
  const locMapping = new Int32Array(mappingId.length)
  for (let i = 0; i < mappingId.length; i++) {
    const id = mappingId[i] as number
    locMapping[i] = id === 0 ? -1 : mappingIndex.get(id)
    if (id !== 0 && locMapping[i] === -1)
      throw new ProtoError(`a location names mapping ${id}, which is not in the profile`)
  }

  const toValueType = ([type, unit]: [number, number]): ValueType => ({
    type: str(type, 'a sample type'),
    unit: str(unit, 'a sample type'),
  })
  // Loops, not Array.from: its iterator boxes every element of a Float64Array (cold code, a
  // deep profile's 3 × 24k names: ~14 MiB of garbage, the young generation grows to hold it).
  const names = (indexes: Float64Array) => {
    const out: string[] = []
    for (let i = 0; i < indexes.length; i++) out.push(str(indexes[i] as number, 'a function'))
    return out
  }
  return {
    source,
    sampleTypes: raw.sampleTypeIdx.map(toValueType),
    defaultSampleType: str(raw.defaultIdx, 'default_sample_type'),
    periodType: raw.periodTypeIdx && toValueType(raw.periodTypeIdx),
    period: raw.period,
    timeNanos: raw.timeNanos,
    durationNanos: raw.durationNanos,
    comments: raw.commentIdx.map(i => str(i, 'a comment')),
    strings,
    dropFrames: str(raw.dropIdx, 'drop_frames'),
    keepFrames: str(raw.keepIdx, 'keep_frames'),
    mappings,
    functions: {
      name: names(raw.functions.name),
      systemName: names(raw.functions.systemName),
      filename: names(raw.functions.filename),
      startLine: raw.functions.startLine,
    },
    locations: {
      id: raw.locations.id,
      address: raw.locations.address,
      mapping: locMapping,
      lineStart: raw.locations.lineStart,
      lineFunction,
      lineNumber: raw.locations.lineNumber,
    },
    samples: {
      count: samples.count,
      locationStart: samples.locationStart,
      location: sampleLocations(raw),
      values: samples.values,
      labelStart: samples.labelStart,
      labelKey: samples.labelKey,
      labelStr: samples.labelStr,
      labelNum: samples.labelNum,
      labelUnit: samples.labelUnit,
    },
  }
}

/** The samples' location ids turned into location indexes, in place. */
function sampleLocations(raw: RawProfile): Uint32Array {
  const { locationIds: ids, wideIds, locationMax } = raw.samples
  if (ids.length === 0) return ids
  new LocationIndexes(raw.locations.id).resolve(ids, ids.length, locationMax, wideIds)
  return ids
}

/**
 * Location ids as samples keep them (id − 1, WIDE_ID for one too big, found in wideIds by its
 * position) turned into location indexes, in place. Go numbers locations 1..n in order: then
 * id − 1 is the index already, and when the largest is below n every id named a location (a
 * pass over 15M frames saved on a 1M-sample profile).
 */
export class LocationIndexes {
  private readonly index: IdIndex | undefined
  private readonly count: number
  /** The locations are numbered 1..n, as Go numbers them: id − 1 is the index. */
  readonly dense: boolean
  constructor(locationIds: Float64Array) {
    this.count = locationIds.length
    let dense = true
    for (let i = 0; i < locationIds.length && dense; i++) dense = locationIds[i] === i + 1
    this.dense = dense
    this.index = dense ? undefined : new IdIndex(locationIds, 'location')
  }
  /** ids[0..n), whose largest is `max`; throws ProtoError for an id that names no location. */
  resolve(ids: Uint32Array, n: number, max: number, wideIds: ReadonlyMap<number, number>): void {
    const { index, count } = this
    if (index === undefined && max < count) return
    for (let i = 0; i < n; i++) {
      const raw = ids[i] as number
      const id = raw === WIDE_ID ? (wideIds.get(i) ?? 0) : raw + 1
      const at = index ? index.get(id) : raw < count ? raw : -1
      if (at < 0) throw new ProtoError(`a sample names location ${id}, which is not in the profile`)
      ids[i] = at
    }
  }
}

/** Maps file ids to table indexes: a dense array when ids are small (Go numbers them 1..n). */
class IdIndex {
  private readonly dense: Int32Array | undefined
  private readonly sparse: Map<number, number> | undefined
  constructor(ids: Float64Array, what: string) {
    let max = 0
    for (let i = 0; i < ids.length; i++) if ((ids[i] as number) > max) max = ids[i] as number
    if (max <= ids.length * 4 + 1024) {
      this.dense = new Int32Array(max + 1).fill(-1)
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i] as number
        if (id === 0) throw new ProtoError(`${what} with reserved id 0`)
        if (this.dense[id] !== -1) throw new ProtoError(`duplicate ${what} id ${id}`)
        this.dense[id] = i
      }
    } else {
      this.sparse = new Map()
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i] as number
        if (id === 0) throw new ProtoError(`${what} with reserved id 0`)
        if (this.sparse.has(id)) throw new ProtoError(`duplicate ${what} id ${id}`)
        this.sparse.set(id, i)
      }
    }
  }
  get(id: number): number {
    if (this.dense) return id < this.dense.length ? (this.dense[id] as number) : -1
    return this.sparse?.get(id) ?? -1
  }
}
