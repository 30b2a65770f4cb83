import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { gzipSync } from 'node:zlib'
import { buildProfile } from '../../../test/helpers/profile-builder.ts'
import { InputError } from '../../errors.ts'
import { sampleLabels, sampleTypeTotal } from '../../model/heap-profile.ts'
import { parsePprof, parsePprofAsync } from './pprof.ts'
import { encodeProfile, encodeProfileGzip } from './pprof-encode.ts'

const dir = 'testdata/formats/pprof'
const fixtures = readdirSync(dir).filter(f => f.endsWith('.pb.gz'))
const read = (name: string) => parsePprof(readFileSync(join(dir, name)), name)

test('decodes every real go1.19 profile with its sample types and resolved names', () => {
  assert.ok(fixtures.length >= 4)
  for (const name of fixtures) {
    const p = read(name)
    assert.ok(p.samples.count > 0, name)
    assert.ok(
      p.functions.name.every(n => n.length > 0),
      name,
    )
    assert.ok(p.timeNanos > 1.6e18, `${name}: time_nanos is a 2020s timestamp`)
  }
  const heap = read('go1.19-heap-t1.pb.gz')
  assert.deepEqual(
    heap.sampleTypes.map(t => `${t.type}/${t.unit}`),
    ['alloc_objects/count', 'alloc_space/bytes', 'inuse_objects/count', 'inuse_space/bytes'],
  )
  assert.deepEqual(heap.periodType, { type: 'space', unit: 'bytes' })
  assert.equal(heap.period, 4096)
  assert.ok(heap.functions.name.includes('main.leakyCache'))
  // Go gives every heap sample the object size as a numeric label.
  const labelled = Array.from({ length: heap.samples.count }, (_, i) => sampleLabels(heap, i))
  assert.ok(labelled.some(l => l[0]?.key === 'bytes' && (l[0].num ?? 0) > 0))
  const goroutine = read('go1.19-goroutine.pb.gz')
  assert.deepEqual(goroutine.sampleTypes, [{ type: 'goroutine', unit: 'count' }])
  assert.ok(sampleTypeTotal(goroutine, 0) >= 300, 'the 300 leaked workers are counted')
})

test('reads the same profile gzipped or raw', () => {
  const gz = readFileSync(join(dir, 'go1.19-heap-t0.pb.gz'))
  const fromGzip = parsePprof(gz, 'a')
  const fromRaw = parsePprof(encodeProfile(fromGzip), 'a')
  assert.deepEqual(fromRaw.samples.values, fromGzip.samples.values)
})

test('re-encodes every real profile to bytes that decode to the same model', () => {
  for (const name of fixtures) {
    const p = read(name)
    const again = parsePprof(encodeProfileGzip(p), name)
    assert.deepEqual(again.sampleTypes, p.sampleTypes)
    assert.deepEqual(again.samples.values, p.samples.values)
    assert.deepEqual(again.samples.location, p.samples.location)
    assert.deepEqual(again.samples.labelNum, p.samples.labelNum)
    assert.deepEqual(again.locations.lineNumber, p.locations.lineNumber)
    assert.deepEqual(again.functions.name, p.functions.name)
    assert.deepEqual(again.mappings, p.mappings)
    assert.equal(again.timeNanos, p.timeNanos)
  }
})

test('decodes negative values and values past 2^28 and 2^32 exactly', () => {
  const values = [-5, 2 ** 28 + 1, 2 ** 40 + 3, -(2 ** 52) + 7, 2 ** 53 - 1, -1, 0, 127, 128]
  const p = buildProfile(values.map(v => ({ stack: ['main.f'], values: [v] })))
  const again = parsePprof(encodeProfile(p), 'x')
  assert.deepEqual([...again.samples.values], values)
})

test('keeps numeric and string labels', () => {
  const p = buildProfile([
    {
      stack: ['main.f'],
      values: [1],
      labels: [
        { key: 'bytes', num: 4096, unit: 'bytes' },
        { key: 'handler', str: '/api' },
      ],
    },
  ])
  assert.deepEqual(sampleLabels(parsePprof(encodeProfile(p), 'x'), 0), [
    { key: 'bytes', num: 4096, unit: 'bytes' },
    { key: 'handler', str: '/api' },
  ])
})

/** A protobuf message from raw fields, for inputs that are valid protobuf but not a profile. */
function proto(...fields: [number, number | Uint8Array][]): Buffer {
  const out: number[] = []
  const varint = (v: number) => {
    while (v >= 0x80) {
      out.push((v % 0x80) | 0x80)
      v = Math.floor(v / 0x80)
    }
    out.push(v)
  }
  for (const [field, value] of fields) {
    if (typeof value === 'number') {
      varint(field * 8)
      varint(value)
    } else {
      varint(field * 8 + 2)
      varint(value.length)
      out.push(...value)
    }
  }
  return Buffer.from(out)
}

const realGzip = readFileSync(join(dir, 'go1.19-heap-t0.pb.gz'))
const valid = encodeProfile(buildProfile([{ stack: ['main.f'], values: [1] }]))

const hostile: [string, Uint8Array, RegExp][] = [
  ['an empty file', new Uint8Array(0), /empty file/],
  ['a truncated gzip stream', realGzip.subarray(0, realGzip.length / 2), /truncated gzip/],
  [
    'a corrupt gzip stream',
    Buffer.concat([realGzip.subarray(0, 10), Buffer.alloc(200, 7)]),
    /corrupt gzip/,
  ],
  [
    'an HTML login page',
    Buffer.from('<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>…</body></html>'),
    /got HTML, not a pprof profile/,
  ],
  ['a gzipped HTML page', gzipSync('<html><body>502 Bad Gateway</body></html>'), /got HTML/],
  [
    'a text heap profile',
    Buffer.from('heap profile: 3: 1200 [40: 9000] @ heap/1048576\n'),
    /debug=1/,
  ],
  ['a goroutine dump', Buffer.from('goroutine 1 [running]:\nmain.main()\n'), /goroutine dump/],
  ['a JSON document', Buffer.from('{"memstats": {}}'), /JSON/],
  [
    'random bytes',
    Buffer.from([0x08, 0x96, 0x01, 0xff, 0xff, 0xff, 0x0f, 0x12]),
    /not a pprof profile/,
  ],
  ['a protobuf with no profile fields', proto([20, 5], [21, 7]), /no sample types/],
  ['a protobuf whose sample types are not messages', proto([1, 5]), /wire type/],
  [
    'a string index past the table',
    proto([1, proto([1, 9], [2, 1])], [6, new Uint8Array(0)], [6, Buffer.from('x')]),
    /string 9, past the end of the string table \(2 strings\)/,
  ],
  [
    'a sample naming a missing location',
    proto([1, proto()], [2, proto([1, 7], [2, 1])], [6, new Uint8Array(0)]),
    /location 7/,
  ],
  [
    'a sample with too few values',
    proto([1, proto()], [1, proto()], [2, proto([2, 1])], [6, new Uint8Array(0)]),
    /1 values for 2 sample types/,
  ],
  [
    'a length running past the end',
    Buffer.concat([valid.subarray(0, 3), Buffer.from([0x12, 0x7f])]),
    /runs past the end|truncated/,
  ],
  ['a cut profile', valid.subarray(0, valid.length - 3), /not a pprof profile/],
]

for (const [what, bytes, message] of hostile) {
  test(`rejects ${what} in one line naming the file`, () => {
    assert.throws(
      () => parsePprof(bytes, 'heap.pb.gz'),
      (error: unknown) => {
        assert.ok(error instanceof InputError, `${what}: ${String(error)}`)
        assert.match(error.message, /^heap\.pb\.gz: /)
        assert.match(error.message, message)
        assert.ok(!error.message.includes('\n'))
        return true
      },
    )
  })
}

test('the streaming decoder gives the same profile as the whole-buffer one', async () => {
  for (const name of fixtures) {
    const bytes = readFileSync(join(dir, name))
    assert.deepEqual(await parsePprofAsync(bytes, name), parsePprof(bytes, name), name)
  }
})

test('the streaming decoder rejects every hostile input with the same line, gzipped or not', async () => {
  const message = async (run: () => unknown) => {
    try {
      await run()
    } catch (error) {
      assert.ok(error instanceof InputError, String(error))
      return error.message
    }
    assert.fail('accepted')
  }
  for (const [what, bytes] of hostile) {
    const gzipped = bytes[0] === 0x1f ? bytes : gzipSync(bytes)
    for (const input of [bytes, gzipped])
      assert.equal(
        await message(() => parsePprofAsync(input, 'heap.pb.gz')),
        await message(() => parsePprof(input, 'heap.pb.gz')),
        what,
      )
  }
})

test('refuses a gzip stream that inflates past the limit (a zip bomb), by either path', async () => {
  // One string of 3 MiB: valid protobuf as far as it goes, so only the size can stop it.
  const header = Buffer.from([0x32, 0x80, 0x80, 0xc0, 0x01]) // field 6, length 3 << 20
  const bomb = gzipSync(Buffer.concat([header, Buffer.alloc(3 << 20)]))
  assert.ok(bomb.length < 16 << 10, 'zeros compress a thousandfold')
  const refused = /^InputError: bomb\.pb\.gz: inflates to more than 1\.00 MiB, refusing to read it$/
  assert.throws(() => parsePprof(bomb, 'bomb.pb.gz', 1 << 20), refused)
  await assert.rejects(parsePprofAsync(bomb, 'bomb.pb.gz', 1 << 20), refused)
})
