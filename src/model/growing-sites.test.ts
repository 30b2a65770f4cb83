import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { GO119, loadCapture } from '../../test/helpers/capture.ts'
import { parsePprof } from '../sources/formats/pprof.ts'
import { growingSites } from './growing-sites.ts'
import { MiB } from './units.ts'

const dir = fileURLToPath(new URL('../../testdata/formats/pprof/', import.meta.url))
const read = (name: string) => parsePprof(readFileSync(dir + name), dir + name)

test('names the inlined function that grew between two real profiles, and nothing else', () => {
  const sites = growingSites(read('go1.19-heap-t0.pb.gz'), read('go1.19-heap-t1.pb.gz'))
  // profilefixture: main.leakyCache grows a map through main.newBlock (inlined), ~32 MiB in 2 s.
  assert.deepEqual(
    sites.map(s => s.name),
    ['main.newBlock'],
  )
  assert.ok((sites[0]?.bytes ?? 0) > 30 * MiB)
})

test('names nothing without a first profile, or when the two cannot be subtracted', () => {
  assert.deepEqual(growingSites(undefined, read('go1.19-heap-t1.pb.gz')), [])
  const goroutines = read('go1.19-goroutine.pb.gz')
  assert.deepEqual(growingSites(goroutines, read('go1.19-heap-t1.pb.gz')), [])
})

test('names main.leakyCache from the edges of the real heap-growth capture', async () => {
  const { heapProfiles } = await loadCapture(`${GO119}/heap-growth`)
  assert.ok(heapProfiles?.first, 'the capture has profiles at both edges')
  assert.deepEqual(
    growingSites(heapProfiles.first, heapProfiles.last).map(s => s.name),
    ['main.leakyCache'],
  )
})

test('never names a site that shrank (the same capture, edges swapped)', async () => {
  const { heapProfiles } = await loadCapture(`${GO119}/heap-growth`)
  assert.ok(heapProfiles?.first)
  assert.ok(
    !growingSites(heapProfiles.last, heapProfiles.first).some(s => s.name === 'main.leakyCache'),
  )
})
