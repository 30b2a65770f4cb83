/**
 * A pprof profile (heap, allocs, goroutine …) as plain columns. Tables are referenced by index,
 * never by the file's ids, so every lookup is an array read. Typed arrays hold the per-sample
 * data: a 1M-sample profile stays a few tens of MB instead of millions of objects. Everything
 * here survives structuredClone; reports take heap-top and heap-diff results, which are plain JSON.
 *
 * Reference: github.com/google/pprof proto/profile.proto (the field meanings are upstream's).
 */

/** What one sample value counts: {type: 'inuse_space', unit: 'bytes'}. */
export interface ValueType {
  type: string
  unit: string
}

/** profile.proto Function, by index. */
export interface FunctionTable {
  /** Human name, e.g. 'main.leakyCache' or 'main.(*T).m.func1'. */
  name: string[]
  /** Name as the linker knows it; Go writes the same as `name`. */
  systemName: string[]
  /** Source file; may be ''. */
  filename: string[]
  startLine: Float64Array
}

/** profile.proto Location, by index; each has one or more lines (several when inlined). */
export interface LocationTable {
  /** The file's location id: kept so an encoder can write the same ids back. */
  id: Float64Array
  address: Float64Array
  /** Index into `mappings`, or -1 when the location names none. */
  mapping: Int32Array
  /** Lines of location i are lineFunction[lineStart[i] .. lineStart[i+1]); length = count + 1. */
  lineStart: Uint32Array
  /**
   * Function index of each line. Line order is pprof's: the first line is the innermost
   * (inlined callee), the last the outermost caller that owns the address.
   */
  lineFunction: Uint32Array
  /** Source line number of each line; 0 when unknown. */
  lineNumber: Float64Array
}

/** profile.proto Mapping: a binary or library mapped into the process. */
export interface Mapping {
  id: number
  memoryStart: number
  memoryLimit: number
  fileOffset: number
  filename: string
  buildId: string
  hasFunctions: boolean
  hasFilenames: boolean
  hasLineNumbers: boolean
  hasInlineFrames: boolean
}

/** One label of a sample: a string label (`str`) or a numeric one (`num`, e.g. bytes=4096). */
export interface SampleLabel {
  key: string
  str?: string
  num?: number
  unit?: string
}

/** The labels of one sample, as objects. */
export function sampleLabels(profile: Profile, sample: number): SampleLabel[] {
  const s = profile.samples
  const labels: SampleLabel[] = []
  for (let i = s.labelStart[sample] ?? 0; i < (s.labelStart[sample + 1] ?? 0); i++) {
    const key = profile.strings[s.labelKey[i] ?? 0] ?? ''
    const str = profile.strings[s.labelStr[i] ?? 0] ?? ''
    if (str !== '') labels.push({ key, str })
    else {
      const unit = profile.strings[s.labelUnit[i] ?? 0] ?? ''
      labels.push(
        unit === '' ? { key, num: s.labelNum[i] ?? 0 } : { key, num: s.labelNum[i] ?? 0, unit },
      )
    }
  }
  return labels
}

export interface SampleTable {
  count: number
  /** Locations of sample i are location[locationStart[i] .. locationStart[i+1]), leaf first. */
  locationStart: Uint32Array
  location: Uint32Array
  /** values[i * sampleTypes.length + t]: sample i's value of sample type t. */
  values: Float64Array
  /**
   * Labels of sample i are label*[labelStart[i] .. labelStart[i+1]). Go heap profiles give every
   * sample bytes=<object size>; goroutine profiles carry pprof.Do labels. Columns, not objects:
   * a million label objects would cost more than the rest of the profile.
   */
  labelStart: Uint32Array
  /** Index into Profile.strings. */
  labelKey: Uint32Array
  /** Index into Profile.strings; 0 (the empty string) for a numeric label. */
  labelStr: Uint32Array
  labelNum: Float64Array
  /** Index into Profile.strings: the numeric label's unit ('bytes'), 0 when none. */
  labelUnit: Uint32Array
}

export interface Profile {
  /** The file or URL the profile was read from; errors and evidence name it. */
  source: string
  sampleTypes: ValueType[]
  /** The sample type a viewer shows first ('' when the file names none: then the last one). */
  defaultSampleType: string
  periodType: ValueType | undefined
  period: number
  /** Unix nanoseconds when the profile was taken; 0 when unknown. Exact to ~256 ns. */
  timeNanos: number
  durationNanos: number
  comments: string[]
  /** The file's string table; only labels refer to it (by index), everything else is resolved. */
  strings: string[]
  dropFrames: string
  keepFrames: string
  mappings: Mapping[]
  functions: FunctionTable
  locations: LocationTable
  samples: SampleTable
}

/** Number of functions and locations, for sizing loops. */
export function functionCount(profile: Profile): number {
  return profile.functions.name.length
}

export function locationCount(profile: Profile): number {
  return profile.locations.id.length
}

/**
 * The index of a sample type given by name ('inuse_space') or position ('2'). With no name,
 * pprof's default: the profile's default_sample_type, else the last type. -1 when none matches.
 */
export function sampleTypeIndex(
  profile: Pick<Profile, 'sampleTypes' | 'defaultSampleType'>,
  name?: string,
): number {
  const wanted = name ?? profile.defaultSampleType
  if (wanted === '') return profile.sampleTypes.length - 1
  const byName = profile.sampleTypes.findIndex(t => t.type === wanted)
  if (byName >= 0) return byName
  if (/^\d+$/.test(wanted) && Number(wanted) < profile.sampleTypes.length) return Number(wanted)
  return -1
}

/** Sum of one sample type over all samples (signed). */
export function sampleTypeTotal(profile: Profile, typeIndex: number): number {
  const width = profile.sampleTypes.length
  const { values, count } = profile.samples
  let total = 0
  for (let i = 0; i < count; i++) total += values[i * width + typeIndex] ?? 0
  return total
}

/** The function names of a location, innermost (inlined) first. */
export function locationNames(profile: Profile, location: number): string[] {
  const { lineStart, lineFunction } = profile.locations
  const names: string[] = []
  for (let l = lineStart[location] ?? 0; l < (lineStart[location + 1] ?? 0); l++)
    names.push(profile.functions.name[lineFunction[l] ?? 0] ?? '')
  return names
}
