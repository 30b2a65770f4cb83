import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { generateDeepProfile } from '../../bench/gen-deep-profile.ts'
import { grownProfile } from '../../bench/gen-grown-profile.ts'
import { goPprofTop } from '../../test/helpers/go-pprof.ts'
import { buildProfile } from '../../test/helpers/profile-builder.ts'
import { parsePprof } from '../sources/formats/pprof.ts'
import { encodeProfileGzip } from '../sources/formats/pprof-encode.ts'
import { diffProfiles, IncompatibleProfiles } from './heap-diff.ts'
import { sampleTypeTotal } from './heap-profile.ts'
import { heapTop } from './heap-top.ts'

const dir = 'testdata/formats/pprof'
const load = (name: string) => parsePprof(readFileSync(join(dir, name)), name)

for (const normalize of [false, true]) {
  test(`agrees with go tool pprof -base${normalize ? ' -normalize' : ''} on two real heap profiles`, () => {
    const base = join(dir, 'go1.19-heap-t0.pb.gz')
    const next = join(dir, 'go1.19-heap-t1.pb.gz')
    const flags = [
      '-sample_index=inuse_space',
      ...(normalize ? ['-normalize'] : []),
      '-base',
      base,
      next,
    ]
    const expected = goPprofTop(flags).slice(0, 20)
    const diff = diffProfiles(load('go1.19-heap-t0.pb.gz'), load('go1.19-heap-t1.pb.gz'), {
      normalize,
    })
    const ours = heapTop(diff, { sampleType: 'inuse_space', limit: 20 })
    assert.deepEqual(
      ours.rows.map(r => [r.name, r.flat, r.cum]),
      expected,
    )
  })
}

test('agrees with go tool pprof -base on every row of a deep-stack profile and its later self', t => {
  const dir = mkdtempSync(join(tmpdir(), 'gomemdoctor-deep-diff-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const shape = {
    leaves: 300,
    sitesPerLeaf: 3,
    chainsPerSite: 2,
    midFunctions: 100,
    minDepth: 12,
    maxDepth: 30,
  }
  const base = generateDeepProfile(shape)
  const next = grownProfile(base)
  const basePath = join(dir, 'base.pb.gz')
  const nextPath = join(dir, 'next.pb.gz')
  writeFileSync(basePath, encodeProfileGzip(base))
  writeFileSync(nextPath, encodeProfileGzip(next))
  const expected = goPprofTop(['-sample_index=inuse_space', '-base', basePath, nextPath])
  assert.ok(expected.length > 100, `go tool pprof printed ${expected.length} rows`)
  const diff = diffProfiles(
    parsePprof(readFileSync(basePath), basePath),
    parsePprof(readFileSync(nextPath), nextPath),
  )
  const ours = heapTop(diff, { sampleType: 'inuse_space', limit: Infinity })
  assert.deepEqual(
    ours.rows.map(r => [r.name, r.flat, r.cum]),
    expected,
  )
})

test('shows the leaking cache as the growth between two real heap profiles', () => {
  const diff = diffProfiles(load('go1.19-heap-t0.pb.gz'), load('go1.19-heap-t1.pb.gz'))
  const top = heapTop(diff, { sampleType: 'inuse_space', sortBy: 'cum' })
  const cache = top.rows.find(r => r.name === 'main.leakyCache')
  // 2 s of growth at 200 entries of 16 KiB per 100 ms: several MiB, sampled.
  assert.ok(cache && cache.cum > 4 * 1024 * 1024, JSON.stringify(cache))
})

test('merges samples by stack: what is unchanged cancels out and is left out', () => {
  const base = buildProfile([
    { stack: ['main.steady', 'main.main'], values: [100] },
    { stack: ['main.gone', 'main.main'], values: [40] },
  ])
  const next = buildProfile([
    { stack: ['main.grows', 'main.main'], values: [70] },
    { stack: ['main.steady', 'main.main'], values: [100] },
  ])
  const diff = diffProfiles(base, next)
  assert.equal(diff.samples.count, 2)
  assert.deepEqual(
    heapTop(diff).rows.map(r => [r.name, r.flat, r.cum]),
    [
      ['main.grows', 70, 70],
      ['main.gone', -40, -40],
      ['main.main', 0, 30],
    ],
  )
})

test('normalizes the new profile to the base total, per sample type, as pprof does', () => {
  const base = buildProfile([{ stack: ['a'], values: [100] }])
  const next = buildProfile([
    { stack: ['a'], values: [150] },
    { stack: ['b'], values: [50] },
  ])
  const diff = diffProfiles(base, next, { normalize: true })
  // new × (100 / 200): a 75 − 100 = −25, b 25.
  assert.deepEqual(
    heapTop(diff).rows.map(r => [r.name, r.flat]),
    [
      ['a', -25],
      ['b', 25],
    ],
  )
  assert.equal(sampleTypeTotal(diff, 0), 0)
})

test('refuses to subtract profiles of different sample types', () => {
  const heap = buildProfile([{ stack: ['a'], values: [1] }])
  const goroutines = buildProfile(
    [{ stack: ['a'], values: [1] }],
    [{ type: 'goroutine', unit: 'count' }],
  )
  assert.throws(() => diffProfiles(heap, goroutines), IncompatibleProfiles)
})
