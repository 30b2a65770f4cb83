import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fieldEnd, fieldLength, ProtoError, Reader } from './pprof-wire.ts'

/** Varint bytes of a non-negative integer below 2^53, or of a negative int64 (10 bytes). */
function varint(value: bigint): number[] {
  let v = BigInt.asUintN(64, value)
  const out: number[] = []
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80)
    v >>= 7n
  }
  out.push(Number(v))
  return out
}

test('varints and int64 decode exactly at every width, negatives included', () => {
  const values = [0n, 1n, 127n, 128n, 2n ** 28n - 1n, 2n ** 28n, 2n ** 32n + 1n, 2n ** 53n - 1n]
  for (const v of values) assert.equal(new Reader(Uint8Array.from(varint(v))).varint(), Number(v))
  for (const v of [-1n, -5n, -(2n ** 31n), -(2n ** 52n) + 7n])
    assert.equal(new Reader(Uint8Array.from(varint(v))).int64(), Number(v))
})

test('a cut or endless varint is a ProtoError', () => {
  assert.throws(() => new Reader(Uint8Array.from([0x80, 0x80])).varint(), ProtoError)
  assert.throws(() => new Reader(new Uint8Array(11).fill(0xff)).varint(), /longer than 10 bytes/)
})

test('fieldEnd finds whole fields and answers -1 for every cut of one', () => {
  // field 2, length 3, payload; then field 7 varint 300.
  const bytes = Uint8Array.from([0x12, 3, 1, 2, 3, 0x38, ...varint(300n)])
  assert.equal(fieldEnd(bytes, 0, bytes.length), 5)
  assert.equal(fieldEnd(bytes, 5, bytes.length), bytes.length)
  for (let cut = 0; cut < 5; cut++) assert.equal(fieldEnd(bytes, 0, cut), -1, `cut at ${cut}`)
  for (let cut = 5; cut < bytes.length; cut++) assert.equal(fieldEnd(bytes, 5, cut), -1)
  assert.throws(() => fieldEnd(Uint8Array.from([0x03]), 0, 1), /field number 0/)
  assert.throws(() => fieldEnd(Uint8Array.from([0x0b]), 0, 1), /wire type 3/)
})

test('fieldLength tells how many bytes a cut length-delimited field needs', () => {
  assert.equal(fieldLength(Uint8Array.from([0x12, ...varint(1000n), 1, 2])), 1003)
  assert.equal(fieldLength(Uint8Array.from([0x12])), undefined)
  assert.equal(fieldLength(Uint8Array.from([0x38])), undefined)
})
