import type { Edges } from './edges.ts'
import { bucketGoroutines, type GoroutineBucket } from './goroutine-buckets.ts'
import { waitReasonOf } from './goroutine-growth.ts'
import type { GoroutineDump } from './goroutines.ts'

/**
 * What the goroutine leak profile (Go 1.27; 1.26 with GOEXPERIMENT=goroutineleakprofile) says at
 * the window's edges: how many goroutines the runtime proved can never wake, and where most of
 * them are parked. Each count is one GC cycle's detection, so it is exact for that instant:
 * unlike a count that rises, it needs no trend to tell a leak from load.
 *
 * Blind spot (go1.26 release notes): a primitive reachable through a global, or through a
 * runnable goroutine's locals, is not leaked to the runtime even when nothing will ever use it.
 */
export interface LeakedGoroutines {
  /** Leaked at the window's start, when the profile was read there. */
  start?: number
  end: number
  /** The largest stack group of the last profile; absent when none leaked. */
  bucket?: GoroutineBucket
  /** What that group waits on, read off its stack (the proto keeps runtime.chanrecv1). */
  waitReason?: string
  /** Where the last profile was read. */
  source: string
  /** Where the first was read, when it was. */
  startSource?: string
}

export function leakedGoroutines(leaks: Edges<GoroutineDump>): LeakedGoroutines {
  const result: LeakedGoroutines = { end: leaks.last.total, source: leaks.source }
  if (leaks.first) {
    result.start = leaks.first.total
    result.startSource = leaks.first.source
  }
  const bucket = bucketGoroutines(leaks.last).buckets[0]
  if (bucket) {
    result.bucket = bucket
    result.waitReason = waitReasonOf(bucket, leaks.last.form)
  }
  return result
}
