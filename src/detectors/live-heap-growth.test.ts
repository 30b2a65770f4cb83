import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { test } from 'node:test'
import { loadCapture } from '../../test/helpers/capture.ts'
import { snapshot } from '../../test/helpers/snapshots.ts'
import type { MemorySnapshot } from '../model/snapshot.ts'
import { MiB } from '../model/units.ts'
import { judgeGrowth } from './live-heap-growth.ts'

const target = { sources: [], pid: 1 }

/** Samples a second apart in one GC cycle (no collection), HeapAlloc in MiB. */
function oneCycle(heapAllocs: readonly number[]): MemorySnapshot[] {
  return heapAllocs.map((heapAlloc, i) => {
    const s = snapshot({
      atMs: 1_000_000 + i * 1000,
      rss: 300,
      runtime: { nextGC: 400, numGC: 7, heapAlloc },
    })
    assert.ok(s.runtime)
    s.runtime.lastGCMs = 990_000
    return s
  })
}

test('no collection: the bound on live growth starts after the start edge, whose profiles allocate in the target', () => {
  // 2.5 MiB between the first two samples (our heap and goroutine profiles), 35 KiB a sample after.
  const quiet = oneCycle([100, 102.5, 102.53, 102.57, 102.6, 102.63])
  assert.equal(judgeGrowth(quiet, target).kind, 'flat')
  // The same 2.5 MiB later in the window is the target's own allocation: no bound.
  const allocating = oneCycle([100, 100.03, 100.07, 102.57, 102.6, 102.63])
  assert.equal(judgeGrowth(allocating, target).kind, 'short')
  // HeapAlloc falling is the previous collection's sweep still freeing: allocation unknown.
  const sweeping = oneCycle([100, 100.5, 100.2, 100.3, 100.4])
  assert.equal(judgeGrowth(sweeping, target).kind, 'short')
})

test('short of cycles: the next collection is expected when HeapAlloc reaches NextGC', () => {
  const judged = judgeGrowth(oneCycle([100, 150, 200, 250]), target)
  assert.ok(judged.kind === 'short')
  assert.equal(judged.cycles, 1)
  // 50 MiB/s, 150 MiB to the 400 MiB goal: 3 s.
  assert.equal(judged.nextGcInMs, 3000)
  assert.equal(judged.rose, 100 * MiB)
})

// Every committed capture of a real process, on every Go it was captured on: heap-growth's own
// scenario grows, everything else does not; where a window was too short to judge, the answer
// says when the next collection is due, which is what diagnose waits for (--max-duration).
const CAPTURES = new URL('../../testdata/captures/', import.meta.url)
for (const build of readdirSync(CAPTURES)) {
  test(`${build}: only the heap-growth capture grows; a capture short of cycles names the next GC`, async () => {
    for (const scenario of readdirSync(new URL(`${build}/`, CAPTURES))) {
      const { series, target: facts, heapProfiles } = await loadCapture(`${build}/${scenario}`)
      const judged = judgeGrowth(series, facts, heapProfiles)
      if (scenario === 'heap-growth') {
        assert.ok(judged.kind === 'growing', `${scenario}: ${judged.kind}`)
        assert.equal(judged.test, 'rank')
        assert.ok(judged.witnesses.some(w => w.name === 'the heap profiles' && w.agrees))
      } else if (judged.kind === 'short') {
        assert.ok(judged.nextGcInMs !== undefined, `${scenario}: no next GC expected`)
      } else assert.equal(judged.kind, 'flat', scenario)
    }
  })
}
