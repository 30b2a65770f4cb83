import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { GO119, loadCapture } from '../../test/helpers/capture.ts'
import { snapshot } from '../../test/helpers/snapshots.ts'
import { assemble } from '../sources/assemble.ts'
import { readCaptureDir } from '../sources/transports/capture-dir.ts'
import {
  type GcCycle,
  gcCycles,
  gcIsOff,
  goalRatio,
  gogcFromEnviron,
  heapAfterGc,
  measuredGoalRatio,
} from './gc-cycles.ts'
import type { MemorySnapshot } from './snapshot.ts'
import type { TargetFacts } from './target.ts'
import { MiB } from './units.ts'

const target: TargetFacts = { sources: [], pid: 7 }

/** A sample at `atMs` in cycle `numGC` (ended at `lastGCMs`), HeapAlloc and NextGC in MiB. */
function sample(atMs: number, numGC: number, heapAlloc: number, nextGC = 100, lastGCMs = 0) {
  const s: MemorySnapshot = snapshot({ atMs, rss: 200, runtime: { numGC, heapAlloc, nextGC } })
  assert.ok(s.runtime)
  s.runtime.lastGCMs = lastGCMs
  return s
}

const cycle = (endMs: number, samples: [number, number][], nextGC = 100 * MiB): GcCycle => ({
  numGC: 1,
  endMs,
  nextGC,
  samples: samples.map(([atMs, mib]) => ({ atMs, heapAlloc: mib * MiB })),
  timed: true,
  source: 'x',
})

test('groups samples by NumGC, with the collection end time from LastGC', () => {
  const { cycles, restarted } = gcCycles([
    sample(1000, 5, 60, 100, 900),
    sample(2000, 5, 80, 100, 900),
    sample(3000, 6, 55, 104, 2500),
  ])
  assert.equal(restarted, false)
  assert.deepEqual(
    cycles.map(c => [c.numGC, c.endMs, c.samples.length]),
    [
      [5, 900, 2],
      [6, 2500, 1],
    ],
  )
})

test('keeps only the cycles after NumGC goes backwards (a restart)', () => {
  const { cycles, restarted } = gcCycles([
    sample(1000, 50, 60),
    sample(2000, 3, 20),
    sample(3000, 4, 22),
  ])
  assert.equal(restarted, true)
  assert.deepEqual(
    cycles.map(c => c.numGC),
    [3, 4],
  )
})

test('extrapolates the heap after GC back to LastGC along the allocation rate', () => {
  // Collection ended at 0; 10 MiB/s of allocation; 70 MiB at 1 s, 80 at 2 s: 60 MiB after GC.
  assert.deepEqual(
    heapAfterGc(
      cycle(0, [
        [1000, 70],
        [2000, 80],
      ]),
    ),
    { bytes: 60 * MiB, method: 'extrapolated', extrapolatedMs: 1000 },
  )
  // One sample: only the lowest HeapAlloc, an upper bound.
  assert.deepEqual(heapAfterGc(cycle(0, [[1000, 70]])), {
    bytes: 70 * MiB,
    method: 'lowest HeapAlloc',
  })
  // Falling within a cycle (sweeping) gives no rate.
  assert.equal(
    heapAfterGc(
      cycle(0, [
        [1000, 90],
        [2000, 80],
      ]),
    ).method,
    'lowest HeapAlloc',
  )
})

test('with TotalAlloc, the heap after GC is what was allocated by its end less what was freed since', () => {
  // Collection ended at 0; 256 MiB/s allocated; 70 MiB left live. Read 6 ms after it, sweeping
  // had freed only part of the garbage (HeapAlloc 322); by 2 s all of it: 70 + 256 × 2 = 582.
  const swept = cycle(0, [], 752 * MiB)
  swept.samples = [
    { atMs: 6, heapAlloc: 322 * MiB, totalAlloc: (2000 + 256 * 0.006) * MiB },
    { atMs: 2000, heapAlloc: 582 * MiB, totalAlloc: (2000 + 512) * MiB },
  ]
  const after = heapAfterGc(swept)
  assert.equal(after.method, 'extrapolated')
  assert.ok(Math.abs(after.bytes - 70 * MiB) < 1024, String(after.bytes / MiB))
  // HeapAlloc's own rise would have given 321 MiB: what the samples without TotalAlloc give.
  for (const s of swept.samples) delete s.totalAlloc
  assert.ok(heapAfterGc(swept).bytes > 320 * MiB)
})

test('measures GOGC near 1000 on a real capture whose first sample was read while sweeping', async () => {
  // go1.26.8, memsick gc-heap-goal, diagnose --interval 2s: the first sample was read 6 ms after
  // a collection, before sweeping had freed its garbage; measured from HeapAlloc's rise, the
  // multiple was 2.3 and the diagnosis "healthy".
  const dir = fileURLToPath(
    new URL('../../testdata/gc-cycles/go1.26-read-while-sweeping', import.meta.url),
  )
  const { captures } = await readCaptureDir(dir)
  const measured = measuredGoalRatio(gcCycles(assemble(captures).series).cycles)
  assert.equal(measured?.method, 'extrapolated')
  assert.ok(measured && measured.ratio > 9 && measured.ratio < 12, JSON.stringify(measured))
})

test('measures NextGC ÷ heap after GC, and says when it is only a lower bound', () => {
  const extrapolated = measuredGoalRatio([
    cycle(
      0,
      [
        [1000, 70],
        [2000, 80],
      ],
      600 * MiB,
    ),
  ])
  assert.equal(extrapolated?.ratio, 10)
  assert.equal(extrapolated?.method, 'extrapolated')
  const bound = measuredGoalRatio([
    cycle(0, [[1000, 150]], 600 * MiB),
    cycle(0, [[1000, 120]], 600 * MiB),
  ])
  assert.equal(bound?.ratio, 5)
  assert.equal(bound?.method, 'at least')
})

test('cycles read soon after their collection weigh more than those followed back far', () => {
  // Heap after GC 100 MiB in each; 400 MiB/s. A cycle first read 20 ms after its collection
  // gives a multiple of 5; two first read 300 ms after, with rates that came out wrong, give
  // 6.25 and 8.33. Their plain median would be 6.25: the error × 300 ms outvotes the 20 ms read.
  const nearly = cycle(
    0,
    [
      [20, 108],
      [120, 148],
    ],
    500 * MiB,
  )
  const far = (heapAfter: number) =>
    cycle(
      0,
      [
        [300, heapAfter + 120],
        [400, heapAfter + 160],
      ],
      500 * MiB,
    )
  const measured = measuredGoalRatio([far(80), nearly, far(60)])
  assert.equal(measured?.method, 'extrapolated')
  assert.ok(measured && Math.abs(measured.ratio - 5) < 1e-9, JSON.stringify(measured))
})

test('without a cycle sampled twice, measures the multiple from what was allocated between cycles', () => {
  // A steady heap: 100 MiB after each GC, a goal of 500, so every cycle allocates 400 MiB. One
  // sample a cycle, three collections between samples; HeapAlloc wherever the sample fell.
  const heapAllocs = [180, 420, 260, 330]
  const cycles: GcCycle[] = heapAllocs.map((mib, i) => ({
    numGC: 10 + 3 * i,
    endMs: i * 1000 - 100,
    nextGC: 500 * MiB,
    // TotalAlloc: 3 cycles of 400 MiB between samples, plus where in its cycle each sample is.
    samples: [{ atMs: i * 1000, heapAlloc: mib * MiB, totalAlloc: (i * 1200 + mib - 100) * MiB }],
    timed: true,
    source: 'x',
  }))
  const measured = measuredGoalRatio(cycles)
  assert.equal(measured?.method, 'allocated')
  assert.equal(measured?.ratio, 5)
  assert.equal(measured?.heapAfterGc, 100 * MiB)
  // Without TotalAlloc, only the lower bound from the lowest HeapAlloc remains.
  for (const c of cycles) for (const s of c.samples) delete s.totalAlloc
  assert.deepEqual(
    [measuredGoalRatio(cycles)?.method, measuredGoalRatio(cycles)?.ratio],
    ['at least', 500 / 180],
  )
})

test('reads GOGC from the environment first, then the default, then a measured multiple', () => {
  const steady = [
    cycle(
      0,
      [
        [1000, 70],
        [2000, 80],
      ],
      120 * MiB,
    ),
  ]
  const high = [
    cycle(
      0,
      [
        [1000, 70],
        [2000, 80],
      ],
      660 * MiB,
    ),
  ]
  assert.equal(goalRatio(high, { ...target, gogc: '200' }).ratio, 3)
  assert.equal(goalRatio(high, { ...target, gogc: '200' }).source, '/proc/7/environ')
  assert.deepEqual([goalRatio(steady, target).ratio, goalRatio(steady, target).derived], [2, false])
  assert.deepEqual([goalRatio(high, target).ratio, goalRatio(high, target).derived], [11, true])
  assert.match(goalRatio(high, target).how, /GOGC about 1000, set in code/)
})

test('parses GOGC as the runtime does: off, negative, numbers', () => {
  assert.equal(gogcFromEnviron({ ...target, gogc: 'off' }), 'off')
  assert.equal(gogcFromEnviron({ ...target, gogc: '-1' }), 'off')
  assert.equal(gogcFromEnviron({ ...target, gogc: '400' }), 400)
  assert.equal(gogcFromEnviron(target), undefined)
})

test('recognises the unbounded goal of a collector turned off', () => {
  const runtime = sample(0, 1, 10).runtime
  assert.ok(runtime)
  assert.equal(gcIsOff(runtime), false)
  // What go1.19 reported after debug.SetGCPercent(-1), measured on memsick.
  assert.equal(gcIsOff({ ...runtime, nextGC: Number('9223372036842154959') }), true)
})

test('measures GOGC near 1000 on the real gc-heap-goal capture, 2 on its control', async () => {
  const high = measuredGoalRatio(
    gcCycles((await loadCapture(`${GO119}/gc-heap-goal`)).series).cycles,
  )
  assert.ok(high && high.ratio > 7 && high.ratio <= 11.5, JSON.stringify(high))
  const control = measuredGoalRatio(
    gcCycles((await loadCapture(`${GO119}/gc-heap-goal-control`)).series).cycles,
  )
  assert.ok(control && control.ratio > 1.5 && control.ratio < 2.5, JSON.stringify(control))
})

test('a cycle shorter than the interval is measured from the follow-up reads inside it', async () => {
  // memsick gc-heap-goal with SetGCPercent(400) (a true 5) and 1 GiB/s of garbage beside three
  // busy loops, go1.19.8: 0.25 s cycles, so no tick reads one twice. Each tick after the first
  // has four to six follow-up reads (expvar.2 …). From the ticks alone, what the cycles between
  // them allocated gave 2.71, below the finding's 3: "healthy".
  const dir = fileURLToPath(new URL('../../testdata/gc-cycles/go1.19-fast-cycles', import.meta.url))
  const { captures } = await readCaptureDir(dir)
  const { series } = assemble(captures)
  assert.equal(series.length, 5, 'the follow-ups belong to their tick')
  assert.ok(series.slice(1).every(s => (s.runtimeFollowUps?.length ?? 0) >= 4))
  assert.equal(series[0]?.runtimeFollowUps, undefined, 'the first tick has no last tick to go by')
  const measured = measuredGoalRatio(gcCycles(series, { followUps: true }).cycles)
  assert.equal(measured?.method, 'extrapolated')
  assert.ok(measured && measured.ratio > 4 && measured.ratio < 6, JSON.stringify(measured))
  const fromTicks = measuredGoalRatio(gcCycles(series).cycles)
  assert.equal(fromTicks?.method, 'allocated')
  assert.ok(fromTicks && fromTicks.ratio < 3, JSON.stringify(fromTicks))
})
