import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { gunzipSync, gzipSync } from 'node:zlib'
import { generateDeepProfile } from '../../../bench/gen-deep-profile.ts'
import { generateHeapProfile } from '../../../bench/gen-heap-profile.ts'
import { buildProfile } from '../../../test/helpers/profile-builder.ts'
import { InputError } from '../../errors.ts'
import { sampleLabels, sampleTypeTotal } from '../../model/heap-profile.ts'
import { heapTop, type TopOptions, topOfSamples } from '../../model/heap-top.ts'
import {
  parsePprof,
  parsePprofAsync,
  parsePprofChunksSamplesUnstored,
  parsePprofForPasses,
  parsePprofSamplesUnstored,
} from './pprof.ts'
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

/** The one-line InputError message `run` fails with; a failure when it accepts the input. */
async function inputErrorOf(run: () => unknown): Promise<string> {
  try {
    await run()
  } catch (error) {
    assert.ok(error instanceof InputError, String(error))
    return error.message
  }
  assert.fail('accepted')
}

test('the streaming decoder rejects every hostile input with the same line, gzipped or not', async () => {
  for (const [what, bytes] of hostile) {
    const gzipped = bytes[0] === 0x1f ? bytes : gzipSync(bytes)
    for (const input of [bytes, gzipped])
      assert.equal(
        await inputErrorOf(() => parsePprofAsync(input, 'heap.pb.gz')),
        await inputErrorOf(() => parsePprof(input, 'heap.pb.gz')),
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

/**
 * `profile top`'s way in: the tables, and the samples as bytes decoded per pass. Its report must
 * be heapTop's of the stored model, row for row, on every input; read from bytes and from chunks.
 */
async function topsUnstored(bytes: Uint8Array, name: string, options: TopOptions) {
  const tops = []
  for (const way of waysIn(bytes, name)) tops.push(await way(options))
  return tops
}

/** Each way `profile top` reads `bytes`: whole (unstored or stored), gzipped ones as chunks. */
function waysIn(bytes: Uint8Array, name: string) {
  const fromBytes = (options: TopOptions) => {
    const { profile, samples } = parsePprofSamplesUnstored(bytes, name, undefined, {
      labels: false,
    })
    const top = topOfSamples(profile, samples, options)
    assert.deepEqual(topOfSamples(profile, samples, options), top, 'the passes can be run again')
    return top
  }
  // parsePprofForPasses, each way: unstored, or stored as it inflates (a big profile).
  const forPasses = (from: number) => async (options: TopOptions) => {
    const opts = { labels: false }
    const { profile, samples } = await parsePprofForPasses(bytes, name, undefined, opts, from)
    return topOfSamples(profile, samples, options)
  }
  if (bytes[0] !== 0x1f) return [fromBytes, forPasses(0)]
  // The trailer's size (zlib then writes one buffer), and none (chunks of 16 KiB, copied).
  const trailer = bytes.length < 18 ? 0 : Buffer.from(bytes).readUInt32LE(bytes.length - 4)
  return [
    fromBytes,
    forPasses(0),
    forPasses(Number.POSITIVE_INFINITY),
    ...[trailer, 0].map(isize => async (options: TopOptions) => {
      const { profile, samples } = await parsePprofChunksSamplesUnstored(
        chunksOf(bytes),
        bytes.length,
        isize,
        name,
        undefined,
        { labels: false },
      )
      return topOfSamples(profile, samples, options)
    }),
  ]
}

/** `bytes` in pieces of 1,000 bytes, as a file is read. */
async function* chunksOf(bytes: Uint8Array) {
  for (let i = 0; i < bytes.length; i += 1000) yield Buffer.from(bytes.subarray(i, i + 1000))
}

const topCases: TopOptions[] = [
  { limit: 20 },
  { limit: Infinity },
  { limit: 20, sortBy: 'cum' },
  { limit: 3, sampleType: '0' },
  { limit: Infinity, sortBy: 'cum', sampleType: '1' },
]

async function assertSameTop(bytes: Uint8Array, name: string, sampleTypes: string[]) {
  const model = parsePprof(bytes, name, undefined, { labels: false })
  for (const sampleType of sampleTypes)
    for (const options of topCases) {
      const wanted = { sampleType, ...options }
      if (Number(wanted.sampleType) >= model.sampleTypes.length) continue
      const expected = heapTop(model, wanted)
      for (const ours of await topsUnstored(bytes, name, wanted))
        assert.deepEqual(ours, expected, `${name} ${JSON.stringify(wanted)}`)
    }
}

test('top of the samples unstored is heapTop of the model on every real profile', async () => {
  for (const name of fixtures) {
    const bytes = readFileSync(join(dir, name))
    const types = parsePprof(bytes, name).sampleTypes.map(t => t.type)
    await assertSameTop(bytes, name, types)
    await assertSameTop(gunzipSync(bytes), `${name} (raw)`, types.slice(0, 1))
  }
})

test('top of the samples unstored is heapTop of the model on both bench shapes, small', async () => {
  const types = ['inuse_space', 'alloc_objects']
  const wide = generateHeapProfile(3000, 2000, 400)
  await assertSameTop(encodeProfileGzip(wide), 'wide.pb.gz', types)
  const deep = generateDeepProfile({
    leaves: 200,
    sitesPerLeaf: 3,
    chainsPerSite: 2,
    midFunctions: 60,
    minDepth: 12,
    maxDepth: 30,
  })
  await assertSameTop(encodeProfileGzip(deep), 'deep.pb.gz', types)
})

test('top of the samples unstored reads ids not numbered 1..n, ids past 2^32 and mixed signs', async () => {
  const p = buildProfile(
    [
      { stack: ['main.walk', 'main.walk', 'main.main'], values: [100, 1] },
      { stack: ['main.grow|main.cache', 'main.walk', 'main.main'], values: [-30, 2] },
      { stack: ['main.shrink', 'main.main'], values: [30, 0] },
      { stack: [], values: [5, 5] },
    ],
    [
      { type: 'inuse_space', unit: 'bytes' },
      { type: 'inuse_objects', unit: 'count' },
    ],
  )
  const ids = p.locations.id
  for (const [what, id] of [
    ['sparse', (i: number) => 1000 - i * 7],
    ['wide', (i: number) => 2 ** 33 + i],
  ] as const) {
    const renumbered = { ...p, locations: { ...p.locations, id: ids.map((_, i) => id(i)) } }
    await assertSameTop(encodeProfileGzip(renumbered), `${what}.pb.gz`, ['inuse_space'])
  }
})

test('top of the samples unstored reads samples of every shape, and refuses ids that name no location, in a profile numbered 1..n', async () => {
  // Numbered 1..n, as Go numbers locations: the passes read Go's shape of a sample straight from
  // its bytes and decode any other; both must give the model's report, or its error.
  const p = buildProfile(
    [
      { stack: ['main.walk', 'main.walk', 'main.main'], values: [100, 1] },
      { stack: ['main.grow|main.cache', 'main.walk', 'main.main'], values: [-30, 2] },
      { stack: ['main.shrink', 'main.main'], values: [30, 0] },
      { stack: ['main.grow|main.cache', 'main.main'], values: [0, 7] },
      { stack: [], values: [5, 5] },
      // 2,400 locations more: ids of two bytes, and a varint cut by its field's end that reads
      // as an id (0x82 then the values' tag, 0x12: 2,306).
      { stack: Array.from({ length: 2400 }, (_, i) => `main.f${i}`), values: [1, 1] },
    ],
    [
      { type: 'inuse_space', unit: 'bytes' },
      { type: 'inuse_objects', unit: 'count' },
    ],
  )
  assert.deepEqual([...p.locations.id.subarray(0, 5)], [1, 2, 3, 4, 5])
  assert.equal(p.locations.id.length, 2404)
  const bytes = Buffer.from(encodeProfile(p))
  // int64 as protobuf writes it: a negative value is 2^64 + v, ten bytes.
  const varint = (v: number) => {
    let n = BigInt.asUintN(64, BigInt(v))
    const out: number[] = []
    for (; n >= 0x80n; n >>= 7n) out.push(Number(n & 0x7fn) | 0x80)
    out.push(Number(n))
    return out
  }
  const field = (tag: number, body: number[]) => [tag, ...varint(body.length), ...body]
  const packed = (tag: number, values: number[]) => field(tag, values.flatMap(varint))
  // The profile with its sample `at` (a top-level field 2) written as `body`.
  const withSample = (at: number, body: number[]) => {
    const parts: Buffer[] = []
    let seen = 0
    for (let pos = 0; pos < bytes.length; ) {
      const tag = bytes[pos] as number
      let length = 0
      let start = pos + 1
      for (let shift = 1; ; shift *= 128) {
        const b = bytes[start++] as number
        length += (b & 0x7f) * shift
        if (b < 0x80) break
      }
      // A varint field's value was read as if a length: it ends there.
      const end = (tag & 7) === 2 ? start + length : start
      parts.push(
        tag === 0x12 && seen++ === at ? Buffer.from(field(0x12, body)) : bytes.subarray(pos, end),
      )
      pos = end
    }
    return Buffer.concat(parts)
  }
  const shapes: [string, Uint8Array][] = [
    ['as Go writes them', bytes],
    ['ids unpacked', withSample(0, [0x08, 1, 0x08, 1, 0x08, 2, ...packed(0x12, [100, 1])])],
    ['values before ids', withSample(1, [...packed(0x12, [-30, 2]), ...packed(0x0a, [3, 1, 2])])],
    [
      'an unknown field',
      withSample(2, [...packed(0x0a, [4, 2]), ...packed(0x12, [30, 0]), 0x48, 1]),
    ],
    [
      'a long label',
      withSample(2, [
        ...packed(0x0a, [4, 2]),
        ...packed(0x12, [30, 0]),
        ...field(0x1a, field(0x7a, Array(200).fill(1))),
      ]),
    ],
    ['an empty ids field', withSample(4, [...packed(0x0a, []), ...packed(0x12, [5, 5])])],
    [
      'a leaf that names no location',
      withSample(2, [...packed(0x0a, [2405, 2]), ...packed(0x12, [30, 0])]),
    ],
    [
      'a caller that names no location',
      withSample(2, [...packed(0x0a, [4, 2, 99_999]), ...packed(0x12, [30, 0])]),
    ],
    ['location id 0', withSample(1, [...packed(0x0a, [3, 0]), ...packed(0x12, [-30, 2])])],
    [
      'an id of five bytes',
      withSample(0, [...packed(0x0a, [1, 2 ** 30]), ...packed(0x12, [100, 1])]),
    ],
    ['an id past its field', withSample(0, [0x0a, 2, 1, 0x82, 0x12, 2, 100, 1])],
    [
      'a label past its sample',
      withSample(2, [...packed(0x0a, [4, 2]), ...packed(0x12, [30, 0]), 0x1a, 5, 1]),
    ],
  ]
  // A report, or the one line of the InputError refusing the input.
  const outcome = async (run: () => unknown) => {
    try {
      return await run()
    } catch (error) {
      assert.ok(error instanceof InputError, String(error))
      return error.message
    }
  }
  const refused = new Set<string>()
  // Both sample types: inuse_objects has no negative value, so its flat tops take the shown
  // rows' pass (markFrames), the other the pass over every node (forEach).
  const cases = topCases.flatMap(c => ['0', '1'].map(sampleType => ({ ...c, sampleType })))
  for (const [what, input] of shapes)
    for (const options of cases) {
      const model = parsePprof.bind(undefined, input, 'dense.pb', undefined, { labels: false })
      const expected = await outcome(() => heapTop(model(), options))
      if (typeof expected === 'string') refused.add(what)
      for (const way of waysIn(input, 'dense.pb'))
        assert.deepEqual(
          await outcome(() => way(options)),
          expected,
          `${what} ${JSON.stringify(options)}`,
        )
    }
  assert.deepEqual(
    [...refused],
    shapes
      .map(([what]) => what)
      .filter(what => / no location|location id 0|five bytes| past its /.test(what)),
  )
})

test('top of the samples unstored rejects every hostile input with the line parsePprof gives', async () => {
  for (const [what, bytes] of hostile) {
    const gzipped = bytes[0] === 0x1f ? bytes : gzipSync(bytes)
    for (const input of [bytes, gzipped]) {
      const expected = await inputErrorOf(() =>
        heapTop(parsePprof(input, 'heap.pb.gz'), { sampleType: '0' }),
      )
      for (const way of waysIn(input, 'heap.pb.gz'))
        assert.equal(await inputErrorOf(() => way({ sampleType: '0' })), expected, what)
    }
  }
})

test('top of the samples unstored refuses a zip bomb, from bytes or chunks', async () => {
  const header = Buffer.from([0x32, 0x80, 0x80, 0xc0, 0x01])
  const bomb = gzipSync(Buffer.concat([header, Buffer.alloc(3 << 20)]))
  const refused = /^InputError: bomb\.pb\.gz: inflates to more than 1\.00 MiB, refusing to read it$/
  assert.throws(() => parsePprofSamplesUnstored(bomb, 'bomb.pb.gz', 1 << 20), refused)
  // The trailer's size is the truth here; a lying one must not get past the limit either.
  for (const isize of [3 << 20, 100])
    await assert.rejects(
      parsePprofChunksSamplesUnstored(chunksOf(bomb), bomb.length, isize, 'bomb.pb.gz', 1 << 20),
      refused,
    )
})
