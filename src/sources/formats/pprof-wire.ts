/**
 * The protobuf wire format as profile.proto uses it: varints read straight into JS Numbers (exact
 * below 2^53), two's-complement int64, length-delimited fields. No schema, no objects per field.
 *
 * Reference: protobuf.dev/programming-guides/encoding.
 */

/** Malformed protobuf; the pprof entry points turn it into an InputError naming the file. */
export class ProtoError extends Error {}

export const VARINT = 0
export const I64 = 1
export const LEN = 2
export const I32 = 5

/** A cursor over [pos, end) of a buffer; moved along with at() in hot loops, never reallocated. */
export class Reader {
  buf: Uint8Array
  pos: number
  end: number
  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf
    this.pos = start
    this.end = end
  }

  /** Points this reader at [start, end) of `buf`. */
  at(buf: Uint8Array, start: number, end: number): this {
    this.buf = buf
    this.pos = start
    this.end = end
    return this
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

export function expectWire(tag: number, wire: number): void {
  if ((tag & 7) !== wire) throw new ProtoError(`field ${tag >>> 3} has wire type ${tag & 7}`)
}

/**
 * Where the field starting at `pos` ends, or -1 when [pos, end) holds only part of it: a stream
 * feeds the decoder whole fields and keeps the rest for the next chunk.
 */
export function fieldEnd(buf: Uint8Array, pos: number, end: number): number {
  const tag = peekVarint(buf, pos, end)
  if (tag < 0) return -1
  if (tag < 8) throw new ProtoError(`field number 0 at byte ${pos}`)
  const wire = tag % 8
  const p = peekEnd
  if (wire === VARINT) return peekVarint(buf, p, end) < 0 ? -1 : peekEnd
  if (wire === I64) return p + 8 <= end ? p + 8 : -1
  if (wire === I32) return p + 4 <= end ? p + 4 : -1
  if (wire !== LEN) throw new ProtoError(`wire type ${wire} at byte ${pos}`)
  const length = peekVarint(buf, p, end)
  if (length < 0) return -1
  return peekEnd + length <= end ? peekEnd + length : -1
}

/** Where the varint read by the last peekVarint() call ends. */
let peekEnd = 0

/** The varint at buf[p] (exact below 2^53), or -1 when [p, end) holds only part of it. */
function peekVarint(buf: Uint8Array, p: number, end: number): number {
  const start = p
  let value = 0
  for (let shift = 0; ; shift += 7) {
    if (p >= end) return -1
    if (shift > 63) throw new ProtoError(`varint longer than 10 bytes at byte ${start}`)
    const b = buf[p++] as number
    value += (b & 0x7f) * 2 ** shift
    if (b < 0x80) break
  }
  peekEnd = p
  return value
}

/** Bytes the field starting at buf[0] needs in all: its header and payload, when both are known. */
export function fieldLength(buf: Uint8Array): number | undefined {
  const r = new Reader(buf)
  try {
    const tag = r.tag()
    if ((tag & 7) !== LEN) return undefined
    const length = r.varint()
    return r.pos + length
  } catch {
    return undefined
  }
}
