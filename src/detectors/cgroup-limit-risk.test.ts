import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { GO119, loadCapture, withoutPart } from '../../test/helpers/capture.ts'
import { snapshot } from '../../test/helpers/snapshots.ts'
import type { CgroupMemory, MemorySnapshot } from '../model/snapshot.ts'
import type { TargetFacts } from '../model/target.ts'
import { MiB } from '../model/units.ts'
import type { CaptureKind, RawCapture } from '../sources/capture.ts'
import { cgroupFromCaptures } from '../sources/formats/cgroup-memory.ts'
import { cgroupLimitRisk } from './cgroup-limit-risk.ts'
import type { DetectorInput } from './detector.ts'

// Threshold edges on synthetic numbers (MiB); real captures and real cgroup files at the end.
const target: TargetFacts = { sources: [], pid: 1, goVersion: 'go1.19.8', kernel: '6.18.0' }

interface CgroupSpec {
  atMs?: number
  usage: number
  limit?: number
  anon?: number
  file?: number
  inactiveFile?: number
  hits?: number
  oom?: number
  lazyFree?: number
}

function tick(spec: CgroupSpec): MemorySnapshot {
  const s = snapshot({
    atMs: spec.atMs ?? 0,
    rss: spec.anon ?? spec.usage,
    ...(spec.lazyFree === undefined ? {} : { lazyFree: spec.lazyFree }),
  })
  const cgroup: CgroupMemory = {
    source: '/sys/fs/cgroup/memory/app',
    version: 1,
    usage: spec.usage * MiB,
  }
  if (spec.limit !== undefined) cgroup.limit = spec.limit * MiB
  if (spec.anon !== undefined) cgroup.anon = spec.anon * MiB
  if (spec.file !== undefined) cgroup.file = spec.file * MiB
  if (spec.inactiveFile !== undefined) cgroup.inactiveFile = spec.inactiveFile * MiB
  if (spec.hits !== undefined) cgroup.limitHits = spec.hits
  if (spec.oom !== undefined) cgroup.oomKills = spec.oom
  s.cgroup = cgroup
  return s
}

const run = (...specs: CgroupSpec[]) =>
  cgroupLimitRisk.detect({ target, series: specs.map(tick), gaps: [] })
const severity = (...specs: CgroupSpec[]) => {
  const outcome = run(...specs)
  return outcome.kind === 'finding' ? outcome.finding.severity : outcome.kind
}

test('answers unknown, not clear, when no memory cgroup was read', () => {
  const outcome = cgroupLimitRisk.detect({ target, series: [snapshot({ rss: 900 })], gaps: [] })
  assert.deepEqual(outcome, { kind: 'unknown', missing: ['cgroup.memory'] })
})

test('stays quiet in a cgroup without a limit, however full', () => {
  assert.equal(severity({ usage: 20_000, anon: 20_000, file: 0 }), 'clear')
})

test('rates the share of the limit that cannot be reclaimed: 85% warns, 95% is critical', () => {
  const at = (anon: number) => ({ usage: anon + 10, limit: 1000, anon, file: 10 })
  assert.equal(severity(at(849)), 'clear')
  assert.equal(severity(at(850)), 'warning')
  assert.equal(severity(at(949)), 'warning')
  assert.equal(severity(at(950)), 'critical')
})

test('is critical at 85% when usage is already hitting the limit during the window', () => {
  const spec = { usage: 995, limit: 1000, anon: 900, file: 95 }
  assert.equal(severity({ ...spec, hits: 10 }, { ...spec, hits: 10 }), 'warning')
  assert.equal(severity({ ...spec, hits: 10 }, { ...spec, hits: 500 }), 'critical')
})

test('stays quiet when page cache fills the limit and the hit counter races', () => {
  const spec = { usage: 999, limit: 1000, anon: 100, file: 899, inactiveFile: 890 }
  assert.equal(severity({ ...spec, hits: 1000 }, { ...spec, hits: 9000 }), 'clear')
})

test('counts LazyFree as reclaimable, once: it is in anon (total_rss), not in page cache', () => {
  const spec = { usage: 990, limit: 1000, anon: 980, file: 10, inactiveFile: 810 }
  assert.equal(severity({ ...spec, lazyFree: 800 }), 'clear')
  // The same cgroup without smaps_rollup: nothing says the anonymous memory is MADV_FREE'd.
  assert.equal(severity(spec), 'critical')
})

test('without memory.stat counts the whole usage and says how little it knows', () => {
  const outcome = run({ usage: 960, limit: 1000 })
  assert.ok(outcome.kind === 'finding')
  assert.ok(outcome.finding.confidence <= 0.6)
  assert.match(outcome.finding.summary, /memory\.stat was not read/)
  const full = run({ usage: 960, limit: 1000, anon: 950, file: 10 })
  assert.ok(full.kind === 'finding' && full.finding.confidence >= 0.9)
})

test('reports OOM kills: recorded before the window a warning, during it critical', () => {
  assert.equal(severity({ usage: 100, limit: 1000, anon: 90, file: 10, oom: 2 }), 'warning')
  const rising = [
    { usage: 500, limit: 1000, anon: 490, file: 10, oom: 0 },
    { usage: 100, limit: 1000, anon: 90, file: 10, oom: 1 },
  ]
  assert.equal(severity(...rising), 'critical')
})

test('reports a peak that passed during the window as resolved, not current', () => {
  const outcome = run(
    { atMs: 0, usage: 990, limit: 1000, anon: 980, file: 10 },
    { atMs: 5000, usage: 300, limit: 1000, anon: 290, file: 10 },
  )
  assert.ok(outcome.kind === 'finding')
  assert.equal(outcome.finding.severity, 'info')
  assert.equal(outcome.finding.resolvedDuringWindow, true)
})

test('recommends GOMEMLIMIT under the limit on Go ≥ 1.19, and an upgrade before', () => {
  const series = [tick({ usage: 900, limit: 1000, anon: 890, file: 10 })]
  const modern = cgroupLimitRisk.detect({ target, series, gaps: [] })
  assert.ok(modern.kind === 'finding')
  assert.ok(modern.finding.fixes.some(f => /GOMEMLIMIT=900MiB/.test(f)))
  assert.ok(modern.finding.fixes.some(f => /raise the limit to at least 1272 MiB/.test(f)))
  const old = cgroupLimitRisk.detect({
    target: { ...target, goVersion: 'go1.17.13' },
    series,
    gaps: [],
  })
  assert.ok(old.kind === 'finding')
  assert.ok(old.finding.fixes.some(f => /Go ≥ 1\.19 for GOMEMLIMIT/.test(f)))
})

test('reads a v2 cgroup the same way (memory.current, memory.max, events max): synthetic', () => {
  const v2 = (file: string, text: string, kind: CaptureKind): RawCapture => ({
    kind,
    origin: `/sys/fs/cgroup/app/${file}`,
    atMs: 0,
    bytes: new TextEncoder().encode(text),
  })
  const cgroup = cgroupFromCaptures([
    v2('memory.current', `${900 * MiB}\n`, 'cgroup-memory-usage'),
    v2('memory.max', `${1000 * MiB}\n`, 'cgroup-memory-limit'),
    v2(
      'memory.stat',
      `anon ${890 * MiB}\nfile ${10 * MiB}\ninactive_file ${5 * MiB}\n`,
      'cgroup-memory-stat',
    ),
    v2('memory.events', 'low 0\nhigh 0\nmax 42\noom 1\noom_kill 0\n', 'cgroup-memory-events'),
  ])
  assert.ok(cgroup?.version === 2)
  const series = [{ ...snapshot({ rss: 950 }), cgroup }]
  const outcome = cgroupLimitRisk.detect({ target, series, gaps: [] })
  assert.ok(outcome.kind === 'finding')
  assert.equal(outcome.finding.severity, 'warning')
})

/** A real cgroup's files, as the collector reads them, from testdata/formats. */
function realCgroup(name: string, limitFile: string): CgroupMemory | undefined {
  const dir = fileURLToPath(new URL('../../testdata/formats/', import.meta.url))
  const file = (kind: CaptureKind, sysName: string, fixture: string): RawCapture => ({
    kind,
    origin: `/sys/fs/cgroup/memory/oom-test/${sysName}`,
    atMs: 0,
    bytes: readFileSync(`${dir}${kind}/${fixture}`),
  })
  return cgroupFromCaptures([
    file('cgroup-memory-usage', 'memory.usage_in_bytes', `${name}.txt`),
    file('cgroup-memory-limit', 'memory.limit_in_bytes', limitFile),
    file('cgroup-memory-stat', 'memory.stat', `${name}.txt`),
    file('cgroup-memory-failcnt', 'memory.failcnt', `${name}.txt`),
    file('cgroup-memory-events', 'memory.oom_control', `v1-oom-control-${name.slice(3)}.txt`),
  ])
}

test('reports the OOM kill recorded by a real v1 cgroup after its process was killed', () => {
  const cgroup = realCgroup('v1-after-oom-kill', 'v1-limited-64m.txt')
  assert.ok(cgroup?.oomKills === 1)
  const outcome = cgroupLimitRisk.detect({
    target,
    series: [{ atMs: 0, cgroup }],
    gaps: [],
  })
  assert.ok(outcome.kind === 'finding')
  assert.equal(outcome.finding.severity, 'warning')
  assert.equal(outcome.finding.title, 'OOM kills recorded in the memory cgroup')
  assert.ok(outcome.finding.evidence.some(e => e.label === 'OOM kills' && e.value === 1))
})

test('flags a real process holding 90% of its cgroup limit as anonymous memory (go1.19 capture)', async () => {
  const input = await loadCapture(`${GO119}/cgroup-limit-risk`)
  const outcome = cgroupLimitRisk.detect(input)
  assert.ok(outcome.kind === 'finding')
  // 232 MiB anonymous in a 256 MiB cgroup, hitting the limit hundreds of times a second.
  assert.equal(outcome.finding.severity, 'critical')
  assert.ok(outcome.finding.confidence >= 0.9)
  const value = (label: string) => outcome.finding.evidence.find(e => e.label === label)
  const share = value('not reclaimable / limit')
  assert.ok(typeof share?.value === 'number' && share.value > 0.85 && share.value < 0.95)
  assert.match(share.source, /^\/sys\/fs\/cgroup\/memory\/.*\/memsick-\d+$/)
  const hits = value('limit hits during the window')
  assert.ok(typeof hits?.value === 'number' && hits.value > 100)
})

test('stays quiet on a real cgroup at its limit with page cache (go1.19 control capture)', async () => {
  const input: DetectorInput = await loadCapture(`${GO119}/cgroup-limit-risk-control`)
  const last = input.series.at(-1)?.cgroup
  // The control really is at its limit, and really hitting it: only the split tells them apart.
  assert.ok(last?.limit && last.usage > 0.95 * last.limit)
  assert.ok((last.limitHits ?? 0) > (input.series[0]?.cgroup?.limitHits ?? 0))
  assert.equal(cgroupLimitRisk.detect(input).kind, 'clear')
})

test('answers unknown on a real capture whose cgroup files are removed', async () => {
  const input = withoutPart(await loadCapture(`${GO119}/cgroup-limit-risk`), 'cgroup')
  assert.deepEqual(cgroupLimitRisk.detect(input), {
    kind: 'unknown',
    missing: ['cgroup.memory'],
  })
})
