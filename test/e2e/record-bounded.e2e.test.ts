import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LiveDiagnosis } from '../../src/cli/commands/watch.ts'
import { GiB } from '../../src/model/units.ts'
import type { CaptureKind } from '../../src/sources/capture.ts'
import { collect } from '../../src/sources/collect.ts'
import { startScenario } from '../helpers/memsick.ts'

const TICKS = 300
const EDGE_KINDS: readonly CaptureKind[] = ['proc-smaps', 'pprof-heap', 'pprof-goroutine']

test('with retainTicks, collect holds a bounded number of ticks however long it runs; every tick and both edges still reach onCaptures', async t => {
  const target = await startScenario('heap-growth', { go: 'go1.26' })
  t.after(() => target.stop())
  const abort = new AbortController()
  const live = new LiveDiagnosis(50)
  let mostHeld = 0
  let mostLive = 0
  const handed: number[] = []
  const edges: { tick: number; kind: CaptureKind }[] = []
  const collection = await collect({
    pid: target.pid,
    durationMs: Number.POSITIVE_INFINITY,
    intervalMs: 1,
    smapsMaxRssBytes: 16 * GiB,
    retainTicks: 3,
    signal: abort.signal,
    onCaptures: (tick, captures, run) => {
      mostHeld = Math.max(mostHeld, run.captures.ticks.length)
      if (tick !== 'once') {
        handed.push(tick)
        // The tick handed over is always the latest one held.
        for (const capture of captures) {
          assert.ok(run.captures.ticks.at(-1)?.captures.includes(capture), `tick ${tick}`)
          if (EDGE_KINDS.includes(capture.kind)) edges.push({ tick, kind: capture.kind })
        }
      }
      live.add(tick, captures, run)
      mostLive = Math.max(mostLive, live.retained)
    },
    onTick: tick => {
      if (tick.index + 1 === TICKS) abort.abort()
    },
  })
  // Every tick was handed over once, in order, and the last once more with its end captures.
  assert.deepEqual(
    handed,
    [...Array.from({ length: TICKS }, (_, i) => i), TICKS - 1],
    'ticks handed to onCaptures',
  )
  assert.ok(mostHeld <= 3, `collect held ${mostHeld} ticks at once`)
  assert.equal(collection.captures.ticks.length, 3)
  assert.match(collection.notes.join('\n'), new RegExp(`diagnosing the ${TICKS} samples`))
  for (const kind of EDGE_KINDS) {
    assert.deepEqual(
      edges.filter(e => e.kind === kind).map(e => e.tick),
      [0, TICKS - 1],
      `${kind} at both edges`,
    )
  }

  // The dashboard's diagnosis holds its window, not the run, and says so.
  assert.ok(mostLive <= 50, `the live diagnosis held ${mostLive} snapshots`)
  live.findings(collection) // as watch does when sampling ends
  const view = live.view()
  assert.equal(view.window.samples, 50)
  assert.match(view.notes.join('\n'), new RegExp(`latest 50 of ${TICKS} samples`))
})

test('without retainTicks, collect keeps every tick (diagnose)', async t => {
  const target = await startScenario('healthy', { go: 'go1.26' })
  t.after(() => target.stop())
  const collection = await collect({
    pid: target.pid,
    durationMs: 200,
    intervalMs: 20,
    smapsMaxRssBytes: 16 * GiB,
  })
  assert.ok(collection.captures.ticks.length >= 5, String(collection.captures.ticks.length))
  assert.ok(collection.captures.ticks[0]?.captures.some(c => c.kind === 'pprof-heap'))
  assert.ok(collection.captures.ticks.at(-1)?.captures.some(c => c.kind === 'pprof-heap'))
})
