import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  assertInputError,
  assertSniffsOnlyItsOwn,
  fixture,
  HTML_PAGE,
  textCapture,
  textOf,
} from '../../../test/helpers/format-fixtures.ts'
import { parseSmaps, procSmaps } from './smaps.ts'

const real = fixture('proc-smaps', 'go1.19.8-memsick-goroutine-leak.txt')

test("parses a real Go process's smaps: the heap arena, the binary and anonymous mappings", () => {
  const { mappings } = parseSmaps(real)
  assert.ok(mappings.length > 10)
  // Go 1.19 on amd64 places its heap arenas from 0xc000000000.
  const arena = mappings.find(m => m.start === 0xc000000000)
  assert.ok(arena && arena.rss > 0 && arena.perms === 'rw-p' && arena.path === '')
  assert.ok(mappings.some(m => m.path.endsWith('/memsick') && m.perms === 'r-xp'))
  for (const m of mappings)
    assert.ok(m.end > m.start && m.rss >= m.anonymous - 0 && m.rss % 1024 === 0)
})

test('the mappings add up to what smaps_rollup would say: Rss is the sum of every mapping', () => {
  const text = textOf(real)
  const total = [...text.matchAll(/^Rss:\s+(\d+) kB$/gm)].reduce(
    (sum, m) => sum + Number(m[1]) * 1024,
    0,
  )
  assert.equal(
    parseSmaps(real).mappings.reduce((sum, m) => sum + m.rss, 0),
    total,
  )
})

test('sniffs only smaps, not smaps_rollup or status', () => {
  assertSniffsOnlyItsOwn(procSmaps)
})

test('rejects broken input in one line naming the place', () => {
  assertInputError(() => parseSmaps(textCapture('proc-smaps', HTML_PAGE, 'x')), /x: got HTML/)
  assertInputError(() => parseSmaps(textCapture('proc-smaps', '', 'x')), /x: no mappings/)
  const broken = textOf(real).replace(/^Rss:\s+\d+ kB$/m, 'Rss: lots')
  assertInputError(
    () => parseSmaps(textCapture('proc-smaps', broken, 'y')),
    /^y:\d+: not a smaps line: "Rss: lots"$/,
  )
})

// Captured in a VM whose kernel keeps anonymous mapping names (scripts/capture-named-mappings.sh).
const named = fixture('proc-smaps', 'go1.26.8-vm-named.txt')

test('parses the Go runtime’s mapping names, spaces and all: every name Go’s own test expects', () => {
  const { mappings } = parseSmaps(named)
  const names = new Set(
    mappings.filter(m => m.path.startsWith('[anon: Go: ')).map(m => m.path.slice(11, -1)),
  )
  // runtime/decoratemappings_test.go (Go 1.25+) checks these, and the heap profile's buckets
  // are named too. Green Tea's '[anon: Go: GC span queue]' showed in a trial run of the same
  // program on one CPU, not in this capture: it is not always there.
  for (const name of [
    'allspans array',
    'gc bits',
    'heap',
    'heap index',
    'heap reservation',
    'immortal metadata',
    'page alloc',
    'page alloc index',
    'page summary',
    'scavenge index',
    'profiler hash buckets',
  ]) {
    assert.ok(names.has(name), `[anon: Go: ${name}]`)
  }
  const heap = mappings.filter(m => m.path === '[anon: Go: heap]')
  assert.ok(heap.length > 0 && heap.every(m => m.perms === 'rw-p' && m.rss > 0))
  const reserved = mappings.filter(m => m.path === '[anon: Go: heap reservation]')
  assert.ok(reserved.length > 0 && reserved.every(m => m.perms === '---p' && m.rss === 0))
  // The program's own mmap(2) of 16 MiB carries no name: it is not Go's.
  assert.ok(mappings.some(m => m.path === '' && m.perms === 'rw-p' && m.rss === 16 * 2 ** 20))
})

test('the same program under GODEBUG=decoratemappings=0, same kernel: not one name', () => {
  const { mappings } = parseSmaps(fixture('proc-smaps', 'go1.26.8-vm-decoratemappings0.txt'))
  assert.ok(mappings.length > 20)
  assert.ok(!mappings.some(m => m.path.startsWith('[anon:')))
})

test('go1.25.1 names only what it maps after start-up (golang/go#75324)', () => {
  const { mappings } = parseSmaps(fixture('proc-smaps', 'go1.25.1-vm-named.txt'))
  const names = new Set(mappings.filter(m => m.path.startsWith('[anon: Go: ')).map(m => m.path))
  assert.deepEqual([...names].sort(), [
    '[anon: Go: gc bits]',
    '[anon: Go: heap reservation]',
    '[anon: Go: heap]',
    '[anon: Go: immortal metadata]',
  ])
  // The arena chunk mapped while the runtime started is unnamed, right below the named heap.
  const first = mappings.find(m => m.start === 0xc000000000)
  assert.ok(first && first.path === '' && first.perms === 'rw-p')
  assert.equal(mappings.find(m => m.start === first.end)?.path, '[anon: Go: heap]')
})
