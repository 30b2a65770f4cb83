import assert from 'node:assert/strict'
import { test } from 'node:test'
import { GO119, loadCapture, withoutPart } from '../../test/helpers/capture.ts'
import { namedMappingsCapture } from '../../test/helpers/named-mappings.ts'
import { type SnapshotSpec, snapshot } from '../../test/helpers/snapshots.ts'
import type { TargetFacts } from '../model/target.ts'
import { MiB } from '../model/units.ts'
import { nonGoMemory } from './non-go-memory.ts'
import { thpBloat } from './thp-bloat.ts'

// Threshold edges on synthetic numbers (MiB); the real captures are at the end. With the
// helper's default runtime, Go's resident estimate is 65 MiB and RssFile 10 MiB, so the non-Go
// part is rss − 75.
const go = (goVersion = 'go1.19.8'): TargetFacts => ({
  sources: [],
  pid: 1,
  goVersion,
  kernel: '6.18.0',
})
const at = (atMs: number, rss: number, extra: Partial<SnapshotSpec> = {}) =>
  snapshot({ atMs, rss, runtime: {}, ...extra })
const detect = (...series: ReturnType<typeof snapshot>[]) =>
  nonGoMemory.detect({ target: go(), series, gaps: [] })
const severity = (...series: ReturnType<typeof snapshot>[]) => {
  const outcome = detect(...series)
  return outcome.kind === 'finding' ? outcome.finding.severity : outcome.kind
}

test('answers unknown for a URL-only target: no /proc, no RssAnon', () => {
  const s = at(0, 500)
  delete s.status
  assert.deepEqual(detect(s), { kind: 'unknown', missing: ['os.rssSplit'] })
})

test('answers unknown for a PID-only target: no runtime view', () => {
  assert.deepEqual(detect(snapshot({ rss: 500 })), {
    kind: 'unknown',
    missing: ['runtime.memstats'],
  })
})

test('needs 64 MiB beyond Go and a fifth of RSS', () => {
  assert.equal(severity(at(0, 138), at(1000, 138)), 'clear')
  assert.equal(severity(at(0, 139), at(1000, 139)), 'info')
  const big = { runtime: { heapInuse: 1000 } }
  // Go's estimate is 1017 MiB here: 100 MiB more is under a fifth of RSS, 300 MiB is over.
  assert.equal(severity(at(0, 1127, big), at(1000, 1127, big)), 'clear')
  assert.equal(severity(at(0, 1327, big), at(1000, 1327, big)), 'info')
})

test('ignores one sample that straddles a heap spike released between the two reads', () => {
  assert.equal(severity(at(0, 100), at(1000, 900), at(2000, 100)), 'clear')
  assert.equal(severity(at(0, 100), at(1000, 900), at(2000, 900)), 'critical')
})

test('takes LazyFree and file pages out before blaming C', () => {
  assert.equal(severity(at(0, 1000, { lazyFree: 900 }), at(1000, 1000, { lazyFree: 900 })), 'clear')
  assert.equal(severity(at(0, 1000, { rssFile: 900 }), at(1000, 1000, { rssFile: 900 })), 'clear')
})

test('rates steady non-Go memory info, growing a warning, growing past half of RSS critical', () => {
  assert.equal(severity(at(0, 200), at(4000, 202)), 'info')
  assert.equal(severity(at(0, 200), at(4000, 240)), 'critical')
  const big = { runtime: { heapInuse: 400 } }
  assert.equal(severity(at(0, 600, big), at(4000, 640, big)), 'warning')
})

test('answers unknown without smaps when huge pages could explain the gap', () => {
  const hugePages = (rss: number) => {
    const s = at(0, rss, { lazyFree: 0 })
    if (s.rollup) s.rollup.anonHugePages = 600 * MiB
    return s
  }
  assert.deepEqual(detect(hugePages(700), hugePages(700)), {
    kind: 'unknown',
    missing: ['os.mappings'],
  })
})

test('points at GOMEMLIMIT on Go ≥ 1.19 and at named mappings before Go 1.25', () => {
  const fixes = (version: string) => {
    const outcome = nonGoMemory.detect({
      target: go(version),
      series: [at(0, 400), at(1000, 400)],
      gaps: [],
    })
    assert.ok(outcome.kind === 'finding')
    return outcome.finding.fixes.join('\n')
  }
  assert.match(fixes('go1.19.8'), /GOMEMLIMIT does not count/)
  assert.match(fixes('go1.19.8'), /Go ≥ 1\.25 names its mappings/)
  assert.doesNotMatch(fixes('go1.18.10'), /GOMEMLIMIT/)
  assert.doesNotMatch(fixes('go1.25.1'), /Go ≥ 1\.25 names/)
})

test('flags real C.malloc memory growing 8 MiB/s and names the mappings (go1.19 capture)', async () => {
  const input = await loadCapture(`${GO119}/non-go-memory`)
  const outcome = nonGoMemory.detect(input)
  assert.ok(outcome.kind === 'finding')
  assert.equal(outcome.finding.severity, 'critical')
  assert.ok(outcome.finding.confidence >= 0.9)
  const value = (label: string) => outcome.finding.evidence.find(e => e.label === label)
  const nonGo = value('non-Go memory')
  assert.ok(typeof nonGo?.value === 'number' && nonGo.value > 256 * MiB)
  const rate = value('non-Go growth')
  assert.ok(typeof rate?.value === 'number' && rate.value > 6 * MiB && rate.value < 10 * MiB)
  const gained = value('gained by them during the window')
  assert.ok(typeof gained?.value === 'number' && gained.value > 16 * MiB)
  const mapping = outcome.finding.evidence.find(e => e.label.startsWith('anonymous mapping 7f'))
  assert.match(mapping?.source ?? '', /^\/proc\/\d+\/smaps$/)
})

test('stays quiet when the C memory is freed (go1.19 control capture)', async () => {
  const input = await loadCapture(`${GO119}/non-go-memory-control`)
  assert.equal(nonGoMemory.detect(input).kind, 'clear')
})

test("does not call huge pages over Go's own released heap non-Go memory (thp-bloat capture)", async () => {
  const input = await loadCapture(`${GO119}/thp-bloat`)
  assert.equal(nonGoMemory.detect(input).kind, 'clear')
  const { mappings: _dropped, ...withoutSmaps } = input
  assert.deepEqual(nonGoMemory.detect(withoutSmaps), { kind: 'unknown', missing: ['os.mappings'] })
})

test('answers unknown on real captures reduced to a URL-only or PID-only view', async () => {
  const input = await loadCapture(`${GO119}/non-go-memory`)
  assert.deepEqual(nonGoMemory.detect(withoutPart(input, 'status')), {
    kind: 'unknown',
    missing: ['os.rssSplit'],
  })
  assert.deepEqual(nonGoMemory.detect(withoutPart(input, 'runtime')), {
    kind: 'unknown',
    missing: ['runtime.memstats'],
  })
})

test('captured with and without Go mapping names (VM): 16 MiB of mmap is below the threshold, and the 256 MiB MADV_FREE spike is not non-Go', () => {
  for (const run of [
    'go1.26.8-vm-named',
    'go1.26.8-vm-named-madvdontneed0',
    'go1.26.8-vm-decoratemappings0',
    'go1.25.1-vm-named',
  ] as const) {
    const { snapshot, mappings, target } = namedMappingsCapture(run)
    const input = {
      target,
      series: [snapshot],
      gaps: [],
      mappings: { source: mappings.source, last: mappings },
    }
    assert.deepEqual(nonGoMemory.detect(input), { kind: 'clear' }, run)
    assert.deepEqual(thpBloat.detect(input), { kind: 'clear' }, run)
  }
})
