import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { GO119, loadCapture, withoutPart } from '../../test/helpers/capture.ts'
import { snapshot } from '../../test/helpers/snapshots.ts'
import type { Finding } from '../model/finding.ts'
import type { GoroutineDump } from '../model/goroutines.ts'
import type { MemorySnapshot } from '../model/snapshot.ts'
import type { TargetFacts } from '../model/target.ts'
import { parseGoroutineText } from '../sources/formats/goroutine-text.ts'
import { parseGoroutineLeak } from '../sources/formats/pprof-goroutineleak.ts'
import type { DetectorInput } from './detector.ts'
import { goroutineLeak } from './goroutine-leak.ts'

// Threshold edges on synthetic series (a sample a second); the real captures follow.
const target: TargetFacts = { sources: [], pid: 1, goVersion: 'go1.19.8' }
const INDEX = 'http://127.0.0.1:1/debug/pprof/'

/** One sample a second with these goroutine counts; StackInuse follows at 2 KiB a goroutine. */
function counts(values: readonly number[], numGC?: readonly number[]): MemorySnapshot[] {
  return values.map((count, i) => ({
    ...snapshot({
      atMs: i * 1000,
      rss: 100,
      runtime: { stackInuse: (count * 2) / 1024, numGC: numGC?.[i] ?? 10 + i },
    }),
    goroutines: { count, source: INDEX },
  }))
}

const detect = (series: MemorySnapshot[], extra: Partial<DetectorInput> = {}) =>
  goroutineLeak.detect({ target, series, gaps: [], ...extra })

function findingOf(outcome: ReturnType<typeof detect>): Finding {
  assert.ok(outcome.kind === 'finding', JSON.stringify(outcome))
  return outcome.finding
}

test('flags a count that rises every sample, from the count alone', () => {
  const finding = findingOf(detect(counts([1000, 1100, 1200, 1300, 1400, 1500])))
  assert.equal(finding.title, 'Goroutine count rising')
  assert.equal(finding.severity, 'warning')
  const perSecond = finding.evidence.find(e => e.label.startsWith('goroutines added per second'))
  assert.equal(perSecond?.value, 100)
  assert.equal(perSecond?.source, INDEX)
  // The count and StackInuse agree, but p = 1/720 is above 0.001 and no stack group is named.
  assert.equal(finding.confidence, 0.7)
  assert.match(finding.summary, /not named/)
  // At least the 500 goroutines the window added, at 2 KiB each.
  assert.equal(finding.bytesExplained, 500 * 2048)
  assert.equal(finding.whatIf?.rssBytes, 100 * 2 ** 20 - 500 * 2048)
})

test('stays quiet on a large steady count', () => {
  assert.deepEqual(detect(counts([10009, 10009, 10009, 10009, 10009, 10009, 10009])), {
    kind: 'clear',
  })
  assert.deepEqual(detect(counts([10007, 10003, 10009, 10005, 10011, 10006, 10008])), {
    kind: 'clear',
  })
})

test('stays quiet on a sawtooth: batches of goroutines that start and end', () => {
  // Four teeth of 1000 → 1800: the Theil–Sen line still rises by ~345 over the window, but
  // Mann–Kendall finds no trend (p ≈ 0.1): batches end, leaked goroutines do not.
  const teeth = [0, 1, 2, 3].flatMap(() => [0, 200, 400, 600, 800]).map(v => 1000 + v)
  assert.equal(detect(counts(teeth)).kind, 'clear')
})

test('stays quiet on steady growth below 50 goroutines or 2% of the count', () => {
  // Strictly rising, so Mann–Kendall alone would call it: the size thresholds keep it quiet.
  assert.equal(detect(counts([100, 105, 110, 115, 120, 125, 130, 135, 140, 145])).kind, 'clear')
  const big = [50_000, 50_100, 50_200, 50_300, 50_400, 50_500, 50_600, 50_700, 50_800, 50_900]
  assert.equal(detect(counts(big)).kind, 'clear')
  assert.equal(detect(counts(big.map((v, i) => v + i * 20))).kind, 'finding')
})

test('answers unknown when the target restarted, never a leak of the new process', () => {
  // NumGC goes back with the count: a new process ramping up.
  const restart = counts([11000, 11200, 11400, 12, 3000, 6000, 9000, 11000], [40, 41, 42, 0, 1, 2])
  const outcome = detect(restart)
  assert.ok(outcome.kind === 'unknown')
  assert.deepEqual(outcome.missing, ['runtime.goroutines'])
  assert.match(outcome.reason ?? '', /restarted during the window/)
  // The count alone (no runtime view): a fall to a hundredth is a restart too.
  const countOnly = restart.map(({ runtime: _r, ...rest }) => rest)
  assert.equal(detect(countOnly).kind, 'unknown')
  // NumGC went back although the count never fell far.
  const quiet = counts([900, 1000, 1100, 1200, 1300, 1400], [50, 51, 52, 0, 1, 2])
  assert.equal(detect(quiet).kind, 'unknown')
  // A restart with no rise after it is clear: no leak was seen either side.
  assert.equal(detect(counts([11000, 11000, 12, 12, 12, 12])).kind, 'clear')
})

test('answers unknown without counts, and with too few samples to test a rise', () => {
  const noCounts = counts([1, 2, 3, 4, 5]).map(({ goroutines: _g, ...rest }) => rest)
  assert.deepEqual(detect(noCounts), { kind: 'unknown', missing: ['runtime.goroutines'] })
  assert.equal(detect(counts([1000, 1300, 1600, 1900])).kind, 'unknown')
  // Four flat samples are enough to say no leak of a size that matters happened.
  assert.equal(detect(counts([1000, 1000, 1001, 1000])).kind, 'clear')
})

test('rates leaked stacks over a quarter of RSS critical', () => {
  const series = counts([20_000, 22_000, 24_000, 26_000, 28_000, 30_000])
  assert.equal(findingOf(detect(series)).severity, 'warning')
  const small = series.map(s => ({
    ...s,
    status: { source: '/proc/1/status', vmRss: 40 * 2 ** 20 },
  }))
  assert.equal(findingOf(detect(small)).severity, 'critical')
})

const fixture = (name: string) => `testdata/formats/${name}`
const debug2 = (name: string) =>
  parseGoroutineText(readFileSync(fixture(`goroutines/${name}`)), name)

test('names the growing group with its minutes waiting from ?debug=2 dumps', () => {
  // The first dump is the real one with 30 of its 40 leaked workers taken out.
  const last = debug2('go1.19-debug2-waiting.txt')
  let dropped = 0
  const first: GoroutineDump = {
    ...last,
    records: last.records.filter(r => {
      const leaky = last.frames[r.frames[0] ?? -1]?.func === 'main.leakyWorker'
      return !(leaky && dropped++ < 30)
    }),
  }
  const series = counts([1000, 1010, 1020, 1030, 1040, 1050, 1060])
  const finding = findingOf(detect(series, { goroutineDumps: { first, last, source: 'dump' } }))
  const value = (label: string) => finding.evidence.find(e => e.label === label)?.value
  assert.equal(value('growing stack group'), 'main.leakyWorker')
  assert.equal(value('wait reason'), 'chan receive')
  assert.equal(value('minutes waiting'), '1–1')
  assert.equal(value('goroutines in the group at start'), 10)
  assert.equal(value('goroutines in the group at end'), 40)
  assert.equal(value('created by'), 'main.main')
  assert.equal(finding.title, 'Goroutine leak in main.leakyWorker')
})

test('recommends the goroutineleak profile according to the Go version and its experiments', () => {
  const series = counts([1000, 1100, 1200, 1300, 1400, 1500])
  const fixes = (goVersion: string, more: Partial<TargetFacts> = {}) =>
    findingOf(goroutineLeak.detect({ target: { ...target, goVersion, ...more }, series, gaps: [] }))
      .fixes
  const has = (list: string[], pattern: RegExp) =>
    assert.ok(
      list.some(f => pattern.test(f)),
      `${pattern} in\n${list.join('\n')}`,
    )
  const lacks = (list: string[], pattern: RegExp) =>
    assert.ok(!list.some(f => pattern.test(f)), `no ${pattern} in\n${list.join('\n')}`)
  has(fixes('go1.19.8'), /^Go ≥ 1\.27 \(running go1\.19\.8\) serves \/debug\/pprof\/goroutineleak/)
  has(fixes('go1.25.3'), /^Go ≥ 1\.27 \(running go1\.25\.3\)/)
  has(fixes('go1.26.1'), /^rebuild with GOEXPERIMENT=goroutineleakprofile \(go1\.26\.1 keeps/)
  // Built with the experiment, by version suffix or by build setting: it serves the profile.
  has(fixes('go1.26.8-X:goroutineleakprofile'), /^confirm with gomemdoctor --leak-profile/)
  const setting = { buildSettings: { GOEXPERIMENT: 'goroutineleakprofile' } }
  has(fixes('go1.26.8', setting), /^confirm with gomemdoctor --leak-profile/)
  has(fixes('go1.27.0'), /^confirm with gomemdoctor --leak-profile/)
  has(fixes(''), /^if the target runs Go ≥ 1\.27/)
  // Once the profile was read, it is not recommended again.
  const leaks = { last: leakFixture('go1.27-leak.pb.gz'), source: 'leak' }
  const read = findingOf(
    goroutineLeak.detect({
      target: { ...target, goVersion: 'go1.27.0' },
      series,
      gaps: [],
      goroutineLeaks: leaks,
    }),
  ).fixes
  lacks(read, /--leak-profile|GOEXPERIMENT/)
})

test('names GODEBUG=tracebacklabels=1 where it exists and is off: Go 1.26, or 1.27 from an older module', () => {
  const series = counts([1000, 1100, 1200, 1300, 1400, 1500])
  const labels = (goVersion: string, more: Partial<TargetFacts> = {}) =>
    findingOf(
      goroutineLeak.detect({ target: { ...target, goVersion, ...more }, series, gaps: [] }),
    ).fixes.filter(f => f.includes('tracebacklabels'))
  assert.deepEqual(labels('go1.19.8'), [])
  assert.deepEqual(labels('go1.25.3'), [])
  assert.match(
    labels('go1.26.8')[0] ?? '',
    /GODEBUG=tracebacklabels=1: go1\.26\.8 .*default only for go 1\.27 modules/,
  )
  assert.deepEqual(labels('go1.26.8', { godebug: 'tracebacklabels=1' }), [])
  // A go 1.27 module has it on; an older module built by 1.27 gets tracebacklabels=0.
  assert.deepEqual(labels('go1.27.3'), [])
  assert.match(
    labels('go1.27.3', { defaultGodebug: 'tracebacklabels=0' })[0] ?? '',
    /DefaultGODEBUG or GODEBUG has tracebacklabels=0/,
  )
  assert.deepEqual(
    labels('go1.27.3', { defaultGodebug: 'tracebacklabels=0', godebug: 'tracebacklabels=1' }),
    [],
  )
})

const leakFixture = (name: string): GoroutineDump =>
  parseGoroutineLeak({
    kind: 'pprof-goroutineleak',
    origin: `http://127.0.0.1:1/debug/pprof/goroutineleak (${name})`,
    atMs: 0,
    bytes: readFileSync(fixture(`pprof-goroutineleak/${name}`)),
  })

test("the runtime's leak profile raises a rising count to near certainty, with the leaked group", () => {
  const series = counts([10_000, 10_200, 10_400, 10_600, 10_800, 11_000])
  const leak = leakFixture('go1.27-leak.pb.gz')
  const without = findingOf(detect(series))
  const withLeaks = findingOf(
    detect(series, { goroutineLeaks: { first: leak, last: leak, source: leak.source } }),
  )
  assert.ok(
    withLeaks.confidence >= without.confidence + 0.2,
    `${without.confidence} → ${withLeaks.confidence}`,
  )
  const value = (label: string) => withLeaks.evidence.find(e => e.label === label)
  assert.equal(value('goroutines leaked at end (runtime leak detection)')?.value, leak.total)
  assert.equal(value('goroutines leaked at end (runtime leak detection)')?.source, leak.source)
  assert.equal(value('leaked stack group')?.value, 'main.leakyWorker')
  assert.equal(value('leaked, waiting in')?.value, 'chan receive')
  assert.equal(withLeaks.title, 'Goroutine leak in main.leakyWorker')
  // What it frees is the runtime's count of stacks, not the window's growth.
  assert.equal(withLeaks.bytesExplained, leak.total * 2048)
  assert.doesNotMatch(withLeaks.whatIf?.explanation ?? '', /at least/)
})

test('a rising count the runtime finds none of leaked loses confidence, and the summary says why', () => {
  const series = counts([10_000, 10_200, 10_400, 10_600, 10_800, 11_000])
  const none = leakFixture('go1.27-control.pb.gz')
  const without = findingOf(detect(series))
  const finding = findingOf(detect(series, { goroutineLeaks: { last: none, source: none.source } }))
  assert.ok(
    finding.confidence < without.confidence - 0.15,
    `${without.confidence} → ${finding.confidence}`,
  )
  assert.match(finding.summary, /found none leaked\./)
  assert.match(finding.summary, /a leak through a global or a running goroutine/)
})

test('a leak the runtime proved is a finding even with a flat count; the control profile and a handful are not', () => {
  const flat = counts([10_210, 10_210, 10_210, 10_210, 10_210, 10_210])
  const leak = leakFixture('go1.26-leakprofile-leak.pb.gz')
  assert.deepEqual(detect(flat), { kind: 'clear' })
  const finding = findingOf(detect(flat, { goroutineLeaks: { last: leak, source: leak.source } }))
  assert.equal(finding.title, 'Goroutine leak in main.leakyWorker')
  assert.equal(finding.confidence, 0.9)
  assert.match(finding.summary, /can never wake.*count did not rise in the window/)
  const both = findingOf(
    detect(flat, { goroutineLeaks: { first: leak, last: leak, source: leak.source } }),
  )
  assert.equal(both.confidence, 0.95)
  const control = leakFixture('go1.26-leakprofile-control.pb.gz')
  assert.deepEqual(detect(flat, { goroutineLeaks: { last: control, source: 'c' } }), {
    kind: 'clear',
  })
  // Three goroutines stuck for good is a bug, but not a memory story.
  const few: GoroutineDump = {
    ...leak,
    total: 3,
    records: leak.records.map(r => ({ ...r, count: 3 })),
  }
  assert.deepEqual(detect(flat, { goroutineLeaks: { last: few, source: 'few' } }), {
    kind: 'clear',
  })
  // Too few samples for the count: the profile still answers.
  assert.equal(
    findingOf(detect(flat.slice(0, 1), { goroutineLeaks: { last: leak, source: 'l' } })).title,
    'Goroutine leak in main.leakyWorker',
  )
})

test('names main.leakyWorker in a real go1.19 leak of 200 goroutines a second', async () => {
  const input = await loadCapture(`${GO119}/goroutine-leak`)
  const finding = findingOf(goroutineLeak.detect(input))
  const item = (label: string) => {
    const found = finding.evidence.find(e => e.label === label)
    assert.ok(found, label)
    return found
  }
  assert.equal(finding.title, 'Goroutine leak in main.leakyWorker')
  assert.ok(finding.confidence >= 0.9)
  assert.equal(item('growing stack group').value, 'main.leakyWorker')
  // Live runs read the proto profile: its runtime frames name the wait.
  assert.match(item('growing stack group').source, /\/debug\/pprof\/goroutine$/)
  assert.equal(item('wait reason').value, 'chan receive')
  const start = item('goroutines in the group at start').value as number
  const end = item('goroutines in the group at end').value as number
  assert.ok(start >= 10_000 && end - start > 1000, `${start} → ${end}`)
  const perSecond = item('goroutines added per second (Theil–Sen)').value as number
  assert.ok(perSecond > 150 && perSecond < 250, `${perSecond}/s`)
  assert.match(item('goroutines at end').source, /\/debug\/pprof\/$/)
  assert.match(item('StackInuse at end').source, /\/debug\/vars$/)
  assert.ok((item('StackInuse growth (Theil–Sen)').value as number) > 200_000)
  // The stacks of every leaked worker, about 2 KiB each.
  assert.ok(finding.bytesExplained > end * 2048 * 0.95 && finding.bytesExplained < end * 4096)
  assert.ok(finding.whatIf && finding.whatIf.rssBytes > 0)
})

test('stays quiet on a real steady pool of 10k goroutines (control)', async () => {
  const input = await loadCapture(`${GO119}/goroutine-leak-control`)
  assert.deepEqual(goroutineLeak.detect(input), { kind: 'clear' })
})

test('a real go1.27 capture with the leak profile at both edges: the runtime counts every leaked worker', async () => {
  const input = await loadCapture('go1.27-linux6.18/goroutine-leak')
  assert.ok(input.goroutineLeaks?.first, 'the capture holds the leak profile at both edges')
  const finding = findingOf(goroutineLeak.detect(input))
  const value = (label: string) => finding.evidence.find(e => e.label === label)?.value as number
  const start = value('goroutines leaked at start (runtime leak detection)')
  const end = value('goroutines leaked at end (runtime leak detection)')
  assert.ok(start >= 10_000 && end - start >= 800, `${start} → ${end}`)
  assert.equal(
    finding.evidence.find(e => e.label === 'leaked stack group')?.value,
    'main.leakyWorker',
  )
  assert.ok(finding.confidence >= 0.95)
  // The count the runtime proved leaked is what goes, not the window's growth.
  assert.ok(finding.bytesExplained >= end * 2048, `${finding.bytesExplained}`)
  const control = await loadCapture('go1.27-linux6.18/goroutine-leak-control')
  assert.equal(control.goroutineLeaks?.last.total, 0)
  assert.deepEqual(goroutineLeak.detect(control), { kind: 'clear' })
})

test('still finds the real leak from the count alone, without dumps or the runtime view', async () => {
  const full = await loadCapture(`${GO119}/goroutine-leak`)
  const { goroutineDumps: _dumps, ...noDumps } = full
  const countOnly = withoutPart(noDumps, 'runtime')
  const finding = findingOf(goroutineLeak.detect(countOnly))
  assert.equal(finding.title, 'Goroutine count rising')
  assert.ok(finding.confidence < 0.9)
  assert.ok(!finding.evidence.some(e => e.label === 'growing stack group'))
})
