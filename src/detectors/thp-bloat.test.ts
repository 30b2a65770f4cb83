import assert from 'node:assert/strict'
import { test } from 'node:test'
import { GO119, loadCapture, withoutPart } from '../../test/helpers/capture.ts'
import { type SnapshotSpec, snapshot } from '../../test/helpers/snapshots.ts'
import type { ThpSettings } from '../model/mappings.ts'
import type { TargetFacts } from '../model/target.ts'
import { MiB } from '../model/units.ts'
import { thpBloat } from './thp-bloat.ts'

// Threshold edges on synthetic numbers (MiB), without smaps; the real captures, with smaps, are
// at the end. With the helper's default runtime Go's resident estimate is 65 MiB and RssFile
// 10 MiB, so the gap huge pages may explain is rss − 75.
const go = (goVersion = 'go1.19.8'): TargetFacts => ({
  sources: [],
  pid: 1,
  goVersion,
  kernel: '6.18.0',
})
const madvise: ThpSettings = {
  source: '/sys/kernel/mm/transparent_hugepage',
  enabled: 'madvise',
  defrag: 'madvise',
  maxPtesNone: 511,
}
function at(rss: number, hugePages: number, extra: Partial<SnapshotSpec> = {}) {
  const s = snapshot({ rss, lazyFree: 0, runtime: {}, ...extra })
  if (s.rollup) s.rollup.anonHugePages = hugePages * MiB
  return s
}
const detect = (series: ReturnType<typeof at>[], target = go(), thp = madvise) =>
  thpBloat.detect({ target, series, gaps: [], thp })
const severity = (rss: number, hugePages: number, extra: Partial<SnapshotSpec> = {}) => {
  const outcome = detect([at(rss, hugePages, extra)])
  return outcome.kind === 'finding' ? outcome.finding.severity : outcome.kind
}

test('answers unknown without AnonHugePages (no smaps_rollup, no smaps)', () => {
  assert.deepEqual(detect([snapshot({ rss: 900, runtime: {} })]), {
    kind: 'unknown',
    missing: ['os.anonHugePages'],
  })
})

test('answers unknown without the runtime view: released heap cannot be told from used', () => {
  const s = snapshot({ rss: 900, lazyFree: 0 })
  if (s.rollup) s.rollup.anonHugePages = 800 * MiB
  assert.deepEqual(detect([s]), {
    kind: 'unknown',
    missing: ['runtime.memstats'],
  })
})

test('stays quiet on a steady heap simply backed by huge pages', () => {
  // 1 GiB in use, 1 GiB of huge pages, RSS ≈ what Go keeps: the Go 1.19 --large case.
  const steady = { runtime: { heapInuse: 1000 } }
  assert.equal(severity(1100, 1000, steady), 'clear')
})

test('needs 64 MiB of huge pages beyond what Go keeps, and a tenth of RSS', () => {
  assert.equal(severity(138, 500), 'clear')
  assert.equal(severity(139, 500), 'warning')
  assert.equal(severity(1000, 900), 'critical')
  // Huge pages bound the bloat: a gap they do not cover is someone else's.
  assert.equal(severity(500, 63), 'clear')
  assert.equal(severity(640, 64), 'info')
  assert.equal(severity(500, 100), 'warning')
})

test('is unsure without smaps, and more unsure when THP is off', () => {
  const outcome = detect([at(1000, 900)])
  assert.ok(outcome.kind === 'finding')
  assert.ok(outcome.finding.confidence <= 0.6)
  assert.match(outcome.finding.summary, /smaps was not read/)
  const never = detect([at(1000, 900)], go(), { ...madvise, enabled: 'never' })
  assert.ok(never.kind === 'finding' && never.finding.confidence < outcome.finding.confidence)
})

test('gives the fix for the Go version: upgrade within 1.21, disablethp from 1.21.6', () => {
  const fixes = (version: string | undefined, thp = madvise, godebug?: string) => {
    const target = { ...go(version), ...(godebug ? { godebug } : {}) }
    if (version === undefined) delete target.goVersion
    const outcome = detect([at(1000, 900)], target, thp)
    assert.ok(outcome.kind === 'finding')
    return outcome.finding.fixes.join('\n')
  }
  // 1.21.0–1.21.3 forced huge pages themselves; 1.21.4–1.21.5 left them to the kernel, without
  // disablethp yet.
  assert.match(
    fixes('go1.21.3'),
    /upgrade to Go ≥ 1\.21\.6 .*1\.21\.0–1\.21\.3 put huge pages on the heap itself/,
  )
  assert.match(
    fixes('go1.21.5'),
    /upgrade to Go ≥ 1\.21\.6 \(running go1\.21\.5\): it adds GODEBUG=disablethp=1/,
  )
  for (const early of ['go1.21.3', 'go1.21.5', 'go1.20.14', 'go1.19.8']) {
    assert.doesNotMatch(fixes(early), /run with GODEBUG=disablethp=1/, early)
  }
  for (const late of ['go1.21.6', 'go1.22.0', 'go1.26.8', 'go1.27.3']) {
    assert.match(
      fixes(late),
      /run with GODEBUG=disablethp=1 .*in the environment, as \/\/go:debug and go\.mod cannot set it/,
      late,
    )
    assert.doesNotMatch(fixes(late), /upgrade/, late)
  }
  // Already set, yet bloated: the runtime is not the one putting huge pages there.
  assert.match(fixes('go1.26.8', madvise, 'disablethp=1'), /^GODEBUG already has disablethp=1/)
  assert.doesNotMatch(fixes('go1.26.8', madvise, 'disablethp=1'), /run with GODEBUG/)
  assert.match(fixes(undefined), /if the binary is Go ≥ 1\.21\.6, run it with GODEBUG=disablethp=1/)
  assert.match(fixes('go1.19.8'), /MADV_NOHUGEPAGE/)
  assert.match(fixes('go1.19.8'), /max_ptes_none to 0 \(now 511\)/)
  assert.doesNotMatch(fixes('go1.19.8'), /enabled to madvise/)
  assert.match(fixes('go1.19.8', { ...madvise, enabled: 'always' }), /enabled to madvise/)
})

test('flags 1 GiB of huge pages refilling a released go1.19 heap, located in its arena (capture)', async () => {
  const input = await loadCapture(`${GO119}/thp-bloat`)
  const outcome = thpBloat.detect(input)
  assert.ok(outcome.kind === 'finding')
  assert.equal(outcome.finding.severity, 'critical')
  assert.ok(outcome.finding.confidence >= 0.85)
  const value = (label: string) => outcome.finding.evidence.find(e => e.label === label)
  const bloat = value('held by huge pages, not used by the heap')
  assert.ok(typeof bloat?.value === 'number' && bloat.value > 900 * MiB)
  assert.match(value("AnonHugePages in Go's heap arenas")?.source ?? '', /^\/proc\/\d+\/smaps$/)
  assert.deepEqual(value('THP enabled'), {
    label: 'THP enabled',
    value: 'madvise',
    source: '/sys/kernel/mm/transparent_hugepage/enabled',
  })
  assert.equal(value('khugepaged max_ptes_none')?.value, 511)
  assert.ok((outcome.finding.whatIf?.rssBytes ?? Infinity) < 128 * MiB)
})

test('stays quiet on the same heap kept in use and backed by huge pages (control capture)', async () => {
  const input = await loadCapture(`${GO119}/thp-bloat-control`)
  const hugePages = input.series.at(-1)?.rollup?.anonHugePages ?? 0
  assert.ok(hugePages > 1000 * MiB, 'the control really is backed by huge pages')
  assert.equal(thpBloat.detect(input).kind, 'clear')
})

test('without smaps still flags the real capture from smaps_rollup, less surely', async () => {
  const { mappings: _dropped, ...input } = await loadCapture(`${GO119}/thp-bloat`)
  const outcome = thpBloat.detect(input)
  assert.ok(outcome.kind === 'finding')
  assert.ok(outcome.finding.confidence < 0.85)
  const control = await loadCapture(`${GO119}/thp-bloat-control`)
  const { mappings: _gone, ...controlInput } = control
  assert.equal(thpBloat.detect(controlInput).kind, 'clear')
})

test('stays quiet on the other real captures: healthy, cgroup, mapped files, C memory', async () => {
  for (const name of ['healthy', 'cgroup-limit-risk', 'file-mapped', 'non-go-memory']) {
    assert.equal(thpBloat.detect(await loadCapture(`${GO119}/${name}`)).kind, 'clear', name)
  }
})

test('answers unknown on a real capture without smaps_rollup and smaps', async () => {
  const { mappings: _dropped, ...input } = await loadCapture(`${GO119}/thp-bloat`)
  assert.deepEqual(thpBloat.detect(withoutPart(input, 'rollup')), {
    kind: 'unknown',
    missing: ['os.anonHugePages'],
  })
})
