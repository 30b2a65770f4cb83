import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { gunzipSync, gzipSync } from 'node:zlib'
import { seededRandom } from '../../../test/helpers/random.ts'
import { InputError } from '../../errors.ts'
import { heapTop, topOfSamples } from '../../model/heap-top.ts'
import { parsePprof, parsePprofSamplesUnstored } from './pprof.ts'

/** One random edit of a protobuf: flipped bits, overwritten or inserted bytes, cuts, splices. */
function mutate(input: Uint8Array, rnd: () => number): Uint8Array {
  const bytes = Buffer.from(input)
  const at = () => Math.floor(rnd() * bytes.length)
  switch (Math.floor(rnd() * 6)) {
    case 0: {
      for (let i = 0; i < 1 + rnd() * 4; i++) {
        const p = at()
        bytes[p] = (bytes[p] as number) ^ (1 << Math.floor(rnd() * 8))
      }
      return bytes
    }
    case 1: {
      const p = at()
      bytes[p] = [0x00, 0x7f, 0x80, 0xff, 0x0a, 0x12][Math.floor(rnd() * 6)] as number
      return bytes
    }
    case 2:
      return bytes.subarray(0, at())
    case 3: {
      const p = at()
      const junk = Buffer.from(
        Array.from({ length: 1 + Math.floor(rnd() * 12) }, () => Math.floor(rnd() * 256)),
      )
      return Buffer.concat([bytes.subarray(0, p), junk, bytes.subarray(p)])
    }
    case 4: {
      // A run of continuation bytes: an over-long varint.
      const p = at()
      bytes.fill(0xff, p, Math.min(bytes.length, p + 11))
      return bytes
    }
    default: {
      const p = at()
      const q = at()
      return Buffer.concat([bytes.subarray(0, Math.min(p, q)), bytes.subarray(Math.max(p, q))])
    }
  }
}

const dir = 'testdata/formats/pprof'
const seeds = readdirSync(dir)
  .filter(f => f.endsWith('.pb.gz'))
  .map(f => gunzipSync(readFileSync(join(dir, f))))

test('survives 8000 mutated real profiles with InputError or a result', () => {
  const rnd = seededRandom(20240501)
  let rejected = 0
  for (let i = 0; i < 8000; i++) {
    const seed = seeds[i % seeds.length] as Uint8Array
    let input = mutate(seed, rnd)
    if (rnd() < 0.3) input = mutate(input, rnd)
    // Every tenth case goes through gzip: the mutation is inside the compressed stream.
    if (i % 10 === 0) input = gzipSync(input)
    if (i % 10 === 5) input = mutate(gzipSync(seed), rnd)
    try {
      const profile = parsePprof(input, `case-${i}.pb.gz`)
      if (profile.sampleTypes.length > 0) heapTop(profile, { sampleType: '0' })
    } catch (error) {
      if (!(error instanceof InputError)) {
        assert.fail(
          `case ${i}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        )
      }
      assert.match(error.message, new RegExp(`^case-${i}\\.pb\\.gz: `))
      rejected++
    }
  }
  assert.ok(rejected > 2000, `most mutations are rejected (${rejected})`)
})

test('gives heapTop of the model, or an InputError when it does, on 3000 mutated real profiles with the samples unstored', () => {
  const rnd = seededRandom(20261203)
  let same = 0
  for (let i = 0; i < 3000; i++) {
    const seed = seeds[i % seeds.length] as Uint8Array
    let input = mutate(seed, rnd)
    if (i % 10 === 0) input = gzipSync(input)
    if (i % 10 === 5) input = mutate(gzipSync(seed), rnd)
    const source = `case-${i}.pb.gz`
    const outcome = (run: () => unknown) => {
      try {
        return run()
      } catch (error) {
        if (!(error instanceof InputError)) assert.fail(`case ${i}: ${String(error)}`)
        return error.message
      }
    }
    const options = { sampleType: '0', limit: i % 2 === 0 ? 20 : Infinity }
    const expected = outcome(() =>
      heapTop(parsePprof(input, source, undefined, { labels: false }), options),
    )
    const ours = outcome(() => {
      const { profile, samples } = parsePprofSamplesUnstored(input, source, undefined, {
        labels: false,
      })
      return topOfSamples(profile, samples, options)
    })
    if (typeof expected === 'string') {
      // Both refuse it in one line naming the file. With several faults the first one met may
      // differ: the model decodes the samples before the tables, the unstored path after.
      assert.equal(typeof ours, 'string', `case ${i}: ${expected}`)
      assert.match(ours as string, new RegExp(`^case-${i}\\.pb\\.gz: [^\\n]+$`))
    } else {
      assert.deepEqual(ours, expected, `case ${i}`)
      same++
    }
  }
  assert.ok(same > 300, `some mutations still decode (${same})`)
})
