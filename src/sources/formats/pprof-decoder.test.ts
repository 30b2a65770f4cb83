import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { gunzipSync } from 'node:zlib'
import { buildProfile } from '../../../test/helpers/profile-builder.ts'
import type { Profile } from '../../model/heap-profile.ts'
import { ProfileDecoder } from './pprof-decoder.ts'
import { encodeProfile } from './pprof-encode.ts'

const dir = 'testdata/formats/pprof'
const raws = readdirSync(dir)
  .filter(f => f.endsWith('.pb.gz'))
  .map(f => ({ name: f, raw: gunzipSync(readFileSync(join(dir, f))) }))

function decodeInChunks(raw: Uint8Array, sizes: () => number, sizeHint = 0): Profile {
  const decoder = new ProfileDecoder('x', sizeHint)
  for (let at = 0; at < raw.length; ) {
    const next = Math.min(raw.length, at + sizes())
    decoder.push(raw.subarray(at, next))
    at = next
  }
  return decoder.finish()
}

test('any chunking of a real profile decodes to what the whole buffer does', () => {
  let seed = 7
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return 1 + (seed % 300)
  }
  for (const { name, raw } of raws) {
    const whole = decodeInChunks(raw, () => raw.length)
    assert.ok(whole.samples.count > 0, name)
    assert.deepEqual(
      decodeInChunks(raw, () => 1),
      whole,
      `${name}: one byte at a time`,
    )
    for (let run = 0; run < 10; run++)
      assert.deepEqual(decodeInChunks(raw, random), whole, `${name}: random chunks, run ${run}`)
    // Every split point into two chunks, on the smallest fixture.
    if (raw.length < 8000)
      for (let cut = 1; cut < raw.length; cut += 7) {
        const decoder = new ProfileDecoder('x')
        decoder.push(raw.subarray(0, cut))
        decoder.push(raw.subarray(cut))
        assert.deepEqual(decoder.finish(), whole, `${name}: cut at ${cut}`)
      }
  }
})

test('a size hint far too small or far too large changes nothing', () => {
  for (const { name, raw } of raws) {
    const whole = decodeInChunks(raw, () => raw.length)
    assert.deepEqual(
      decodeInChunks(raw, () => 4096, 1),
      whole,
      name,
    )
    assert.deepEqual(
      decodeInChunks(raw, () => 4096, raw.length * 50),
      whole,
      name,
    )
  }
})

test('location ids that are not 1..n, including ids past 2^32, resolve to the right frames', () => {
  const p = buildProfile([
    { stack: ['main.leaf', 'main.mid', 'main.main'], values: [10] },
    { stack: ['main.other', 'main.main'], values: [20] },
  ])
  const ids = [2 ** 40 + 5, 7, 2 ** 32, 2 ** 32 - 1]
  assert.equal(p.locations.id.length, ids.length)
  const shuffled: Profile = { ...p, locations: { ...p.locations, id: Float64Array.from(ids) } }
  const decoder = new ProfileDecoder('x')
  decoder.push(encodeProfile(shuffled))
  const again = decoder.finish()
  assert.deepEqual([...again.locations.id], ids)
  const frames = (profile: Profile, s: number) =>
    [
      ...profile.samples.location.subarray(
        profile.samples.locationStart[s],
        profile.samples.locationStart[s + 1],
      ),
    ].map(
      l =>
        profile.functions.name[
          profile.locations.lineFunction[profile.locations.lineStart[l] as number] as number
        ],
    )
  assert.deepEqual(frames(again, 0), ['main.leaf', 'main.mid', 'main.main'])
  assert.deepEqual(frames(again, 1), ['main.other', 'main.main'])
})

test('location ids of one to four varint bytes, at the edges of each length, name the right frames', () => {
  const p = buildProfile([
    { stack: ['main.a', 'main.b', 'main.c'], values: [10] },
    { stack: ['main.d', 'main.e', 'main.f', 'main.g'], values: [20] },
  ])
  const ids = [127, 128, 16_383, 16_384, 2 ** 21 - 1, 2 ** 21, 2 ** 28 - 1]
  assert.equal(p.locations.id.length, ids.length)
  const bytes = encodeProfile({ ...p, locations: { ...p.locations, id: Float64Array.from(ids) } })
  const stored = new ProfileDecoder('x')
  stored.push(bytes)
  const again = stored.finish()
  const name = (profile: Omit<Profile, 'samples'>, l: number) =>
    profile.functions.name[
      profile.locations.lineFunction[profile.locations.lineStart[l] as number] as number
    ]
  const stacks = [
    ['main.a', 'main.b', 'main.c'],
    ['main.d', 'main.e', 'main.f', 'main.g'],
  ]
  stacks.forEach((stack, s) => {
    const { location, locationStart } = again.samples
    const frames = location.subarray(locationStart[s], locationStart[s + 1])
    assert.deepEqual(
      [...frames].map(l => name(again, l)),
      stack,
    )
  })
  // And as the passes of `profile top` decode them again (keepSamples: false), whole and leaf.
  const unstored = new ProfileDecoder('x', 0, { keepSamples: false })
  unstored.push(bytes)
  const { samples: _none, ...tables } = unstored.finish()
  const seen: string[][] = []
  unstored.samples(tables).forEach(0, (location, from, to) => {
    seen.push([...location.subarray(from, to)].map(l => name(tables, l) as string))
  })
  assert.deepEqual(seen, stacks)
})

test('an input that ends inside a field is refused at finish, not decoded short', () => {
  const raw = raws[0]?.raw as Uint8Array
  const decoder = new ProfileDecoder('x')
  decoder.push(raw.subarray(0, raw.length - 2))
  assert.throws(() => decoder.finish(), /truncated: it ends inside a field/)
})
