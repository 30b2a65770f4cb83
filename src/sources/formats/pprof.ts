/**
 * pprof profile.proto, gzipped (what /debug/pprof/heap, /allocs and /goroutine serve) or raw,
 * decoded into the typed-array model of model/heap-profile.ts.
 *
 * Hand-written: general protobuf libraries decode a 1M-sample profile at ~20 MB/s into millions of
 * objects, and return int64 as bigint (pprof-format wraps negative values); this reads varints
 * straight into Float64Array/Uint32Array at ~175 MB/s (shared/research/deps.md §1). Values are
 * exact below 2^53; negative int64 (a diff written by pprof) decode correctly.
 *
 * The top-level message is walked four times: counts and scalars, then strings/functions/mappings,
 * then locations, then samples. Fields may come in any order (Go writes strings last), and the
 * walk is cheap next to the decoding, so samples can map location ids to indexes as they go.
 *
 * Reference: github.com/google/pprof proto/profile.proto; profile/encode.go for the checks.
 */
import { gunzipSync } from 'node:zlib'
import { InputError } from '../../errors.ts'
import type { Mapping, Profile, ValueType } from '../../model/heap-profile.ts'
import type { RawCapture } from '../capture.ts'
import type { Format } from './format.ts'
import { looksLikeHtml } from './sniff.ts'

/** Inflated size limit: a bigger profile would not fit the typed arrays anyway (zip bombs). */
const MAX_INFLATED_BYTES = 1024 * 1024 * 1024

function sniff(head: string): boolean {
  return head.charCodeAt(0) === 0x1f || head.charCodeAt(0) === 0x0a
}

export const pprofHeapFormat: Format<Profile> = {
  kind: 'pprof-heap',
  sniff,
  parse: capture => parsePprof(capture.bytes, capture.origin),
}

export const pprofGoroutineFormat: Format<Profile> = {
  kind: 'pprof-goroutine',
  sniff,
  parse: (capture: RawCapture) => parsePprof(capture.bytes, capture.origin),
}

/** Decodes a profile; throws InputError naming `source` and the problem in one line. */
export function parsePprof(bytes: Uint8Array, source: string): Profile {
  if (bytes.byteLength === 0) throw new InputError(`${source}: empty file, not a pprof profile`)
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzip(bytes, source) : bytes
  const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)
  rejectText(buf, source)
  try {
    return decodeProfile(buf, source)
  } catch (error) {
    if (error instanceof ProtoError)
      throw new InputError(`${source}: not a pprof profile (${error.message})`)
    throw error
  }
}

function gunzip(bytes: Uint8Array, source: string): Uint8Array {
  try {
    return gunzipSync(bytes, { maxOutputLength: MAX_INFLATED_BYTES })
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    if (/unexpected end/i.test(message))
      throw new InputError(`${source}: truncated gzip stream (the download was cut short?)`)
    if (error instanceof RangeError || /too large|maxOutputLength/i.test(message))
      throw new InputError(`${source}: inflates to more than 1 GiB, refusing to read it`)
    throw new InputError(`${source}: corrupt gzip stream (${message})`)
  }
}

/** A profile never starts with text; name the text formats people save by mistake. */
function rejectText(buf: Buffer, source: string): void {
  const head = buf.toString('utf8', 0, Math.min(buf.length, 512))
  if (looksLikeHtml(head))
    throw new InputError(`${source}: got HTML, not a pprof profile (a login or error page?)`)
  const probe = buf.subarray(0, Math.min(buf.length, 64))
  if (!probe.every(b => b === 9 || b === 10 || b === 13 || (b >= 0x20 && b < 0x7f))) return
  if (/^heap profile:/.test(head))
    throw new InputError(
      `${source}: a text heap profile (debug=1), not a pprof profile: fetch /debug/pprof/heap without ?debug`,
    )
  if (/^goroutine (profile:|\d+ \[)/m.test(head))
    throw new InputError(
      `${source}: a text goroutine dump, not a pprof profile: use \`gomemdoctor goroutines\``,
    )
  if (/^\s*[[{]/.test(head)) throw new InputError(`${source}: got JSON, not a pprof profile`)
  throw new InputError(
    `${source}: got text, not a pprof profile: ${JSON.stringify(head.slice(0, 40))}`,
  )
}

/** Malformed protobuf; parsePprof turns it into an InputError naming the file. */
class ProtoError extends Error {}

/** Wire types. */
const VARINT = 0
const I64 = 1
const LEN = 2
const I32 = 5

class Reader {
  pos: number
  constructor(
    readonly buf: Buffer,
    start: number,
    public end: number,
  ) {
    this.pos = start
  }

  /** An unsigned varint as a Number: exact below 2^53. */
  varint(): number {
    const buf = this.buf
    if (this.pos >= this.end) throw new ProtoError('truncated varint')
    let b = buf[this.pos++] as number
    if (b < 0x80) return b
    let lo = b & 0x7f
    for (let shift = 7; shift < 28; shift += 7) {
      b = this.byte()
      lo |= (b & 0x7f) << shift
      if (b < 0x80) return lo
    }
    b = this.byte()
    lo = (lo | ((b & 0x0f) << 28)) >>> 0
    let hi = (b & 0x70) >> 4
    if (b < 0x80) return hi * 4294967296 + lo
    for (let shift = 3; shift < 32; shift += 7) {
      b = this.byte()
      hi |= (b & (shift === 31 ? 0x01 : 0x7f)) << shift
      if (b < 0x80) return (hi >>> 0) * 4294967296 + lo
    }
    throw new ProtoError('varint longer than 10 bytes')
  }

  /** A two's-complement int64: negative values arrive as 10-byte varints. */
  int64(): number {
    const start = this.pos
    const value = this.varint()
    if (this.pos - start < 10 || value < 2 ** 63) return value
    // Negative: redo the arithmetic on the exact 32-bit halves.
    const buf = this.buf
    let lo = 0
    let hi = 0
    for (let i = 0; i < 4; i++) lo |= ((buf[start + i] as number) & 0x7f) << (7 * i)
    lo = (lo | (((buf[start + 4] as number) & 0x0f) << 28)) >>> 0
    hi = ((buf[start + 4] as number) & 0x70) >> 4
    for (let i = 5; i < 10; i++) hi |= ((buf[start + i] as number) & 0x7f) << (3 + 7 * (i - 5))
    return -(((~hi >>> 0) * 4294967296 + (~lo >>> 0) + 1) as number)
  }

  /** Points this reader at [start, end) of the same buffer, for reuse in hot loops. */
  at(start: number, end: number): this {
    this.pos = start
    this.end = end
    return this
  }

  byte(): number {
    if (this.pos >= this.end) throw new ProtoError('truncated varint')
    return this.buf[this.pos++] as number
  }

  /** Reads a length prefix and returns the end of the field it announces. */
  lengthEnd(): number {
    const length = this.varint()
    const end = this.pos + length
    if (end > this.end) throw new ProtoError(`field of ${length} bytes runs past the end`)
    return end
  }

  skip(wire: number): void {
    if (wire === VARINT) this.varint()
    else if (wire === LEN) this.pos = this.lengthEnd()
    else if (wire === I64) this.pos += 8
    else if (wire === I32) this.pos += 4
    else throw new ProtoError(`wire type ${wire} at byte ${this.pos}`)
    if (this.pos > this.end) throw new ProtoError('truncated field')
  }

  /** A tag; returns field number * 8 + wire type. */
  tag(): number {
    const tag = this.varint()
    if (tag < 8) throw new ProtoError(`field number 0 at byte ${this.pos}`)
    return tag
  }
}

function expectWire(tag: number, wire: number): void {
  if ((tag & 7) !== wire) throw new ProtoError(`field ${tag >>> 3} has wire type ${tag & 7}`)
}

/** Reads a packed or unpacked repeated varint field into `push`. */
function repeatedVarint(r: Reader, tag: number, push: (value: number) => void, signed: boolean) {
  if ((tag & 7) === VARINT) {
    push(signed ? r.int64() : r.varint())
    return
  }
  expectWire(tag, LEN)
  const end = r.lengthEnd()
  while (r.pos < end) push(signed ? r.int64() : r.varint())
  if (r.pos !== end) throw new ProtoError('packed field overruns its length')
}

/** Maps file ids to table indexes: a dense array when ids are small (Go numbers them 1..n). */
class IdIndex {
  private readonly dense: Int32Array | undefined
  private readonly sparse: Map<number, number> | undefined
  constructor(ids: Float64Array, what: string) {
    let max = 0
    for (const id of ids) if (id > max) max = id
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

/** A Uint32Array/Float64Array that doubles when full. */
function grow<T extends Uint32Array | Float64Array>(array: T, needed: number): T {
  if (needed <= array.length) return array
  const next = new (array.constructor as new (n: number) => T)(Math.max(needed, array.length * 2))
  next.set(array)
  return next
}

function decodeProfile(buf: Buffer, source: string): Profile {
  const top = () => new Reader(buf, 0, buf.length)
  // Walk 1: counts and scalar fields (string indexes resolved once the table is read).
  let sampleCount = 0
  let locationCount = 0
  let functionCount = 0
  let stringCount = 0
  const sampleTypeIdx: [number, number][] = []
  let periodTypeIdx: [number, number] | undefined
  const commentIdx: number[] = []
  let dropIdx = 0
  let keepIdx = 0
  let defaultIdx = 0
  let period = 0
  let timeNanos = 0
  let durationNanos = 0
  for (const r = top(); r.pos < r.end; ) {
    const tag = r.tag()
    switch (tag >>> 3) {
      case 1:
        expectWire(tag, LEN)
        sampleTypeIdx.push(valueType(r))
        break
      case 2:
        sampleCount++
        expectWire(tag, LEN)
        r.skip(LEN)
        break
      case 3:
        expectWire(tag, LEN)
        r.skip(LEN)
        break
      case 4:
        locationCount++
        expectWire(tag, LEN)
        r.skip(LEN)
        break
      case 5:
        functionCount++
        expectWire(tag, LEN)
        r.skip(LEN)
        break
      case 6:
        stringCount++
        expectWire(tag, LEN)
        r.skip(LEN)
        break
      case 7:
        expectWire(tag, VARINT)
        dropIdx = r.varint()
        break
      case 8:
        expectWire(tag, VARINT)
        keepIdx = r.varint()
        break
      case 9:
        expectWire(tag, VARINT)
        timeNanos = r.int64()
        break
      case 10:
        expectWire(tag, VARINT)
        durationNanos = r.int64()
        break
      case 11:
        expectWire(tag, LEN)
        periodTypeIdx = valueType(r)
        break
      case 12:
        expectWire(tag, VARINT)
        period = r.int64()
        break
      case 13:
        repeatedVarint(r, tag, v => commentIdx.push(v), false)
        break
      case 14:
        expectWire(tag, VARINT)
        defaultIdx = r.varint()
        break
      default:
        r.skip(tag & 7)
    }
  }
  if (sampleTypeIdx.length === 0) throw new ProtoError('no sample types')
  if (stringCount === 0) throw new ProtoError('no string table')

  // Walk 2: strings, functions, mappings.
  const strings: string[] = []
  const fnId = new Float64Array(functionCount)
  const fnName = new Uint32Array(functionCount)
  const fnSystem = new Uint32Array(functionCount)
  const fnFile = new Uint32Array(functionCount)
  const fnStart = new Float64Array(functionCount)
  const mappingRaw: (Omit<Mapping, 'filename' | 'buildId'> & { file: number; build: number })[] = []
  let fi = 0
  for (const r = top(); r.pos < r.end; ) {
    const tag = r.tag()
    const field = tag >>> 3
    if (field === 6) {
      const end = r.lengthEnd()
      strings.push(buf.toString('utf8', r.pos, end))
      r.pos = end
    } else if (field === 5) {
      const end = r.lengthEnd()
      const m = new Reader(buf, r.pos, end)
      while (m.pos < end) {
        const t = m.tag()
        const f = t >>> 3
        if (f >= 1 && f <= 5) expectWire(t, VARINT)
        if (f === 1) fnId[fi] = m.varint()
        else if (f === 2) fnName[fi] = m.varint()
        else if (f === 3) fnSystem[fi] = m.varint()
        else if (f === 4) fnFile[fi] = m.varint()
        else if (f === 5) fnStart[fi] = m.int64()
        else m.skip(t & 7)
      }
      fi++
      r.pos = end
    } else if (field === 3) {
      mappingRaw.push(mapping(r))
    } else r.skip(tag & 7)
  }
  if (strings[0] !== '') throw new ProtoError('string table does not start with ""')
  const str = (index: number, what: string): string => {
    const s = strings[index]
    if (s === undefined)
      throw new InputError(
        `${source}: ${what} names string ${index}, past the end of the string table (${strings.length} strings)`,
      )
    return s
  }
  const functionIndex = new IdIndex(fnId, 'function')
  const mappings: Mapping[] = mappingRaw.map(({ file, build, ...m }) => ({
    ...m,
    filename: str(file, 'a mapping'),
    buildId: str(build, 'a mapping'),
  }))
  const mappingIndex = new IdIndex(
    Float64Array.from(mappings, m => m.id),
    'mapping',
  )

  // Walk 3: locations, their lines resolved to function indexes.
  const locId = new Float64Array(locationCount)
  const locAddress = new Float64Array(locationCount)
  const locMapping = new Int32Array(locationCount)
  const lineStart = new Uint32Array(locationCount + 1)
  let lineFunction = new Uint32Array(locationCount * 2)
  let lineNumber = new Float64Array(locationCount * 2)
  let lineCount = 0
  let li = 0
  for (const r = top(); r.pos < r.end; ) {
    const tag = r.tag()
    if (tag >>> 3 !== 4) {
      r.skip(tag & 7)
      continue
    }
    const end = r.lengthEnd()
    const m = new Reader(buf, r.pos, end)
    let mappingId = 0
    lineStart[li] = lineCount
    while (m.pos < end) {
      const t = m.tag()
      const f = t >>> 3
      if (f >= 1 && f <= 3) expectWire(t, VARINT)
      if (f === 1) locId[li] = m.varint()
      else if (f === 2) mappingId = m.varint()
      else if (f === 3) locAddress[li] = m.varint()
      else if (f === 4) {
        expectWire(t, LEN)
        const lineEnd = m.lengthEnd()
        const l = new Reader(buf, m.pos, lineEnd)
        let fid = 0
        let line = 0
        while (l.pos < lineEnd) {
          const lt = l.tag()
          if (lt >>> 3 <= 2) expectWire(lt, VARINT)
          if (lt >>> 3 === 1) fid = l.varint()
          else if (lt >>> 3 === 2) line = l.int64()
          else l.skip(lt & 7)
        }
        m.pos = lineEnd
        // A line without a function carries nothing pprof can name; it is dropped.
        if (fid === 0) continue
        const fn = functionIndex.get(fid)
        if (fn < 0)
          throw new ProtoError(`a location names function ${fid}, which is not in the profile`)
        lineFunction = grow(lineFunction, lineCount + 1)
        lineNumber = grow(lineNumber, lineCount + 1)
        lineFunction[lineCount] = fn
        lineNumber[lineCount] = line
        lineCount++
      } else m.skip(t & 7)
    }
    locMapping[li] = mappingId === 0 ? -1 : mappingIndex.get(mappingId)
    if (mappingId !== 0 && locMapping[li] === -1)
      throw new ProtoError(`a location names mapping ${mappingId}, which is not in the profile`)
    li++
    r.pos = end
  }
  lineStart[locationCount] = lineCount
  const locationIndex = new IdIndex(locId, 'location')

  // Walk 4: samples.
  const width = sampleTypeIdx.length
  const values = new Float64Array(sampleCount * width)
  const locationStart = new Uint32Array(sampleCount + 1)
  let location = new Uint32Array(Math.max(16, sampleCount * 8))
  let locationLen = 0
  const labelStart = new Uint32Array(sampleCount + 1)
  let labelKey = new Uint32Array(16)
  let labelStr = new Uint32Array(16)
  let labelNum = new Float64Array(16)
  let labelUnit = new Uint32Array(16)
  let labelLen = 0
  let si = 0
  let valueLen = 0
  const pushLocation = (id: number) => {
    const index = locationIndex.get(id)
    if (index < 0)
      throw new ProtoError(`a sample names location ${id}, which is not in the profile`)
    if (locationLen === location.length) location = grow(location, locationLen + 1)
    location[locationLen++] = index
  }
  const pushValue = (value: number) => {
    if (valueLen >= width)
      throw new ProtoError(`a sample has more values than the ${width} sample types`)
    values[si * width + valueLen++] = value
  }
  // One reader each for samples and their labels, moved along: not two million short-lived objects.
  const sampleReader = new Reader(buf, 0, 0)
  const labelReader = new Reader(buf, 0, 0)
  for (const r = top(); r.pos < r.end; ) {
    const tag = r.tag()
    if (tag >>> 3 !== 2) {
      r.skip(tag & 7)
      continue
    }
    const end = r.lengthEnd()
    const m = sampleReader.at(r.pos, end)
    locationStart[si] = locationLen
    labelStart[si] = labelLen
    valueLen = 0
    while (m.pos < end) {
      const t = m.tag()
      const f = t >>> 3
      if (f === 1) repeatedVarint(m, t, pushLocation, false)
      else if (f === 2) repeatedVarint(m, t, pushValue, true)
      else if (f === 3) {
        expectWire(t, LEN)
        const labelEnd = m.lengthEnd()
        const l = labelReader.at(m.pos, labelEnd)
        if (labelLen === labelKey.length) {
          labelKey = grow(labelKey, labelLen + 1)
          labelStr = grow(labelStr, labelLen + 1)
          labelNum = grow(labelNum, labelLen + 1)
          labelUnit = grow(labelUnit, labelLen + 1)
        }
        labelKey[labelLen] = 0
        labelStr[labelLen] = 0
        labelNum[labelLen] = 0
        labelUnit[labelLen] = 0
        while (l.pos < labelEnd) {
          const lt = l.tag()
          const lf = lt >>> 3
          if (lf <= 4) expectWire(lt, VARINT)
          if (lf === 1) labelKey[labelLen] = l.varint()
          else if (lf === 2) labelStr[labelLen] = l.varint()
          else if (lf === 3) labelNum[labelLen] = l.int64()
          else if (lf === 4) labelUnit[labelLen] = l.varint()
          else l.skip(lt & 7)
        }
        // Three checks, not a loop over a fresh array: this runs once per sample label (1M+).
        const n = strings.length
        if ((labelKey[labelLen] as number) >= n) str(labelKey[labelLen] as number, 'a sample label')
        if ((labelStr[labelLen] as number) >= n) str(labelStr[labelLen] as number, 'a sample label')
        if ((labelUnit[labelLen] as number) >= n)
          str(labelUnit[labelLen] as number, 'a sample label')
        labelLen++
        m.pos = labelEnd
      } else m.skip(t & 7)
    }
    if (valueLen !== width)
      throw new ProtoError(`a sample has ${valueLen} values for ${width} sample types`)
    si++
    r.pos = end
  }
  locationStart[sampleCount] = locationLen
  labelStart[sampleCount] = labelLen

  const toValueType = ([type, unit]: [number, number]): ValueType => ({
    type: str(type, 'a sample type'),
    unit: str(unit, 'a sample type'),
  })
  return {
    source,
    sampleTypes: sampleTypeIdx.map(toValueType),
    defaultSampleType: str(defaultIdx, 'default_sample_type'),
    periodType: periodTypeIdx && toValueType(periodTypeIdx),
    period,
    timeNanos,
    durationNanos,
    comments: commentIdx.map(i => str(i, 'a comment')),
    strings,
    dropFrames: str(dropIdx, 'drop_frames'),
    keepFrames: str(keepIdx, 'keep_frames'),
    mappings,
    functions: {
      name: Array.from(fnName, i => str(i, 'a function')),
      systemName: Array.from(fnSystem, i => str(i, 'a function')),
      filename: Array.from(fnFile, i => str(i, 'a function')),
      startLine: fnStart,
    },
    locations: {
      id: locId,
      address: locAddress,
      mapping: locMapping,
      lineStart,
      lineFunction: lineFunction.subarray(0, lineCount),
      lineNumber: lineNumber.subarray(0, lineCount),
    },
    samples: {
      count: sampleCount,
      locationStart,
      location: location.subarray(0, locationLen),
      values,
      labelStart,
      labelKey: labelKey.subarray(0, labelLen),
      labelStr: labelStr.subarray(0, labelLen),
      labelNum: labelNum.subarray(0, labelLen),
      labelUnit: labelUnit.subarray(0, labelLen),
    },
  }
}

/** ValueType {1: type, 2: unit} as string indexes. */
function valueType(r: Reader): [number, number] {
  const end = r.lengthEnd()
  let type = 0
  let unit = 0
  while (r.pos < end) {
    const t = r.tag()
    if (t >>> 3 === 1) type = r.varint()
    else if (t >>> 3 === 2) unit = r.varint()
    else r.skip(t & 7)
  }
  if (r.pos !== end) throw new ProtoError('value type overruns its length')
  return [type, unit]
}

function mapping(r: Reader) {
  const end = r.lengthEnd()
  const m = { id: 0, memoryStart: 0, memoryLimit: 0, fileOffset: 0, file: 0, build: 0 }
  const flags = [false, false, false, false]
  while (r.pos < end) {
    const t = r.tag()
    const f = t >>> 3
    if (f >= 1 && f <= 10) expectWire(t, VARINT)
    if (f === 1) m.id = r.varint()
    else if (f === 2) m.memoryStart = r.varint()
    else if (f === 3) m.memoryLimit = r.varint()
    else if (f === 4) m.fileOffset = r.varint()
    else if (f === 5) m.file = r.varint()
    else if (f === 6) m.build = r.varint()
    else if (f >= 7 && f <= 10) flags[f - 7] = r.varint() !== 0
    else r.skip(t & 7)
  }
  if (r.pos !== end) throw new ProtoError('mapping overruns its length')
  return {
    ...m,
    hasFunctions: flags[0] ?? false,
    hasFilenames: flags[1] ?? false,
    hasLineNumbers: flags[2] ?? false,
    hasInlineFrames: flags[3] ?? false,
  }
}
