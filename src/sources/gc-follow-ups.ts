import type { RawCapture } from './capture.ts'
import { parseRuntimeView } from './formats/index.ts'

/**
 * Follow-up reads of the runtime view for GC cycles shorter than the sampling interval. A cycle
 * read once shows the heap goal its collection set but not the heap that collection left: for
 * that gcCycles needs two reads inside the cycle, one soon after its collection (what had been
 * allocated by then) and one after sweeping has freed the collection's garbage (what is freed).
 * Ticks a second apart never read a 0.25 s cycle twice. From those alone, what the cycles
 * between two ticks allocated gives the goal's multiple only roughly: for memsick's GOGC 400
 * (a true 5) beside three busy loops, 3.0–4.9 in 12 runs on go1.19.8 (CI once read "healthy"),
 * since the goals of the cycles nobody read swing (332–688 MiB). So when two ticks saw two or
 * more collections between them, the tick reads the view up to FOLLOW_UP_READS more times, a
 * quarter of a cycle apart: some cycle is then read near its start and again well after, past its
 * sweeping (done 50–75 ms into a 0.25 s cycle under load, from reads every 15 ms). With them,
 * 4.28–5.08 in 12 runs on the same machine (both by hand, a loop of `diagnose PID`), and 4.31–5.99 in 36 runs on the three Gos, idle and
 * under load (bench/gc-multiple.bench.ts, 2026-12-08, reads dated midway to their answer).
 *
 * Each read costs the target one runtime.ReadMemStats (a stop-the-world of microseconds) or one
 * /metrics gather, so they are bounded: at most FOLLOW_UP_READS a tick, within half the interval,
 * and none when the runtime reports GOGC itself (/gc/gogc:percent), which leaves nothing to
 * measure.
 */

/** At most this many more reads a tick: a quarter cycle apart, they span a cycle and a half. */
export const FOLLOW_UP_READS = 6
/** Never closer than this: a read takes a few ms, and a GC-thrashing target needs no more. */
const MIN_GAP_MS = 10

/** What a tick's runtime view says about the GC clock. */
export interface GcClock {
  atMs: number
  numGC: number
}

/** The GC clock of a runtime view; undefined when it has none, or reports GOGC itself. */
export function gcClockOf(capture: RawCapture): GcClock | undefined {
  let runtime: ReturnType<typeof parseRuntimeView>['runtime']
  try {
    runtime = parseRuntimeView(capture).runtime
  } catch {
    // assemble() reports a view that does not parse; here it only means no follow-ups.
    return undefined
  }
  if (!runtime || runtime.gogcPercent !== undefined) return undefined
  return { atMs: capture.atMs, numGC: runtime.numGC }
}

/**
 * How far apart the follow-up reads go and how many, from the collections between the last two
 * ticks; undefined when fewer than two (the ticks read a cycle twice often enough themselves).
 */
export function followUpPlan(
  before: GcClock,
  now: GcClock,
  intervalMs: number,
): { gapMs: number; reads: number } | undefined {
  const collections = now.numGC - before.numGC
  const spanMs = now.atMs - before.atMs
  if (collections < 2 || !(spanMs > 0)) return undefined
  const gapMs = Math.max(MIN_GAP_MS, spanMs / collections / 4)
  const reads = Math.min(FOLLOW_UP_READS, Math.floor(intervalMs / 2 / gapMs))
  return reads < 1 ? undefined : { gapMs, reads }
}
