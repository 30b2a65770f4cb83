import assert from 'node:assert/strict'
import { test } from 'node:test'
import { GO119, loadCapture } from '../../test/helpers/capture.ts'
import { namedMappingsCapture } from '../../test/helpers/named-mappings.ts'
import { findGoHeapArenas, whyGoHeapUnnamed } from './go-heap-arenas.ts'
import type { Mapping, MappingsSnapshot } from './mappings.ts'
import type { TargetFacts } from './target.ts'

const MiB = 2 ** 20

/** Captures of real processes whose heaps sit where each Go puts them. */
const CAPTURED = [
  // go1.19.8: the arena hint at 0xc000000000.
  `${GO119}/madv-free-retention`,
  `${GO119}/non-go-memory`,
  `${GO119}/thp-bloat`,
  // go1.26.8 randomises the heap base; from a go 1.24 module its mappings are unnamed, and this
  // machine's kernel (no CONFIG_ANON_VMA_NAME) names none for any module.
  'go1.26-linux6.18/madv-free-retention',
  'go1.26-linux6.18/non-go-memory',
  'go1.26-line1.24-linux6.18/madv-free-retention',
  'go1.26-line1.24-linux6.18/thp-bloat',
  'go1.27-linux6.18/madv-free-retention',
]

for (const name of CAPTURED) {
  test(`${name}: the heap arenas found by their shape are what HeapSys + StackInuse counts`, async () => {
    const input = await loadCapture(name)
    const last = input.mappings?.last
    assert.ok(last, 'the capture has smaps')
    const runtime = input.series.filter(s => s.runtime).at(-1)?.runtime
    assert.ok(runtime)
    const arenas = findGoHeapArenas(last, runtime)
    assert.equal(arenas.method, 'layout')
    assert.ok(arenas.mappings.length > 0)
    assert.equal(
      arenas.confirmed,
      true,
      `${arenas.mappedBytes} mapped, ${arenas.runtimeBytes} counted`,
    )
    // Only read-write arena space, none of the reservation around it.
    assert.ok(arenas.mappings.every(m => m.perms === 'rw-p' && m.path === ''))
  })
}

test('go1.26: the heap is not where Go 1.19 put it, and is found all the same', async () => {
  const input = await loadCapture('go1.26-line1.24-linux6.18/madv-free-retention')
  const last = input.mappings?.last
  assert.ok(last)
  const arenas = findGoHeapArenas(last)
  assert.ok(arenas.mappings.every(m => m.start < 0xc000000000 || m.start >= 0xc000000000 + 2 ** 40))
  assert.ok(arenas.mappedBytes > 900 * MiB, `${arenas.mappedBytes}`)
  assert.equal(arenas.confirmed, undefined, 'no runtime view, nothing to confirm')
})

function mapping(start: number, size: number, perms: string, path = ''): Mapping {
  return {
    start,
    end: start + size,
    perms,
    path,
    rss: 0,
    anonymous: 0,
    lazyFree: 0,
    anonHugePages: 0,
    swap: 0,
  }
}

const snapshot = (mappings: Mapping[]): MappingsSnapshot => ({
  source: '/proc/1/smaps',
  atMs: 0,
  mappings,
})

const ARENA = 64 * MiB
const base = 0x7f4aa4000000

test("a glibc thread arena (132 KiB read-write, the rest of its 64 MiB reserved) is not Go's", () => {
  const glibc = [mapping(base, 0x21000, 'rw-p'), mapping(base + 0x21000, ARENA - 0x21000, '---p')]
  assert.deepEqual(findGoHeapArenas(snapshot(glibc)).mappings, [])
})

test('Go 1.26 layout: reserved head, read-write chunks, reserved tail, inside 64 MiB arenas', () => {
  const start = 0x1b932c000000
  const heap = mapping(start + 28 * MiB, 1044 * MiB, 'rw-p')
  const all = [
    mapping(start, 28 * MiB, '---p'),
    heap,
    mapping(start + 1072 * MiB, 16 * MiB, '---p'),
    mapping(start + 1088 * MiB, 8 * MiB, 'rw-p'), // adjacent, but breaks the 64 MiB end
  ]
  assert.deepEqual(findGoHeapArenas(snapshot(all.slice(0, 3))).mappings, [heap])
  assert.deepEqual(findGoHeapArenas(snapshot(all)).mappings, [])
})

test("a glibc arena grown to exactly 64 MiB looks like Go's, and the runtime's count says no", () => {
  const go = mapping(base - 2 * ARENA, 8 * MiB, 'rw-p')
  const goTail = mapping(base - 2 * ARENA + 8 * MiB, ARENA - 8 * MiB, '---p')
  const glibcFull = mapping(base, ARENA, 'rw-p')
  const runtime = {
    source: 'http://127.0.0.1:6060/debug/vars',
    heapSys: 7.5 * MiB,
    stackInuse: 0.5 * MiB,
  } as Parameters<typeof findGoHeapArenas>[1]
  const found = findGoHeapArenas(snapshot([go, goTail, glibcFull]), runtime)
  assert.deepEqual(found.mappings, [go, glibcFull])
  assert.equal(found.confirmed, false)
  assert.equal(findGoHeapArenas(snapshot([go, goTail]), runtime).confirmed, true)
  // No arena found is no confirmation, though 0 bytes is within 8 MiB of this small heap.
  assert.equal(
    findGoHeapArenas(snapshot([mapping(base, 0x21000, 'rw-p')]), runtime).confirmed,
    false,
  )
})

test('Go ≥ 1.25 names: [anon: Go: heap] is the heap, wherever it is and whatever its shape', () => {
  const heap = mapping(base + 0x1000, 3 * MiB, 'rw-p', '[anon: Go: heap]')
  const found = findGoHeapArenas(
    snapshot([
      heap,
      mapping(base + 3 * MiB + 0x1000, 61 * MiB, '---p', '[anon: Go: heap reservation]'),
      mapping(base + ARENA, 4 * MiB, 'rw-p', '[anon: Go: immortal metadata]'),
    ]),
  )
  assert.equal(found.method, 'named')
  assert.deepEqual(found.mappings, [heap])
})

test('names without a heap among them (Go 1.25.0–1.25.1 may name only metadata): found by shape', () => {
  const heap = mapping(base, 4 * MiB, 'rw-p')
  const found = findGoHeapArenas(
    snapshot([
      heap,
      mapping(base + 4 * MiB, ARENA - 4 * MiB, '---p'),
      mapping(base + ARENA, 4 * MiB, 'rw-p', '[anon: Go: immortal metadata]'),
    ]),
  )
  assert.equal(found.method, 'layout')
  assert.deepEqual(found.mappings, [heap])
})

// Captured in a VM whose kernel keeps anonymous mapping names (scripts/capture-named-mappings.sh).
test('captured go1.26.8 with names: the heap is [anon: Go: heap], and HeapSys + StackInuse is its size', () => {
  for (const run of ['go1.26.8-vm-named', 'go1.26.8-vm-named-madvdontneed0'] as const) {
    const { mappings, snapshot } = namedMappingsCapture(run)
    const arenas = findGoHeapArenas(mappings, snapshot.runtime)
    assert.equal(arenas.method, 'named', run)
    assert.ok(arenas.mappings.length > 0)
    assert.ok(arenas.mappings.every(m => m.path === '[anon: Go: heap]' && m.perms === 'rw-p'))
    assert.equal(arenas.confirmed, true, `${run}: ${arenas.mappedBytes} vs ${arenas.runtimeBytes}`)
    // Not the reservation around it, nor any other named Go memory.
    const reservation = mappings.mappings.filter(m => m.path === '[anon: Go: heap reservation]')
    assert.ok(reservation.length > 0 && reservation.every(m => !arenas.contains(m)))
  }
})

test('captured go1.26.8 under GODEBUG=decoratemappings=0 on the same kernel: found by shape instead', () => {
  const { mappings, snapshot } = namedMappingsCapture('go1.26.8-vm-decoratemappings0')
  assert.ok(!mappings.mappings.some(m => m.path.startsWith('[anon:')), 'no names at all')
  const arenas = findGoHeapArenas(mappings, snapshot.runtime)
  assert.equal(arenas.method, 'layout')
  assert.equal(arenas.confirmed, true, `${arenas.mappedBytes} vs ${arenas.runtimeBytes}`)
  // Found whole: the read-write arena space is exactly what the runtime counts, as the named
  // heap of the same program is.
  assert.equal(arenas.mappedBytes, arenas.runtimeBytes)
  const named = namedMappingsCapture('go1.26.8-vm-named')
  const namedArenas = findGoHeapArenas(named.mappings, named.snapshot.runtime)
  assert.equal(namedArenas.mappedBytes, namedArenas.runtimeBytes)
})

test('captured go1.25.1 (golang/go#75324): the heap named but for its start-up chunk, found beside it', () => {
  const { mappings, snapshot } = namedMappingsCapture('go1.25.1-vm-named')
  const arenas = findGoHeapArenas(mappings, snapshot.runtime)
  assert.equal(arenas.method, 'named')
  const unnamed = arenas.mappings.filter(m => m.path === '')
  // Go 1.25 does not randomise the base: the start-up chunk is at 0xc000000000, 4 MiB.
  assert.deepEqual(
    unnamed.map(m => [m.start, m.end - m.start]),
    [[0xc000000000, 4 * MiB]],
  )
  assert.ok(arenas.mappings.some(m => m.path === '[anon: Go: heap]'))
  assert.equal(arenas.confirmed, true, `${arenas.mappedBytes} vs ${arenas.runtimeBytes}`)
  // Without the unnamed chunk the named mappings alone fall 4 MiB short of the runtime's count.
  const namedOnly = mappings.mappings.filter(m => m.path === '[anon: Go: heap]')
  const namedBytes = namedOnly.reduce((a, m) => a + m.end - m.start, 0)
  assert.equal(arenas.mappedBytes - namedBytes, 4 * MiB)
})

const facts = (extra: Partial<TargetFacts>): TargetFacts => ({ sources: [], ...extra })
const noNames = snapshot([mapping(base, 4 * MiB, 'rw-p')])

test('why the heap has no name, from what was read: Go version, GODEBUG, DefaultGODEBUG, kernel', async () => {
  const decorated = namedMappingsCapture('go1.26.8-vm-decoratemappings0')
  assert.match(
    whyGoHeapUnnamed(decorated.target, decorated.mappings),
    /^GODEBUG has decoratemappings=0$/,
  )
  const cases: [string, RegExp][] = [
    [`${GO119}/healthy`, /^go1\.19\.8 does not name its mappings \(Go ≥ 1\.25 does\)$/],
    ['go1.26-line1.24-linux6.18/healthy', /^the binary's DefaultGODEBUG has decoratemappings=0/],
    // This machine: Linux 6.18 without CONFIG_ANON_VMA_NAME.
    [
      'go1.26-linux6.18/healthy',
      /^Linux 6\.18\S* keeps no names for anonymous memory \(no CONFIG_ANON_VMA_NAME\)$/,
    ],
  ]
  for (const [name, expected] of cases) {
    const input = await loadCapture(name)
    assert.ok(input.mappings)
    assert.match(whyGoHeapUnnamed(input.target, input.mappings.last), expected, name)
  }
})

test('why the heap has no name: the cases no capture here shows', () => {
  const why = (extra: Partial<TargetFacts>, s = noNames) => whyGoHeapUnnamed(facts(extra), s)
  assert.match(
    why({ goVersion: 'go1.25.1', kernel: '6.8.0' }),
    /^go1\.25\.1 names only what it maps after start-up, here not its heap \(golang\/go#75324, fixed in 1\.25\.2\)$/,
  )
  assert.match(
    why({ goVersion: 'go1.26.2', kernel: '5.15.0-91-generic' }),
    /^Linux 5\.15\.0-91-generic keeps no names .*\(5\.17 added them\)$/,
  )
  // The environment wins over the binary's default, either way.
  assert.match(
    why({
      goVersion: 'go1.26.2',
      kernel: '6.1.0',
      defaultGodebug: 'decoratemappings=0',
      godebug: 'decoratemappings=1',
    }),
    /CONFIG_ANON_VMA_NAME/,
  )
  assert.match(
    why({
      goVersion: 'go1.26.2',
      defaultGodebug: 'decoratemappings=1',
      godebug: 'x=1,decoratemappings=0',
    }),
    /^GODEBUG has decoratemappings=0/,
  )
  assert.match(
    why({ goVersion: 'go1.26.2', kernel: '6.1.0', godebugUnknown: true }),
    /\(GODEBUG unread: decoratemappings=0 there would do the same\)$/,
  )
  assert.match(why({ kernel: '6.1.0' }), /^Linux 6\.1\.0 keeps no names for anonymous memory/)
  assert.match(why({ goVersion: 'go1.26.2' }), /^the kernel keeps no names .*Linux ≥ 5\.17/)
  // Another program's name in the same process proves the kernel keeps names.
  const glibcNamed = snapshot([mapping(base, 4 * MiB, 'rw-p', '[anon:glibc: malloc arena]')])
  assert.match(
    why({ goVersion: 'go1.26.2', kernel: '6.1.0' }, glibcNamed),
    /^the kernel keeps mapping names, yet go1\.26\.2 named no heap$/,
  )
})
