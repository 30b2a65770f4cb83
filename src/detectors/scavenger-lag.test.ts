import assert from 'node:assert/strict'
import { test } from 'node:test'
import { GO119, loadCapture } from '../../test/helpers/capture.ts'
import { snapshot } from '../../test/helpers/snapshots.ts'
import type { GoRuntimeMemory } from '../model/snapshot.ts'
import type { TargetFacts } from '../model/target.ts'
import { MiB } from '../model/units.ts'
import { scavengerLag, scavengerLagBytes } from './scavenger-lag.ts'

// Threshold edges on synthetic numbers; the real captures are at the end.
const target: TargetFacts = { sources: [], pid: 1, goVersion: 'go1.19.8', kernel: '6.1.0' }

test('counts only idle memory above 1.1 × the heap goal as lag', () => {
  const s = snapshot({
    rss: 1200,
    runtime: { heapInuse: 100, heapIdle: 1000, heapReleased: 0, nextGC: 200 },
  })
  assert.ok(s.runtime)
  // retained 1100 − 1.1 × 200 = 880 MiB above the scavenger's goal.
  assert.equal(scavengerLagBytes(s.runtime), 880 * MiB)
})

test('stays quiet on a large heap whose idle memory is within its heap goal', () => {
  const s = snapshot({
    rss: 2100,
    runtime: { heapAlloc: 900, heapInuse: 1000, heapIdle: 900, heapReleased: 0, nextGC: 1900 },
  })
  assert.equal(scavengerLag.detect({ target, series: [s], gaps: [] }).kind, 'clear')
})

test('answers unknown without the runtime view', () => {
  assert.deepEqual(scavengerLag.detect({ target, series: [snapshot({ rss: 900 })], gaps: [] }), {
    kind: 'unknown',
    missing: ['runtime.memstats'],
  })
})

test('says the lag resolved when the scavenger returned it before the window ended', () => {
  const lagging = snapshot({
    atMs: 0,
    rss: 1200,
    runtime: { heapInuse: 100, heapIdle: 1000, heapReleased: 0, nextGC: 200 },
  })
  const returned = snapshot({
    atMs: 3000,
    rss: 200,
    runtime: { heapInuse: 100, heapIdle: 1000, heapReleased: 990, nextGC: 200 },
  })
  const outcome = scavengerLag.detect({ target, series: [lagging, returned], gaps: [] })
  assert.ok(outcome.kind === 'finding')
  assert.equal(outcome.finding.resolvedDuringWindow, true)
  assert.match(outcome.finding.summary, /returned it/)
})

test('recommends GOMEMLIMIT only where the Go version has it', () => {
  const s = snapshot({
    rss: 1200,
    runtime: { heapInuse: 100, heapIdle: 1000, heapReleased: 0, nextGC: 200 },
  })
  const fixes = (goVersion: string) => {
    const outcome = scavengerLag.detect({ target: { ...target, goVersion }, series: [s], gaps: [] })
    assert.ok(outcome.kind === 'finding')
    return outcome.finding.fixes.join('\n')
  }
  assert.match(fixes('go1.19.8'), /set GOMEMLIMIT/)
  assert.match(fixes('go1.17.13'), /rebuild with Go ≥ 1\.19/)
  assert.match(fixes('go1.12.17'), /returns idle memory only after 5 minutes/)
  assert.match(fixes('go1.26.8'), /set GOMEMLIMIT \(or debug\.SetMemoryLimit\)/)
})

test("with the runtime's memory limit read (go_gc_gomemlimit_bytes), says it is set instead of asking to set it", () => {
  const withLimit = (memoryLimit: number) => {
    const s = snapshot({
      rss: 1200,
      runtime: { heapInuse: 100, heapIdle: 1000, heapReleased: 0, nextGC: 200 },
    })
    return { ...s, runtime: { ...(s.runtime as GoRuntimeMemory), memoryLimit } }
  }
  const fixes = (memoryLimit: number) => {
    const outcome = scavengerLag.detect({
      target: { ...target, goVersion: 'go1.26.8' },
      series: [withLimit(memoryLimit)],
      gaps: [],
    })
    assert.ok(outcome.kind === 'finding')
    return outcome.finding.fixes.join('\n')
  }
  assert.match(fixes(2 * 2 ** 30), /GOMEMLIMIT is 2\.00 GiB in the runtime .*lower it/)
  assert.doesNotMatch(fixes(2 * 2 ** 30), /^set GOMEMLIMIT/m)
  // math.MaxInt64 is no limit: set one.
  assert.match(fixes(2 ** 63), /^set GOMEMLIMIT \(or debug\.SetMemoryLimit\)/m)
})

test('names the huge-page-aware scavenger only where it exists (Go ≥ 1.21)', () => {
  const s = snapshot({
    rss: 1200,
    runtime: { heapInuse: 100, heapIdle: 1000, heapReleased: 0, nextGC: 200 },
  })
  const dense = (goVersion: string) => {
    const outcome = scavengerLag.detect({ target: { ...target, goVersion }, series: [s], gaps: [] })
    assert.ok(outcome.kind === 'finding')
    return outcome.finding.fixes.filter(f => f.includes('densely used 4 MiB chunks'))
  }
  assert.deepEqual(dense('go1.19.8'), [])
  assert.deepEqual(dense('go1.20.14'), [])
  assert.match(dense('go1.21.0')[0] ?? '', /^go1\.21\.0: the background scavenger leaves/)
  assert.match(dense('go1.27.3')[0] ?? '', /GOMEMLIMIT and debug\.FreeOSMemory do not wait/)
})

test('flags idle heap held after repeated spikes (real go1.19 capture)', async () => {
  const outcome = scavengerLag.detect(await loadCapture(`${GO119}/scavenger-lag`))
  assert.ok(outcome.kind === 'finding')
  assert.ok(outcome.finding.bytesExplained > 256 * MiB)
})

test('stays quiet when each spike is followed by FreeOSMemory (real go1.19 capture)', async () => {
  assert.equal(
    scavengerLag.detect(await loadCapture(`${GO119}/scavenger-lag-control`)).kind,
    'clear',
  )
})

test('stays quiet on a healthy process with allocation churn (real go1.19 capture)', async () => {
  assert.equal(scavengerLag.detect(await loadCapture(`${GO119}/healthy`)).kind, 'clear')
})
