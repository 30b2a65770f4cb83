import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  assertInputError,
  assertSniffsOnlyItsOwn,
  fixture,
  HTML_PAGE,
  hugeLine,
  textCapture,
  textOf,
} from '../../../test/helpers/format-fixtures.ts'
import { MiB } from '../../model/units.ts'
import type { RawCapture } from '../capture.ts'
import {
  cgroupFromCaptures,
  cgroupMemoryEvents,
  cgroupMemoryFailcnt,
  cgroupMemoryLimit,
  cgroupMemoryStat,
  cgroupMemoryUsage,
  toCgroupMemory,
} from './cgroup-memory.ts'

/** The five v1 files of one real cgroup, as the fixture directories hold them. */
function v1Files(name: string, limitName = name): RawCapture[] {
  return [
    fixture('cgroup-memory-usage', `${name}.txt`),
    fixture('cgroup-memory-limit', `${limitName}.txt`),
    fixture('cgroup-memory-stat', `${name}.txt`),
    fixture('cgroup-memory-failcnt', `${name}.txt`),
    fixture('cgroup-memory-events', `v1-oom-control-${name.replace(/^v1-/, '')}.txt`),
  ]
}

/** A memory.stat value straight from the text: an oracle independent of the parser. */
function statField(capture: RawCapture, key: string): number | undefined {
  const match = new RegExp(`^${key} (\\d+)$`, 'm').exec(textOf(capture))
  return match ? Number(match[1]) : undefined
}

test('builds CgroupMemory from a real v1 cgroup with a 256 MiB limit (total_* counters)', () => {
  const files = v1Files('v1-limited-256m')
  const stat = files[2] as RawCapture
  const memory = cgroupFromCaptures(files)
  assert.deepEqual(memory, {
    source: 'testdata/formats/cgroup-memory-usage',
    version: 1,
    usage: Number(textOf(files[0] as RawCapture)),
    limit: 256 * MiB,
    anon: statField(stat, 'total_rss'),
    file: statField(stat, 'total_cache'),
    inactiveFile: statField(stat, 'total_inactive_file'),
    activeFile: statField(stat, 'total_active_file'),
    limitHits: 0,
    oomKills: 0,
  })
})

test('counts MADV_FREE pages on the inactive file list, beyond the page cache (real v1)', () => {
  // The Go program returned 64 MiB with MADV_FREE: the kernel moves such pages to the inactive
  // file LRU (Linux ≥ 4.12) while still charging them as rss, so inactive_file exceeds cache.
  const memory = cgroupFromCaptures(v1Files('v1-limited-256m'))
  assert.ok(memory)
  assert.ok((memory.inactiveFile ?? 0) >= 32 * MiB, `inactiveFile ${memory.inactiveFile}`)
  assert.ok((memory.inactiveFile ?? 0) > (memory.file ?? 0))
})

test('reads the OOM kill and the limit hits of a real v1 cgroup the Go program died in', () => {
  const memory = cgroupFromCaptures(v1Files('v1-after-oom-kill', 'v1-limited-64m'))
  assert.ok(memory)
  assert.equal(memory.oomKills, 1)
  assert.ok((memory.limitHits ?? 0) > 0, `limitHits ${memory.limitHits}`)
  assert.equal(memory.limit, 64 * MiB)
})

test("reads v1's 9223372036854771712 (real capture), max and anything from 2^62 as no limit", () => {
  assert.equal(
    cgroupMemoryLimit.parse(fixture('cgroup-memory-limit', 'v1-unlimited.txt')),
    undefined,
  )
  const limit = (text: string) => cgroupMemoryLimit.parse(textCapture('cgroup-memory-limit', text))
  assert.equal(limit('max\n'), undefined)
  assert.equal(limit(`${2 ** 62}\n`), undefined)
  // PAGE_COUNTER_MAX rounded with 64 KiB pages (arm64, ppc64).
  assert.equal(limit('9223372036854710272\n'), undefined)
  assert.equal(limit(`${2 ** 62 - 4096}\n`), 2 ** 62 - 4096)
  assert.equal(limit('268435456\n'), 256 * MiB)
})

test("takes a parent's smaller hierarchical_memory_limit over the child's own unlimited file (v1)", () => {
  const stat = cgroupMemoryStat.parse(
    textCapture('cgroup-memory-stat', 'cache 0\nrss 0\nhierarchical_memory_limit 536870912\n'),
  )
  const memory = toCgroupMemory(
    1,
    { usage: MiB, limit: undefined, stat },
    '/sys/fs/cgroup/memory/a/b',
  )
  assert.equal(memory.limit, 512 * MiB)
})

// This machine's memory controller is bound to cgroup v1 (the v2 mount offers only hugetlb), so
// there is no real v2 capture: the text below uses the keys cgroup-v2.rst (Linux v6.1) lists for
// memory.stat and memory.events, with invented values.
const V2_STAT = `anon 104857600
file 67108864
kernel 3145728
kernel_stack 262144
pagetables 524288
percpu 0
sock 0
vmalloc 0
shmem 0
file_mapped 4194304
file_dirty 0
file_writeback 0
swapcached 0
anon_thp 62914560
file_thp 0
shmem_thp 0
inactive_anon 104857600
active_anon 0
inactive_file 66060288
active_file 1048576
unevictable 0
slab_reclaimable 1048576
slab_unreclaimable 1048576
slab 2097152
workingset_refault_anon 0
workingset_refault_file 12
pgfault 40000
pgmajfault 3
pglazyfree 16384
pglazyfreed 0
thp_fault_alloc 30
`
const V2_EVENTS = 'low 0\nhigh 0\nmax 17\noom 2\noom_kill 1\noom_group_kill 0\n'

function v2Files(dir: string | undefined): RawCapture[] {
  const origin = (name: string) => (dir === undefined ? `unknown-${name}` : `${dir}/${name}`)
  return [
    textCapture('cgroup-memory-usage', '171966464\n', origin('memory.current')),
    textCapture('cgroup-memory-limit', 'max\n', origin('memory.max')),
    textCapture('cgroup-memory-stat', V2_STAT, origin('memory.stat')),
    textCapture('cgroup-memory-events', V2_EVENTS, origin('memory.events')),
  ]
}

test('builds CgroupMemory from v2 files (inline text from cgroup-v2.rst: no v2 memory controller here)', () => {
  assert.deepEqual(cgroupFromCaptures(v2Files('/sys/fs/cgroup/app.slice/orders.service')), {
    source: '/sys/fs/cgroup/app.slice/orders.service',
    version: 2,
    usage: 171966464,
    anon: 104857600,
    file: 67108864,
    inactiveFile: 66060288,
    activeFile: 1048576,
    limitHits: 17,
    oomKills: 1,
  })
})

test('tells v2 from v1 by content when the files were renamed (inline v2 text)', () => {
  assert.equal(cgroupFromCaptures(v2Files(undefined))?.version, 2)
})

test('rejects v1 and v2 files mixed', () => {
  const mixed = [
    ...v2Files('/sys/fs/cgroup/x'),
    fixture('cgroup-memory-failcnt', 'v1-limited-256m.txt'),
  ]
  assertInputError(
    () => cgroupFromCaptures(mixed),
    /^\/sys\/fs\/cgroup\/x: cgroup v1 and v2 files mixed among /,
  )
})

test('answers undefined without a usage file (its read failure is already a gap)', () => {
  assert.equal(cgroupFromCaptures(v1Files('v1-limited-256m').slice(1)), undefined)
})

const flatHostile: { name: string; text: string; error: RegExp }[] = [
  { name: 'an empty memory.stat', text: '', error: /^inline: empty, not memory\.stat$/ },
  { name: 'an HTML page', text: HTML_PAGE, error: /^inline: got HTML, not memory\.stat$/ },
  {
    name: 'a key without a value',
    text: 'cache 0\ntotal_rss\n',
    error: /^inline:2: "total_rss" has no value \(memory\.stat\)$/,
  },
  {
    name: 'a non-numeric value',
    text: 'cache 0\ntotal_rss lots\n',
    error: /^inline:2: "total_rss lots" is not "key <integer>" \(memory\.stat\)$/,
  },
  {
    name: 'a 21-digit value (it would read as Infinity)',
    text: `anon ${'9'.repeat(21)}\n`,
    error: /^inline:1: "anon 9{21}" is not "key <integer>"/,
  },
  {
    name: 'a 10 MB single line',
    text: hugeLine(),
    error: /^inline:1: "A{40}…" is not "key <integer>"/,
  },
  {
    name: 'a file cut mid-line',
    text: 'cache 0\nrss 1\ntotal_r',
    error: /^inline:3: "total_r" has no value/,
  },
]
for (const { name, text, error } of flatHostile) {
  test(`rejects ${name} in one line naming the origin`, () => {
    assertInputError(() => cgroupMemoryStat.parse(textCapture('cgroup-memory-stat', text)), error)
  })
}

const singleHostile: { name: string; text: string; error: RegExp }[] = [
  {
    name: 'an empty memory.current',
    text: '',
    error: /^inline: empty, not memory\.current or memory\.usage_in_bytes$/,
  },
  {
    name: 'an HTML page as memory.current',
    text: HTML_PAGE,
    error: /^inline: got HTML, not memory\.current/,
  },
  {
    name: 'a value with a unit',
    text: '12 kB\n',
    error: /^inline: not memory\.current or memory\.usage_in_bytes: "12 kB"$/,
  },
  { name: 'a negative value', text: '-1\n', error: /^inline: not memory\.current/ },
  {
    name: 'a 10 MB run of digits',
    text: hugeLine('9'),
    error: /^inline: not memory\.current or memory\.usage_in_bytes: "9{40}…"$/,
  },
]
for (const { name, text, error } of singleHostile) {
  test(`rejects ${name} in one line naming the origin`, () => {
    assertInputError(() => cgroupMemoryUsage.parse(textCapture('cgroup-memory-usage', text)), error)
  })
}

test('rejects a memory.max that says neither max nor a number', () => {
  assertInputError(
    () => cgroupMemoryLimit.parse(textCapture('cgroup-memory-limit', 'unlimited\n')),
    /^inline: not memory\.max or memory\.limit_in_bytes: "unlimited"$/,
  )
})

test('sniffs memory.stat (v1 real, v2 inline) and rejects every other fixture', () => {
  assertSniffsOnlyItsOwn(cgroupMemoryStat)
  assert.equal(cgroupMemoryStat.sniff(V2_STAT), true)
  assert.equal(cgroupMemoryStat.sniff(V2_EVENTS), false)
})

test('sniffs memory.events and memory.oom_control and rejects every other fixture', () => {
  assertSniffsOnlyItsOwn(cgroupMemoryEvents)
  assert.equal(cgroupMemoryEvents.sniff(V2_EVENTS), true)
  assert.equal(cgroupMemoryEvents.sniff(V2_STAT), false)
})

test('sniffs single-value files, which only their names tell apart, and rejects every other fixture', () => {
  assertSniffsOnlyItsOwn(cgroupMemoryUsage, ['cgroup-memory-limit', 'cgroup-memory-failcnt'])
  assertSniffsOnlyItsOwn(cgroupMemoryLimit, ['cgroup-memory-usage', 'cgroup-memory-failcnt'])
  assertSniffsOnlyItsOwn(cgroupMemoryFailcnt, ['cgroup-memory-usage', 'cgroup-memory-limit'])
  assert.equal(cgroupMemoryLimit.sniff('max\n'), true)
  assert.equal(cgroupMemoryUsage.sniff('max\n'), false)
})
