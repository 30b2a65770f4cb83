/**
 * profile.proto into the typed-array model of model/heap-profile.ts, in one pass over chunks as
 * they arrive: a stream can inflate the next chunk on the thread pool while this one is decoded.
 *
 * One pass means ids are resolved at the end: Go writes samples first and the tables they name
 * (locations, functions, strings) after them, so samples keep raw location ids until finish()
 * hands everything to pprof-resolve.ts.
 * General protobuf libraries decode a 1M-sample profile at ~20 MB/s into millions of objects and
 * return int64 as bigint (shared/research/deps.md §1); this writes varints straight into typed
 * arrays. Values are exact below 2^53; negative int64 (a diff written by pprof) decode correctly.
 *
 * Reference: github.com/google/pprof proto/profile.proto; profile/encode.go for the checks.
 */
import type { Profile } from '../../model/heap-profile.ts'
import {
  addToLeafSums,
  emptyLeafSums,
  markLocations,
  type ProfileTables,
  type TopSamples,
} from '../../model/heap-top.ts'
import { type F64Column, f64, grow, type U32Column, u32 } from './pprof-columns.ts'
import { LocationIndexes, type RawMapping, resolveProfile, WIDE_ID } from './pprof-resolve.ts'
import { expectWire, fieldEnd, fieldLength, LEN, ProtoError, Reader, VARINT } from './pprof-wire.ts'

/** Where the varint read by the last shortVarint() call ends. */
let shortEnd = 0

/**
 * The varint at buf[p] when it is at most four bytes (below 2^28: nearly every id, index and
 * value in a profile), else -1 for the Reader to read. Small enough for V8 to inline into the
 * hot loops; reading past the buffer gives undefined, which ends the ladder, and the callers'
 * end checks catch it.
 */
function shortVarint(buf: Uint8Array, p: number): number {
  let b = buf[p++] as number
  let v = b & 0x7f
  if (b >= 0x80) {
    b = buf[p++] as number
    v |= (b & 0x7f) << 7
    if (b >= 0x80) {
      b = buf[p++] as number
      v |= (b & 0x7f) << 14
      if (b >= 0x80) {
        b = buf[p++] as number
        v |= (b & 0x7f) << 21
        if (b >= 0x80) return -1
      }
    }
  }
  shortEnd = p
  return v
}

export interface DecodeOptions {
  /**
   * false: sample labels are checked and skipped, and the profile has none (`profile top` and
   * `diff` read none, and a 1M-sample heap profile's bytes= labels cost ~50 ms to keep).
   */
  labels?: boolean
  /**
   * false: samples are checked for their length only and their byte ranges kept; samples()
   * then decodes them one at a time, as often as asked, for a caller that needs no sample
   * stored (`profile top`: 5.2M frames of a deep profile are 21 MiB as indexes). The chunks
   * pushed must then stay unchanged until the last samples() pass.
   */
  keepSamples?: boolean
}

export class ProfileDecoder {
  // Chunks holding one unfinished field, and how many bytes that field needs in all.
  private pending: Buffer[] = []
  private pendingBytes = 0
  private pendingNeeded = 0
  private readonly reader = new Reader(new Uint8Array(0))
  /** The buffer fields() is reading, as a Buffer for its UTF-8 decoder. */
  private text: Buffer = Buffer.alloc(0)

  private readonly sampleTypeIdx: [number, number][] = []
  private periodTypeIdx: [number, number] | undefined
  private readonly commentIdx: number[] = []
  private dropIdx = 0
  private keepIdx = 0
  private defaultIdx = 0
  private period = 0
  private timeNanos = 0
  private durationNanos = 0
  private readonly strings: string[] = []
  private readonly mappingRaw: RawMapping[] = []

  private readonly fnId: F64Column
  private readonly fnName: F64Column
  private readonly fnSystem: F64Column
  private readonly fnFile: F64Column
  private readonly fnStart: F64Column

  private readonly locId: F64Column
  private readonly locAddress: F64Column
  private readonly locMappingId: F64Column
  private readonly lineStart: U32Column
  private readonly lineFunctionId: F64Column
  private readonly lineNumber: F64Column

  private sampleCount = 0
  /** Values per sample, from the first sample; every other sample must agree. */
  private width = -1
  private readonly values: F64Column
  private readonly locationStart: U32Column
  /**
   * Location ids minus one (id 0 wraps to WIDE_ID): already the indexes when Go numbered the
   * locations 1..n, so finish() need not touch them; otherwise resolved in place.
   */
  private locationIds: Uint32Array
  private locationLen = 0
  /** The largest value in locationIds: below the location count, every id named a location. */
  private locationMax = 0
  /** Ids too big for locationIds, by position (Go numbers locations 1..n; other writers may not). */
  private readonly wideIds = new Map<number, number>()
  private readonly labelStart: U32Column
  private readonly labelKey: U32Column
  private readonly labelStr: U32Column
  private readonly labelNum: F64Column
  private readonly labelUnit: U32Column
  /** Largest string index a label names: checked against the table once it is read. */
  private labelStringMax = 0

  /**
   * `sizeHint`: about how many bytes will be pushed, to size the sample columns once instead of
   * doubling them (the copies cost a 1M-sample profile ~80 ms); a wrong hint costs only that.
   */
  private readonly labels: boolean
  /** With keepSamples: false, where each sample's bytes start and end in the one buffer. */
  private readonly spans: U32Column | undefined
  private whole: Buffer | undefined
  /** How far into `whole` the fields are decoded. */
  private scanned = 0
  /** Where `whole` is copied to when a chunk does not continue it in memory. */
  private room: Buffer | undefined

  constructor(
    readonly source: string,
    sizeHint = 0,
    options: DecodeOptions = {},
  ) {
    this.labels = options.labels !== false
    // A Go heap sample is ~65 bytes: ~15 location ids of 3 bytes, 4 values, a label.
    // Reserved up front for at most 256 MB of input; past that the columns double as they fill,
    // so a wild hint cannot ask for gigabytes of address space at once.
    const hint = Math.min(sizeHint, 256 * 2 ** 20)
    const perSample = Math.max(1024, Math.ceil(hint / 48))
    // Without samples kept, their columns hold one sample at a time.
    this.spans = options.keepSamples === false ? u32(perSample * 2) : undefined
    const samples = this.spans ? 1024 : perSample
    this.values = f64(samples * 4)
    this.locationStart = u32(samples)
    const labelled = this.labels ? samples : 1024
    this.labelStart = u32(labelled)
    // Go labels every heap sample once (bytes=size).
    this.labelKey = u32(labelled)
    this.labelStr = u32(labelled)
    this.labelNum = f64(labelled)
    this.labelUnit = u32(labelled)
    // Tables: a location per 200–650 bytes of the profiles measured, a function per 600–3,000.
    const locations = Math.max(1024, Math.ceil(hint / 128))
    this.locId = f64(locations)
    this.locAddress = f64(locations)
    this.locMappingId = f64(locations)
    this.lineStart = u32(locations)
    this.lineFunctionId = f64(locations)
    this.lineNumber = f64(locations)
    const functions = Math.max(1024, Math.ceil(hint / 512))
    this.fnId = f64(functions)
    this.fnName = f64(functions)
    this.fnSystem = f64(functions)
    this.fnFile = f64(functions)
    this.fnStart = f64(functions)
    // Ids are 1–3 bytes in Go's profiles (2.9–4.3 bytes a frame with the rest of the sample).
    this.locationIds = new Uint32Array(Math.max(4096, this.spans ? 0 : Math.ceil(hint / 2)))
  }

  /** Decodes every whole field in `chunk` (after what earlier chunks left unfinished). */
  push(chunk: Uint8Array): void {
    let buf: Buffer = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    if (this.spans) {
      this.grow(buf)
      return
    }
    // Finish the field cut by the last chunk boundary from the head of this one: only that
    // field is copied, never the whole chunk.
    while (this.pendingBytes > 0) {
      const take = this.pendingNeeded - this.pendingBytes
      if (take > buf.length) {
        this.pending.push(buf)
        this.pendingBytes += buf.length
        return
      }
      const joined = Buffer.concat([...this.pending, buf.subarray(0, take)])
      buf = buf.subarray(take)
      this.pending = []
      this.pendingBytes = 0
      this.keep(joined, this.fields(joined))
    }
    this.keep(buf, this.fields(buf))
  }

  /**
   * keepSamples: false: the chunks make one buffer, which spans are offsets into. A chunk that
   * continues the last one in memory (zlib's chunks of one output buffer) only lengthens the
   * view; any other is appended to a copy. Fields are decoded up to the last whole one, the
   * rest once more bytes arrive.
   */
  private grow(chunk: Buffer): void {
    const w = this.whole
    if (w === undefined) this.whole = chunk
    else if (chunk.buffer === w.buffer && chunk.byteOffset === w.byteOffset + w.length)
      this.whole = Buffer.from(w.buffer, w.byteOffset, w.length + chunk.length)
    else {
      // Copied, into room that doubles: linear however many chunks come.
      const length = w.length + chunk.length
      let room = this.room
      if (room === undefined || w.buffer !== room.buffer || room.length < length) {
        room = Buffer.allocUnsafe(Math.max(2 * length, 1 << 16))
        w.copy(room, 0)
        this.room = room
      }
      chunk.copy(room, w.length)
      this.whole = room.subarray(0, length)
    }
    this.scanned = this.fields(this.whole, this.scanned)
  }

  /** Keeps buf[stop..] for the next chunk, and how many bytes its field needs in all. */
  private keep(buf: Buffer, stop: number): void {
    if (stop === buf.length) return
    const rest = buf.subarray(stop)
    this.pending = [rest]
    this.pendingBytes = rest.length
    // A cut header: read one more byte at a time until the field's length is known.
    this.pendingNeeded = fieldLength(rest) ?? rest.length + 1
  }

  /** Decodes whole fields from the start of `buf`; returns where the first unfinished one starts. */
  private fields(buf: Buffer, from = 0): number {
    this.text = buf
    const end = buf.length
    let pos = from
    while (pos < end) {
      // Samples, locations, functions and strings (fields 2, 4, 5, 6) are nearly all of a
      // profile: their header is read here, once, when its length takes one or two bytes.
      const tag = buf[pos] as number
      if ((tag === 0x12 || tag === 0x22 || tag === 0x2a || tag === 0x32) && pos + 2 < end) {
        let start = pos + 2
        let length = buf[pos + 1] as number
        if (length >= 0x80) {
          length = (length & 0x7f) | ((buf[pos + 2] as number) << 7)
          start++
        }
        if (length < 0x4000 && start + length <= end) {
          const stop = start + length
          if (tag === 0x12) this.sampleField(buf, start, stop)
          else if (tag === 0x22) this.location(buf, start, stop)
          else if (tag === 0x2a) this.function(buf, start, stop)
          else this.strings.push(buf.toString('utf8', start, stop))
          pos = stop
          continue
        }
      }
      const next = fieldEnd(buf, pos, end)
      if (next < 0) return pos
      this.field(this.reader.at(buf, pos, next))
      pos = next
    }
    return pos
  }

  private field(r: Reader): void {
    const tag = r.tag()
    const field = tag >>> 3
    if (field >= 1 && field <= 6) expectWire(tag, LEN)
    else if (field >= 7 && field <= 12 && field !== 11) expectWire(tag, VARINT)
    switch (field) {
      case 2: {
        const end = r.lengthEnd()
        this.sampleField(r.buf, r.pos, end)
        break
      }
      case 4: {
        const end = r.lengthEnd()
        this.location(r.buf, r.pos, end)
        break
      }
      case 6: {
        const end = r.lengthEnd()
        this.strings.push(this.text.toString('utf8', r.pos, end))
        break
      }
      case 5: {
        const end = r.lengthEnd()
        this.function(r.buf, r.pos, end)
        break
      }
      case 1:
        this.sampleTypeIdx.push(valueType(r))
        break
      case 3:
        this.mappingRaw.push(mapping(r))
        break
      case 7:
        this.dropIdx = r.varint()
        break
      case 8:
        this.keepIdx = r.varint()
        break
      case 9:
        this.timeNanos = r.int64()
        break
      case 10:
        this.durationNanos = r.int64()
        break
      case 11:
        expectWire(tag, LEN)
        this.periodTypeIdx = valueType(r)
        break
      case 12:
        this.period = r.int64()
        break
      case 13:
        if ((tag & 7) === VARINT) this.commentIdx.push(r.varint())
        else {
          expectWire(tag, LEN)
          const end = r.lengthEnd()
          while (r.pos < end) this.commentIdx.push(r.varint())
        }
        break
      case 14:
        expectWire(tag, VARINT)
        this.defaultIdx = r.varint()
        break
      default:
        r.skip(tag & 7)
    }
  }

  /** A sample's bytes: decoded, or kept as a span to decode later (keepSamples: false). */
  private sampleField(buf: Uint8Array, start: number, end: number): void {
    const spans = this.spans
    if (spans === undefined) this.sample(buf, start, end)
    else {
      spans.push(start)
      spans.push(end)
    }
  }

  /**
   * One Sample {1: location_id packed, 2: value packed, 3: label}. The hot loop of the decoder
   * (a big profile is mostly samples): varints of up to four bytes are read inline, longer ones
   * by the Reader.
   */
  private sample(buf: Uint8Array, start: number, end: number): void {
    const r = this.reader
    this.locationStart.push(this.locationLen)
    if (this.labels) this.labelStart.push(this.labelKey.length)
    let valueCount = 0
    let pos = start
    while (pos < end) {
      const tag = buf[pos++] as number
      if (tag === 0x0a || tag === 0x12) {
        // Packed location ids (field 1) or values (field 2).
        let packedEnd: number
        let p = pos
        if ((buf[p] as number) < 0x80) {
          packedEnd = p + 1 + (buf[p] as number)
          p++
          if (packedEnd > end) throw new ProtoError(`field runs past the end of its sample`)
        } else {
          packedEnd = r.at(buf, pos, end).lengthEnd()
          p = r.pos
        }
        if (tag === 0x0a) {
          // Each id takes at least a byte: room for the field's bytes is room for its ids.
          let ids = this.locationIds
          let n = this.locationLen
          let max = this.locationMax
          if (n + (packedEnd - p) > ids.length) ids = grow(ids, n + (packedEnd - p))
          while (p < packedEnd) {
            // One- to three-byte ids (below 2^21), nearly all of a profile's: read here, straight.
            const b0 = buf[p] as number
            let v: number
            if (b0 < 0x80) {
              v = b0
              p++
            } else if ((buf[p + 1] as number) < 0x80) {
              v = (b0 & 0x7f) | ((buf[p + 1] as number) << 7)
              p += 2
            } else if ((buf[p + 2] as number) < 0x80) {
              // Three bytes (below 2^21): the ids of a profile with 16,384 locations or more.
              v =
                (b0 & 0x7f) |
                (((buf[p + 1] as number) & 0x7f) << 7) |
                ((buf[p + 2] as number) << 14)
              p += 3
            } else {
              v = shortVarint(buf, p)
              if (v >= 0) p = shortEnd
              else {
                v = r.at(buf, p, packedEnd).varint()
                p = r.pos
                if (v > WIDE_ID) {
                  this.wideIds.set(n, v)
                  v = 0
                }
              }
            }
            // id 0 (reserved) wraps to WIDE_ID, above any location count.
            const index = (v - 1) >>> 0
            if (index > max) max = index
            ids[n++] = index
          }
          this.locationIds = ids
          this.locationLen = n
          this.locationMax = max
        } else {
          const column = this.values
          if (column.length + (packedEnd - p) > column.data.length)
            column.data = grow(column.data, column.length + (packedEnd - p))
          const values = column.data
          let n = column.length
          while (p < packedEnd) {
            let v = shortVarint(buf, p)
            if (v >= 0) p = shortEnd
            else {
              v = r.at(buf, p, packedEnd).int64()
              p = r.pos
            }
            values[n++] = v
          }
          valueCount += n - column.length
          column.length = n
        }
        if (p !== packedEnd) throw new ProtoError('packed field overruns its length')
        pos = p
      } else if (tag === 0x1a) {
        if (this.labels) pos = this.label(buf, pos, end)
        else {
          // Skipped, but its length must still hold within the sample.
          const length = buf[pos] as number
          if (length < 0x80 && pos + 1 + length <= end) pos += 1 + length
          else pos = r.at(buf, pos, end).lengthEnd()
        }
      } else {
        // Unpacked repeated fields (legal protobuf), unknown fields, multi-byte tags.
        r.at(buf, pos - 1, end)
        const t = r.tag()
        const f = t >>> 3
        if (f === 1) {
          expectWire(t, VARINT)
          if (this.locationLen === this.locationIds.length)
            this.locationIds = grow(this.locationIds, this.locationLen + 1)
          let id = r.varint()
          if (id > WIDE_ID) {
            this.wideIds.set(this.locationLen, id)
            id = 0
          }
          const index = (id - 1) >>> 0
          if (index > this.locationMax) this.locationMax = index
          this.locationIds[this.locationLen++] = index
        } else if (f === 2) {
          expectWire(t, VARINT)
          this.values.push(r.int64())
          valueCount++
        } else if (f === 3) {
          expectWire(t, LEN)
          if (this.labels) {
            pos = this.label(buf, r.pos, end)
            continue
          }
          r.skip(LEN)
        } else r.skip(t & 7)
        pos = r.pos
      }
    }
    if (this.width === -1) this.width = valueCount
    else if (valueCount !== this.width)
      throw new ProtoError(
        `sample ${this.sampleCount + 1} has ${valueCount} values, the first had ${this.width}`,
      )
    this.sampleCount++
  }

  /** Label {1: key, 2: str, 3: num, 4: num_unit} whose length prefix starts at `pos`. */
  private label(buf: Uint8Array, pos: number, end: number): number {
    const r = this.reader.at(buf, pos, end)
    const labelEnd = r.lengthEnd()
    let key = 0
    let str = 0
    let num = 0
    let unit = 0
    let p = r.pos
    while (p < labelEnd) {
      const tag = buf[p] as number
      // One-byte tags of the four varint fields with short values: what Go writes.
      const v = tag <= 0x20 && (tag & 7) === VARINT ? shortVarint(buf, p + 1) : -1
      if (v >= 0 && tag >= 0x08) {
        p = shortEnd
        if (tag === 0x08) key = v
        else if (tag === 0x10) str = v
        else if (tag === 0x18) num = v
        else unit = v
        continue
      }
      r.at(buf, p, labelEnd)
      const t = r.tag()
      const f = t >>> 3
      if (f <= 4) expectWire(t, VARINT)
      if (f === 1) key = r.varint()
      else if (f === 2) str = r.varint()
      else if (f === 3) num = r.int64()
      else if (f === 4) unit = r.varint()
      else r.skip(t & 7)
      p = r.pos
    }
    if (p !== labelEnd) throw new ProtoError('label overruns its length')
    if (key > this.labelStringMax) this.labelStringMax = key
    if (str > this.labelStringMax) this.labelStringMax = str
    if (unit > this.labelStringMax) this.labelStringMax = unit
    this.labelKey.push(key)
    this.labelStr.push(str)
    this.labelNum.push(num)
    this.labelUnit.push(unit)
    return labelEnd
  }

  /**
   * Location {1: id, 2: mapping_id, 3: address, 4: line {1: function_id, 2: line}}. Go writes
   * one-byte tags and lines of two short varints: those are read inline (a deep profile has
   * ~100k locations), anything else by the Reader, one field at a time.
   */
  private location(buf: Uint8Array, start: number, end: number): void {
    const r = this.reader
    let id = 0
    let mappingId = 0
    let address = 0
    this.lineStart.push(this.lineFunctionId.length)
    let p = start
    while (p < end) {
      const tag = buf[p] as number
      if (tag === 0x08 || tag === 0x10 || tag === 0x18) {
        const v = shortVarint(buf, p + 1)
        if (v >= 0 && shortEnd <= end) {
          p = shortEnd
          if (tag === 0x08) id = v
          else if (tag === 0x10) mappingId = v
          else address = v
          continue
        }
      } else if (tag === 0x22 && p + 1 < end && (buf[p + 1] as number) < 0x80) {
        const lineEnd = p + 2 + (buf[p + 1] as number)
        if (lineEnd <= end && this.shortLine(buf, p + 2, lineEnd)) {
          p = lineEnd
          continue
        }
      }
      r.at(buf, p, end)
      const t = r.tag()
      const f = t >>> 3
      if (f >= 1 && f <= 3) expectWire(t, VARINT)
      if (f === 1) id = r.varint()
      else if (f === 2) mappingId = r.varint()
      else if (f === 3) address = r.varint()
      else if (f === 4) {
        expectWire(t, LEN)
        const lineEnd = r.lengthEnd()
        let fid = 0
        let line = 0
        while (r.pos < lineEnd) {
          const lt = r.tag()
          if (lt >>> 3 <= 2) expectWire(lt, VARINT)
          if (lt >>> 3 === 1) fid = r.varint()
          else if (lt >>> 3 === 2) line = r.int64()
          else r.skip(lt & 7)
        }
        if (r.pos !== lineEnd) throw new ProtoError('line overruns its length')
        this.addLine(fid, line)
      } else r.skip(t & 7)
      p = r.pos
    }
    this.locId.push(id)
    this.locMappingId.push(mappingId)
    this.locAddress.push(address)
  }

  /** A Line made of short varints under one-byte tags 1 and 2, added; false for anything else. */
  private shortLine(buf: Uint8Array, start: number, end: number): boolean {
    let fid = 0
    let line = 0
    let p = start
    while (p < end) {
      const tag = buf[p] as number
      if (tag !== 0x08 && tag !== 0x10) return false
      const v = shortVarint(buf, p + 1)
      if (v < 0 || shortEnd > end) return false
      if (tag === 0x08) fid = v
      else line = v
      p = shortEnd
    }
    this.addLine(fid, line)
    return true
  }

  private addLine(fid: number, line: number): void {
    // A line without a function carries nothing pprof can name; it is dropped.
    if (fid === 0) return
    this.lineFunctionId.push(fid)
    this.lineNumber.push(line)
  }

  /** Function {1: id, 2: name, 3: system_name, 4: filename, 5: start_line}. */
  private function(buf: Uint8Array, from: number, end: number): void {
    const r = this.reader
    let id = 0
    let name = 0
    let system = 0
    let file = 0
    let start = 0
    let p = from
    while (p < end) {
      const tag = buf[p] as number
      // One-byte tags of the five varint fields with short values: what Go writes.
      if (tag <= 0x28 && tag >= 0x08 && (tag & 7) === VARINT) {
        const v = shortVarint(buf, p + 1)
        if (v >= 0 && shortEnd <= end) {
          p = shortEnd
          if (tag === 0x08) id = v
          else if (tag === 0x10) name = v
          else if (tag === 0x18) system = v
          else if (tag === 0x20) file = v
          else start = v
          continue
        }
      }
      r.at(buf, p, end)
      const t = r.tag()
      const f = t >>> 3
      if (f >= 1 && f <= 5) expectWire(t, VARINT)
      if (f === 1) id = r.varint()
      else if (f === 2) name = r.varint()
      else if (f === 3) system = r.varint()
      else if (f === 4) file = r.varint()
      else if (f === 5) start = r.int64()
      else r.skip(t & 7)
      p = r.pos
    }
    this.fnId.push(id)
    this.fnName.push(name)
    this.fnSystem.push(system)
    this.fnFile.push(file)
    this.fnStart.push(start)
  }

  /** The profile, ids resolved to indexes; throws if the input ended inside a field. */
  finish(): Profile {
    const unfinished = this.spans ? (this.whole?.length ?? 0) - this.scanned : this.pendingBytes
    if (unfinished > 0)
      throw new ProtoError(`truncated: it ends inside a field (the last ${unfinished} bytes)`)
    this.lineStart.push(this.lineFunctionId.length)
    this.locationStart.push(this.locationLen)
    this.labelStart.push(this.labelKey.length)
    // Without labels, every sample's range is empty.
    const labelStart = this.labels
      ? this.labelStart.trimmed()
      : new Uint32Array(this.sampleCount + 1)
    return resolveProfile({
      source: this.source,
      sampleTypeIdx: this.sampleTypeIdx,
      periodTypeIdx: this.periodTypeIdx,
      commentIdx: this.commentIdx,
      dropIdx: this.dropIdx,
      keepIdx: this.keepIdx,
      defaultIdx: this.defaultIdx,
      period: this.period,
      timeNanos: this.timeNanos,
      durationNanos: this.durationNanos,
      strings: this.strings,
      mappings: this.mappingRaw,
      functions: {
        id: this.fnId.trimmed(),
        name: this.fnName.trimmed(),
        systemName: this.fnSystem.trimmed(),
        filename: this.fnFile.trimmed(),
        startLine: this.fnStart.trimmed(),
      },
      locations: {
        id: this.locId.trimmed(),
        address: this.locAddress.trimmed(),
        mappingId: this.locMappingId.trimmed(),
        lineStart: this.lineStart.trimmed(),
        lineFunctionId: this.lineFunctionId.trimmed(),
        lineNumber: this.lineNumber.trimmed(),
      },
      samples: {
        count: this.sampleCount,
        width: this.width,
        locationStart: this.locationStart.trimmed(),
        locationIds: this.locationIds.subarray(0, this.locationLen),
        locationMax: this.locationMax,
        wideIds: this.wideIds,
        values: this.values.trimmed(),
        labelStart,
        labelKey: this.labelKey.trimmed(),
        labelStr: this.labelStr.trimmed(),
        labelNum: this.labelNum.trimmed(),
        labelUnit: this.labelUnit.trimmed(),
        labelStringMax: this.labelStringMax,
      },
    })
  }

  /**
   * A sample as Go writes it (packed ids, `width` packed values, then labels of short lengths):
   * its values read into the one-sample columns, its ids left for the caller to read from
   * goIdsStart to goIdsEnd. False for any other shape, which sample() then reads. Reads no id.
   */
  private goSample(buf: Uint8Array, start: number, end: number, width: number): boolean {
    if (buf[start] !== 0x0a) return false
    const length = shortVarint(buf, start + 1)
    const idsStart = shortEnd
    const idsEnd = idsStart + length
    if (length < 0 || idsEnd >= end || buf[idsEnd] !== 0x12) return false
    const valuesLength = shortVarint(buf, idsEnd + 1)
    let p = shortEnd
    const valuesEnd = p + valuesLength
    if (valuesLength < 0 || valuesEnd > end) return false
    const values = this.values.data
    let n = 0
    while (p < valuesEnd && n < width) {
      let v = shortVarint(buf, p)
      if (v >= 0) p = shortEnd
      else {
        v = this.reader.at(buf, p, valuesEnd).int64()
        p = this.reader.pos
      }
      values[n++] = v
    }
    if (p !== valuesEnd || n !== width) return false
    // Labels, skipped as sample() skips them: each must lie within the sample.
    while (p < end) {
      const labelLength = buf[p + 1] as number
      if (buf[p] !== 0x1a || labelLength >= 0x80 || p + 2 + labelLength > end) return false
      p += 2 + labelLength
    }
    this.goIdsStart = idsStart
    this.goIdsEnd = idsEnd
    return true
  }

  /** Where goSample() found the ids of the sample it read. */
  private goIdsStart = 0
  private goIdsEnd = 0

  /**
   * The sample at whole[start..end) decoded by sample(), with the checks finish() makes on
   * stored samples: its width against the sample types', its ids resolved to location indexes
   * (locationIds[0..locationLen)). Throws ProtoError.
   */
  private decodeSample(start: number, end: number, width: number, indexes: LocationIndexes) {
    this.locationLen = 0
    this.locationMax = 0
    this.values.length = 0
    this.width = -1
    if (this.wideIds.size > 0) this.wideIds.clear()
    this.sample(this.whole as Buffer, start, end)
    if (this.width !== width)
      throw new ProtoError(`a sample has ${this.width} values for ${width} sample types`)
    indexes.resolve(this.locationIds, this.locationLen, this.locationMax, this.wideIds)
  }

  /**
   * With keepSamples: false, the samples of `profile` (what finish() returned) as bytes decoded
   * again on each pass, with the checks finish() makes on stored samples: their width against
   * the sample types, their location ids against the locations. Throws ProtoError. Where Go
   * numbered the locations 1..n and wrote the sample in its shape (goSample), leafSums reads the
   * leaf alone and markFrames reads each id straight from the bytes, storing none: a deep
   * profile's 5.2M frames, one pass each.
   */
  samples(profile: ProfileTables): TopSamples {
    const { spans, whole } = this
    if (!spans || !whole) throw new Error('samples() needs keepSamples: false and bytes pushed')
    const width = profile.sampleTypes.length
    const indexes = new LocationIndexes(profile.locations.id)
    const count = profile.locations.id.length
    const straight = indexes.dense
    const bounds = spans.trimmed()
    const values = () => this.values.data
    return {
      forEach: (typeIndex, visit) => {
        this.sampleCount = 0
        for (let k = 0; k < bounds.length; k += 2) {
          this.decodeSample(bounds[k] as number, bounds[k + 1] as number, width, indexes)
          visit(this.locationIds, 0, this.locationLen, values(), typeIndex)
        }
      },
      leafSums: typeIndex => {
        const sums = emptyLeafSums(count)
        this.sampleCount = 0
        for (let k = 0; k < bounds.length; k += 2) {
          const start = bounds[k] as number
          const end = bounds[k + 1] as number
          if (straight && this.goSample(whole, start, end, width)) {
            const v = values()[typeIndex] as number
            if (this.goIdsStart === this.goIdsEnd) {
              addToLeafSums(sums, -1, v)
              continue
            }
            const id = shortVarint(whole, this.goIdsStart)
            if (id >= 1 && id <= count) {
              addToLeafSums(sums, id - 1, v)
              continue
            }
          }
          // Any other shape, or a leaf its bytes alone do not place: decoded, with its errors.
          this.decodeSample(start, end, width, indexes)
          const leaf = this.locationLen > 0 ? (this.locationIds[0] as number) : -1
          addToLeafSums(sums, leaf, values()[typeIndex] as number)
        }
        return sums
      },
      markFrames: (typeIndex, state, visit) => {
        this.sampleCount = 0
        for (let k = 0; k < bounds.length; k += 2) {
          const start = bounds[k] as number
          const end = bounds[k + 1] as number
          const sample = k >>> 1
          if (straight && this.goSample(whole, start, end, width)) {
            // A sample of value zero marks nothing, but its ids are checked all the same.
            const v = values()[typeIndex] as number
            if (this.markIds(whole, this.goIdsStart, this.goIdsEnd, count, state, v, sample, visit))
              continue
          }
          // Any other shape, or ids read straight that name no location: decoded, with its
          // errors. Marking again what markIds marked changes nothing: 0 and 2 became 1 and 3.
          this.decodeSample(start, end, width, indexes)
          const v = values()[typeIndex] as number
          if (v !== 0) markLocations(this.locationIds, 0, this.locationLen, state, v, sample, visit)
        }
      },
    }
  }

  /**
   * markFrames over the packed ids buf[from..end) of one sample of value v (0: checked, not
   * marked), read straight into locations 1..count; false, having marked some, at an id that
   * names none or a varint that overruns the field (the sample is then decoded for its error).
   * heap-top's markLocations rule, written out here: this loop reads every frame of a deep
   * profile, and its varints are read inline as sample() reads them.
   */
  private markIds(
    buf: Uint8Array,
    from: number,
    end: number,
    count: number,
    state: Uint8Array,
    v: number,
    sample: number,
    visit: (location: number, value: number, sample: number) => void,
  ): boolean {
    let p = from
    while (p < end) {
      // One- to three-byte ids, nearly all of a profile's, inline; longer ones by the Reader.
      const b0 = buf[p] as number
      let id: number
      if (b0 < 0x80) {
        id = b0
        p++
      } else if ((buf[p + 1] as number) < 0x80) {
        id = (b0 & 0x7f) | ((buf[p + 1] as number) << 7)
        p += 2
      } else if ((buf[p + 2] as number) < 0x80) {
        id = (b0 & 0x7f) | (((buf[p + 1] as number) & 0x7f) << 7) | ((buf[p + 2] as number) << 14)
        p += 3
      } else {
        id = shortVarint(buf, p)
        p = shortEnd
      }
      if (id < 1 || id > count || p > end) return false
      if (v === 0) continue
      const l = id - 1
      const seen = state[l] as number
      if (seen === 1) continue
      if (seen === 0) state[l] = 1
      else {
        state[l] = 3
        visit(l, v, sample)
      }
    }
    return true
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

function mapping(r: Reader): RawMapping {
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
