import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { generateDeepProfile } from '../../bench/gen-deep-profile.ts'
import { goPprofTop } from '../../test/helpers/go-pprof.ts'
import { buildProfile } from '../../test/helpers/profile-builder.ts'
import { parsePprof } from '../sources/formats/pprof.ts'
import { encodeProfileGzip } from '../sources/formats/pprof-encode.ts'
import { heapTop } from './heap-top.ts'

const dir = 'testdata/formats/pprof'

const cases: [string, string][] = [
  ['go1.19-heap-t1.pb.gz', 'inuse_space'],
  ['go1.19-heap-t0.pb.gz', 'inuse_space'],
  ['go1.19-allocs.pb.gz', 'alloc_space'],
  ['go1.19-allocs.pb.gz', 'inuse_objects'],
  ['go1.19-goroutine.pb.gz', 'goroutine'],
]
for (const [file, sampleType] of cases) {
  test(`agrees with go tool pprof -top on the top 20 of ${file} by ${sampleType}`, () => {
    const path = join(dir, file)
    const expected = goPprofTop([`-sample_index=${sampleType}`, path]).slice(0, 20)
    assert.ok(expected.length >= 5, 'go tool pprof printed a table')
    const ours = heapTop(parsePprof(readFileSync(path), path), { sampleType, limit: 20 })
    assert.deepEqual(
      ours.rows.map(r => [r.name, r.flat, r.cum]),
      expected,
    )
  })
}

// The deep-stack shape of bench/gen-deep-profile.ts, small: long chains that pass through one
// function twice (cum counts it once), inlined frames, and sizes from a few powers of two, so
// many rows tie on flat or cum and only the name orders them. Every row must agree, not the top.
const deepShape = {
  leaves: 400,
  sitesPerLeaf: 3,
  chainsPerSite: 2,
  midFunctions: 120,
  minDepth: 12,
  maxDepth: 30,
}
for (const [sampleType, cum] of [
  ['inuse_space', false],
  ['alloc_objects', false],
  ['inuse_space', true],
] as const) {
  test(`agrees with go tool pprof -top${cum ? ' -cum' : ''} on every row of a deep-stack profile by ${sampleType}`, t => {
    const dir = mkdtempSync(join(tmpdir(), 'gomemdoctor-deep-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 'deep.pb.gz')
    writeFileSync(path, encodeProfileGzip(generateDeepProfile(deepShape)))
    const expected = goPprofTop([`-sample_index=${sampleType}`, ...(cum ? ['-cum'] : []), path])
    assert.ok(expected.length > 400, `go tool pprof printed ${expected.length} rows`)
    const ours = heapTop(parsePprof(readFileSync(path), path), {
      sampleType,
      limit: Infinity,
      sortBy: cum ? 'cum' : 'flat',
    })
    assert.deepEqual(
      ours.rows.map(r => [r.name, r.flat, r.cum]),
      expected,
    )
  })
}

test('the shown rows and the node count are the same whether cum is summed for every node or the shown ones', () => {
  const p = generateDeepProfile(deepShape)
  for (const sampleType of ['inuse_space', 'alloc_space']) {
    const every = heapTop(p, { sampleType, limit: Infinity })
    const shown = heapTop(p, { sampleType, limit: 20 })
    assert.deepEqual(shown.rows, every.rows.slice(0, 20), sampleType)
    assert.equal(shown.nodeCount, every.nodeCount, sampleType)
  }
})

test('names main.leakyCache and its inlined helper at the top of the real heap profile', () => {
  const path = join(dir, 'go1.19-heap-t1.pb.gz')
  const top = heapTop(parsePprof(readFileSync(path), path), { sampleType: 'inuse_space' })
  assert.equal(top.rows[0]?.name, 'main.newBlock')
  const cache = top.rows.find(r => r.name === 'main.leakyCache')
  assert.ok(cache && cache.cum > 0.9 * top.total)
  // main.recurse allocates at seven depths of one stack: its cum is its flat, not seven times it.
  const recurse = top.rows.find(r => r.name === 'main.recurse')
  assert.ok(recurse && recurse.flat > 0 && recurse.cum === recurse.flat)
})

test('counts a recursive function once per sample in cum, and flat only at the leaf', () => {
  const p = buildProfile([
    { stack: ['main.walk', 'main.walk', 'main.walk', 'main.main'], values: [100] },
    { stack: ['main.alloc', 'main.walk', 'main.main'], values: [10] },
  ])
  const rows = Object.fromEntries(heapTop(p).rows.map(r => [r.name, [r.flat, r.cum]]))
  assert.deepEqual(rows, {
    'main.walk': [100, 110],
    'main.alloc': [10, 10],
    'main.main': [0, 110],
  })
})

test('gives an inlined frame its own node and the flat to the innermost one', () => {
  // One location holding main.newBlock inlined into main.cache.
  const p = buildProfile([{ stack: ['main.newBlock|main.cache', 'main.main'], values: [64] }])
  const rows = heapTop(p).rows.map(r => [r.name, r.flat, r.cum])
  assert.deepEqual(rows, [
    ['main.newBlock', 64, 64],
    ['main.cache', 0, 64],
    ['main.main', 0, 64],
  ])
})

test('sorts by absolute flat, then name, and takes percentages of the absolute total', () => {
  const p = buildProfile([
    { stack: ['b.grow'], values: [30] },
    { stack: ['a.shrink'], values: [-30] },
    { stack: ['c.small'], values: [40] },
  ])
  const top = heapTop(p)
  assert.deepEqual(
    top.rows.map(r => [r.name, r.flat, Math.round(r.flatPercent)]),
    [
      ['c.small', 40, 40],
      ['a.shrink', -30, -30],
      ['b.grow', 30, 30],
    ],
  )
  assert.equal(top.total, 100)
})

test('sorts by cum when asked and honours the row limit', () => {
  const p = buildProfile([
    { stack: ['main.leaf', 'main.mid', 'main.main'], values: [5] },
    { stack: ['main.other'], values: [7] },
  ])
  const top = heapTop(p, { sortBy: 'cum', limit: 2 })
  assert.deepEqual(
    top.rows.map(r => r.name),
    ['main.other', 'main.leaf'],
  )
  assert.equal(top.nodeCount, 4)
})

test('rejects an unknown sample type, naming the ones the profile has', () => {
  assert.throws(
    () => heapTop(buildProfile([{ stack: ['f'], values: [1] }]), { sampleType: 'cpu' }),
    /no sample type cpu; the profile has inuse_space/,
  )
})
