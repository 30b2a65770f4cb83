/**
 * Writes the model back as profile.proto, so `go tool pprof` can open what gomemdoctor computes
 * (a diff, a generated benchmark input). The inverse of pprof.ts: ids come from the model's id
 * columns, strings are re-interned with "" first, values are rounded to int64 as pprof's ScaleN
 * does, and negative values are written as 10-byte two's-complement varints.
 *
 * Reference: github.com/google/pprof proto/profile.proto.
 */
import { gzipSync } from 'node:zlib'
import type { Profile, ValueType } from '../../model/heap-profile.ts'

/** A byte buffer that grows; varints and length-prefixed fields. */
class Writer {
  buf = Buffer.allocUnsafe(1 << 16)
  pos = 0

  ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + extra))
    this.buf.copy(next, 0, 0, this.pos)
    this.buf = next
  }

  /** Non-negative integer below 2^53. */
  varint(value: number): void {
    this.ensure(10)
    let v = value
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80
      v = Math.floor(v / 0x80)
    }
    this.buf[this.pos++] = v
  }

  int64(value: number): void {
    const v = Math.round(value)
    if (v >= 0) {
      this.varint(v)
      return
    }
    // Two's complement of |v| over 64 bits, as two 32-bit halves, then 10 varint bytes.
    const magnitude = -v
    const mLo = magnitude % 4294967296
    const mHi = Math.floor(magnitude / 4294967296)
    let lo = (~mLo + 1) >>> 0
    let hi = (~mHi + (mLo === 0 ? 1 : 0)) >>> 0
    this.ensure(10)
    for (let i = 0; i < 9; i++) {
      this.buf[this.pos++] = (lo & 0x7f) | 0x80
      lo = (lo >>> 7) | ((hi & 0x7f) << 25)
      hi >>>= 7
    }
    this.buf[this.pos++] = lo & 0x01
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire)
  }

  /** field = varint, skipped when zero (proto3 default). */
  field(field: number, value: number): void {
    if (value === 0) return
    this.tag(field, 0)
    this.int64(value)
  }

  bytes(field: number, bytes: Uint8Array, length = bytes.length): void {
    this.tag(field, 2)
    this.varint(length)
    this.ensure(length)
    this.buf.set(bytes.subarray(0, length), this.pos)
    this.pos += length
  }

  /** Writes a nested message built by `fill` into `scratch`, length-prefixed. */
  message(field: number, scratch: Writer, fill: (w: Writer) => void): void {
    scratch.pos = 0
    fill(scratch)
    this.bytes(field, scratch.buf, scratch.pos)
  }

  packed(field: number, scratch: Writer, count: number, at: (i: number) => number): void {
    if (count === 0) return
    scratch.pos = 0
    for (let i = 0; i < count; i++) scratch.int64(at(i))
    this.bytes(field, scratch.buf, scratch.pos)
  }
}

/** profile.proto bytes, uncompressed. */
export function encodeProfile(profile: Profile): Uint8Array {
  const strings = new Map<string, number>([['', 0]])
  const intern = (s: string): number => {
    let index = strings.get(s)
    if (index === undefined) {
      index = strings.size
      strings.set(s, index)
    }
    return index
  }
  const out = new Writer()
  const inner = new Writer()
  const innermost = new Writer()
  const valueType = (field: number, vt: ValueType) =>
    out.message(field, inner, w => {
      w.field(1, intern(vt.type))
      w.field(2, intern(vt.unit))
    })

  for (const vt of profile.sampleTypes) valueType(1, vt)

  const { samples, locations, functions } = profile
  const width = profile.sampleTypes.length
  // Label strings are indexes into the source string table; re-intern them.
  const labelString = (index: number) => intern(profile.strings[index] ?? '')
  for (let s = 0; s < samples.count; s++) {
    out.message(2, inner, w => {
      const from = samples.locationStart[s] ?? 0
      const to = samples.locationStart[s + 1] ?? 0
      w.packed(1, innermost, to - from, i => locations.id[samples.location[from + i] ?? 0] ?? 0)
      w.packed(2, innermost, width, i => samples.values[s * width + i] ?? 0)
      for (let l = samples.labelStart[s] ?? 0; l < (samples.labelStart[s + 1] ?? 0); l++) {
        const key = labelString(samples.labelKey[l] ?? 0)
        const str = labelString(samples.labelStr[l] ?? 0)
        const unit = labelString(samples.labelUnit[l] ?? 0)
        w.message(3, innermost, x => {
          x.field(1, key)
          x.field(2, str)
          x.field(3, str === 0 ? (samples.labelNum[l] ?? 0) : 0)
          x.field(4, unit)
        })
      }
    })
  }

  for (const m of profile.mappings) {
    out.message(3, inner, w => {
      w.field(1, m.id)
      w.field(2, m.memoryStart)
      w.field(3, m.memoryLimit)
      w.field(4, m.fileOffset)
      w.field(5, intern(m.filename))
      w.field(6, intern(m.buildId))
      w.field(7, m.hasFunctions ? 1 : 0)
      w.field(8, m.hasFilenames ? 1 : 0)
      w.field(9, m.hasLineNumbers ? 1 : 0)
      w.field(10, m.hasInlineFrames ? 1 : 0)
    })
  }

  for (let i = 0; i < locations.id.length; i++) {
    out.message(4, inner, w => {
      w.field(1, locations.id[i] ?? 0)
      const mapping = locations.mapping[i] ?? -1
      if (mapping >= 0) w.field(2, profile.mappings[mapping]?.id ?? 0)
      w.field(3, locations.address[i] ?? 0)
      for (let l = locations.lineStart[i] ?? 0; l < (locations.lineStart[i + 1] ?? 0); l++) {
        w.message(4, innermost, x => {
          x.field(1, (locations.lineFunction[l] ?? 0) + 1)
          x.field(2, locations.lineNumber[l] ?? 0)
        })
      }
    })
  }
  // Function ids are positions + 1: the model keeps indexes, not the file's function ids.
  for (let f = 0; f < functions.name.length; f++) {
    out.message(5, inner, w => {
      w.field(1, f + 1)
      w.field(2, intern(functions.name[f] ?? ''))
      w.field(3, intern(functions.systemName[f] ?? ''))
      w.field(4, intern(functions.filename[f] ?? ''))
      w.field(5, functions.startLine[f] ?? 0)
    })
  }

  const drop = intern(profile.dropFrames)
  const keep = intern(profile.keepFrames)
  const comments = profile.comments.map(intern)
  const defaultType = intern(profile.defaultSampleType)
  if (profile.periodType) {
    intern(profile.periodType.type)
    intern(profile.periodType.unit)
  }
  for (const s of strings.keys()) {
    const bytes = Buffer.from(s, 'utf8')
    out.bytes(6, bytes)
  }
  out.field(7, drop)
  out.field(8, keep)
  out.field(9, profile.timeNanos)
  out.field(10, profile.durationNanos)
  if (profile.periodType) valueType(11, profile.periodType)
  out.field(12, profile.period)
  for (const c of comments) out.field(13, c)
  out.field(14, defaultType)
  return out.buf.subarray(0, out.pos)
}

/** profile.proto, gzipped: what /debug/pprof serves and `go tool pprof` reads. */
export function encodeProfileGzip(profile: Profile): Uint8Array {
  return gzipSync(encodeProfile(profile))
}
