import assert from 'node:assert/strict'
import { test } from 'node:test'
import { GO119, loadCapture } from '../../test/helpers/capture.ts'
import { namedMappingsCapture } from '../../test/helpers/named-mappings.ts'
import { mappingKind } from './mappings.ts'
import { splitRss } from './rss-split.ts'
import { MiB } from './units.ts'

const smapsRss = (m: { mappings: { rss: number }[] }) =>
  m.mappings.reduce((sum, x) => sum + x.rss, 0)

test('captured go1.26.8 with names: the split is exact, measured mapping by mapping', () => {
  const { snapshot, mappings, target } = namedMappingsCapture('go1.26.8-vm-named')
  const split = splitRss(snapshot, { mappings, target })
  assert.ok(split)
  assert.equal(split.exact, true)
  assert.equal(split.method, 'named')
  assert.equal(split.reason, 'Go names its mappings ([anon: Go: …])')
  assert.equal(split.source, mappings.source)
  // Every byte of smaps is in one of the three, once.
  assert.equal(split.goBytes + split.nonGoBytes + split.fileBytes, smapsRss(mappings))
  const named = mappings.mappings.filter(m => m.path.startsWith('[anon: Go: '))
  assert.equal(split.goBytes, smapsRss({ mappings: named }))
  // The program mapped 16 MiB itself (syscall.Mmap): non-Go, with its main thread's stack and
  // its zero-initialised data (.bss), a few dozen KiB.
  assert.ok(split.nonGoBytes >= 16 * MiB && split.nonGoBytes < 16.5 * MiB, `${split.nonGoBytes}`)
  // Files: the static binary (and the vdso), what the kernel counts as RssFile and more: written
  // pages of its data segment are anonymous to the kernel, but they are the binary's.
  assert.ok(snapshot.status?.rssFile && split.fileBytes >= snapshot.status.rssFile)
  assert.ok(split.fileBytes - snapshot.status.rssFile < 256 * 1024)
})

test('captured go1.26.8 under madvdontneed=0: MADV_FREE pages in [anon: Go: heap] are Go', () => {
  const { snapshot, mappings, target } = namedMappingsCapture('go1.26.8-vm-named-madvdontneed0')
  const split = splitRss(snapshot, { mappings, target })
  assert.ok(split?.exact)
  const lazyFree = snapshot.rollup?.lazyFree ?? 0
  assert.ok(lazyFree > 200 * MiB, `LazyFree ${lazyFree}`)
  assert.ok(split.goBytes > lazyFree + 30 * MiB, 'the 32 MiB live heap beside them')
  assert.ok(split.nonGoBytes < 16.5 * MiB)
})

test('captured go1.26.8 under decoratemappings=0, same kernel: estimated, and says why', () => {
  const { snapshot, mappings, target } = namedMappingsCapture('go1.26.8-vm-decoratemappings0')
  const split = splitRss(snapshot, { mappings, target })
  assert.ok(split)
  assert.equal(split.exact, false)
  assert.equal(split.method, 'arenas')
  assert.equal(split.reason, 'GODEBUG has decoratemappings=0')
  assert.match(split.source, /smaps.*debug\/vars|go1\.26\.8-vm-decoratemappings0\.txt, .*\.json/)
  assert.equal(split.goBytes + split.nonGoBytes + split.fileBytes, smapsRss(mappings))
  // Against the exact split of the same program with names: Go's metadata is counted as mapped,
  // not as resident, so the estimate gives Go a few MiB of what is non-Go (measured: 37.3 MiB
  // Go and 13.1 MiB non-Go, against 34.3 and 16.1 exact).
  const exact = namedMappingsCapture('go1.26.8-vm-named')
  const exactSplit = splitRss(exact.snapshot, exact)
  assert.ok(exactSplit)
  assert.ok(split.goBytes >= exactSplit.goBytes - MiB)
  assert.ok(split.nonGoBytes <= exactSplit.nonGoBytes + MiB)
  assert.ok(Math.abs(split.goBytes - exactSplit.goBytes) < 8 * MiB)
})

test('captured go1.25.1 (golang/go#75324): named, but not exact, and says why', () => {
  const { snapshot, mappings, target } = namedMappingsCapture('go1.25.1-vm-named')
  const split = splitRss(snapshot, { mappings, target })
  assert.ok(split)
  assert.equal(split.method, 'named')
  assert.equal(split.exact, false)
  assert.match(
    split.reason,
    /^go1\.25\.1 names only what it maps after start-up \(golang\/go#75324/,
  )
  assert.equal(split.goBytes + split.nonGoBytes + split.fileBytes, smapsRss(mappings))
  // The heap's unnamed start-up chunk is Go's; the early metadata left unnamed is not counted as
  // Go's: a little more non-Go than the 16 MiB the program mapped, as Go 1.26 measures exactly.
  const exact = namedMappingsCapture('go1.26.8-vm-named')
  const exactSplit = splitRss(exact.snapshot, exact)
  assert.ok(exactSplit)
  assert.ok(Math.abs(split.goBytes - exactSplit.goBytes) < 2 * MiB, `${split.goBytes}`)
  assert.ok(split.nonGoBytes > 16 * MiB + 100 * 1024 && split.nonGoBytes < 17 * MiB)
})

test("this machine's captures are estimated, each with the reason that applies", async () => {
  const cases: [string, RegExp][] = [
    [`${GO119}/non-go-memory`, /go1\.19\.8 does not name its mappings/],
    ['go1.26-line1.24-linux6.18/non-go-memory', /DefaultGODEBUG has decoratemappings=0/],
    ['go1.26-linux6.18/non-go-memory', /\(no CONFIG_ANON_VMA_NAME\)$/],
    [
      'go1.27-linux6.18/non-go-memory',
      /^Linux 6\.18\S* keeps no names for anonymous memory \(no CONFIG_ANON_VMA_NAME\)$/,
    ],
  ]
  for (const [name, reason] of cases) {
    const input = await loadCapture(name)
    const last = input.series.at(-1)
    assert.ok(last && input.mappings)
    const split = splitRss(last, { mappings: input.mappings.last, target: input.target })
    assert.ok(split, name)
    assert.equal(split.method, 'arenas', name)
    assert.match(split.reason, reason, name)
    // The scenario's C.malloc'd memory is non-Go, whatever built it.
    assert.ok(split.nonGoBytes > 200 * MiB, `${name}: ${split.nonGoBytes}`)
    assert.ok(split.goBytes < 64 * MiB, `${name}: ${split.goBytes}`)
  }
})

test('without smaps, or with one read at another moment: the runtime estimate, saying so', async () => {
  const input = await loadCapture('go1.26-linux6.18/non-go-memory')
  const last = input.series.at(-1)
  assert.ok(last?.status?.rssAnon && input.mappings)
  for (const mappings of [undefined, { ...input.mappings.last, atMs: last.atMs + 60_000 }]) {
    const split = splitRss(last, { ...(mappings ? { mappings } : {}), target: input.target })
    assert.ok(split)
    assert.equal(split.method, 'runtime')
    assert.equal(split.exact, false)
    assert.match(
      split.reason,
      mappings ? /^smaps was read 60 s away from this sample$/ : /^smaps was not read$/,
    )
    assert.equal(split.goBytes + split.nonGoBytes, last.status.rssAnon)
  }
})

test('heap arenas the runtime does not confirm are not measured', async () => {
  const input = await loadCapture('go1.26-linux6.18/non-go-memory')
  const last = input.series.at(-1)
  assert.ok(last?.runtime && input.mappings)
  // A runtime view claiming a heap 1 GiB larger than any arena-shaped mapping.
  const other = {
    ...last,
    runtime: { ...last.runtime, heapSys: last.runtime.heapSys + 1024 * MiB },
  }
  const split = splitRss(other, { mappings: input.mappings.last, target: input.target })
  assert.equal(split?.method, 'runtime')
  assert.match(split?.reason ?? '', /no heap arenas found add up to HeapSys \+ StackInuse$/)
})

test('named mappings need no runtime view; unnamed ones do', async () => {
  const { snapshot, mappings, target } = namedMappingsCapture('go1.26.8-vm-named')
  const { runtime: _named, ...withoutRuntime } = snapshot
  assert.equal(splitRss(withoutRuntime, { mappings, target })?.exact, true)
  const unnamed = namedMappingsCapture('go1.26.8-vm-decoratemappings0')
  const { runtime: _unnamed, ...bare } = unnamed.snapshot
  assert.equal(splitRss(bare, unnamed), undefined)
})

test('mapping kinds: Go names, files and the kernel pages, everything else anonymous', () => {
  const kind = (path: string, perms = 'rw-p') =>
    mappingKind({
      start: 0,
      end: 4096,
      perms,
      path,
      rss: 0,
      anonymous: 0,
      lazyFree: 0,
      anonHugePages: 0,
      swap: 0,
    })
  assert.equal(kind('[anon: Go: heap]'), 'go')
  assert.equal(kind('[anon: Go: immortal metadata]'), 'go')
  for (const path of [
    '/usr/lib/libc.so.6',
    '/dev/zero (deleted)',
    '/memfd:x (deleted)',
    '[vdso]',
    '[vvar]',
    '[vsyscall]',
    '[anon_shmem:db]',
  ]) {
    assert.equal(kind(path), 'file', path)
  }
  for (const path of ['', '[heap]', '[stack]', '[anon:glibc: malloc arena]', '[anon:Go: fake]']) {
    assert.equal(kind(path), 'anonymous', path)
  }
})
