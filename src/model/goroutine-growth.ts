import type { Edges } from './edges.ts'
import { bucketGoroutines, type GoroutineBucket } from './goroutine-buckets.ts'
import type { GoroutineDump, GoroutineForm } from './goroutines.ts'

/**
 * Where a goroutine leak grows: the stack groups of the goroutine dumps at the window's edges
 * compared (as growing-sites.ts compares heap profiles), and the wait the growing group is parked
 * in, read off its stack.
 *
 * ?debug=1 dumps hide the leading runtime frames, so a goroutine parked on a channel there shows
 * only its user frame: "channel or select" is all such a dump can say. The proto and ?debug=2
 * forms tell which.
 *
 * Reference: go/src/runtime/runtime2.go waitReasonStrings (go1.19).
 */

/** The stack group whose count grew most between two dumps. */
export interface GrowingGroup {
  /** The group's largest bucket in the last dump (its stack, state and wait). */
  bucket: GoroutineBucket
  /**
   * Goroutines parked at the group's call lines in the first dump (0 when absent) and in the
   * last, whoever created them.
   */
  start: number
  end: number
  /** The last dump's form: it decides what the wait reason and wait minutes can say. */
  form: GoroutineForm
  /** Where the last dump was read. */
  source: string
  /** What the group waits for, as waitReasonOf reads it. */
  waitReason: string
}

/** The innermost frames that say what a goroutine waits for, as Go names the wait. */
const WAIT_FRAMES: readonly [RegExp, string][] = [
  [/^runtime\.chanrecv/, 'chan receive'],
  [/^runtime\.chansend/, 'chan send'],
  [/^runtime\.selectgo$/, 'select'],
  [/^runtime\.block$/, 'select (no cases)'],
  [/^sync\.runtime_notifyListWait$/, 'sync.Cond.Wait'],
  [/^sync\.runtime_Semacquire/, 'semacquire'],
  [/^internal\/poll\.runtime_pollWait$/, 'IO wait'],
  [/^time\.Sleep$/, 'sleep'],
]

/** What a ?debug=1 dump allows to say of a goroutine parked directly in user code. */
export const DEBUG1_CHANNEL = 'channel or select'

/** The wait reason Go printed, or one read from the stack; for sync waits, the sync call too. */
export function waitReasonOf(bucket: GoroutineBucket, form: GoroutineForm): string {
  if (bucket.state) return bucket.state
  for (const [i, frame] of bucket.frames.entries()) {
    const known = WAIT_FRAMES.find(([pattern]) => pattern.test(frame.func))?.[1]
    if (known === 'semacquire') {
      // The outermost sync frame of the run names the API: sync.(*Mutex).Lock, (*WaitGroup).Wait.
      let api = ''
      for (const f of bucket.frames.slice(i)) {
        if (!f.func.startsWith('sync.')) break
        api = f.func
      }
      return api ? `semacquire (${api})` : known
    }
    if (known) return known
  }
  // ?debug=1 drops the leading runtime frames; user code parked directly is a channel or select.
  return form === 'debug=1' ? DEBUG1_CHANNEL : 'unknown'
}

/** The stack group whose count grew most between the two dumps (same state and call lines);
 * undefined without a first dump, or when no group grew. */
export function growingGroup(dumps: Edges<GoroutineDump> | undefined): GrowingGroup | undefined {
  if (!dumps?.first) return undefined
  const before = groupsByCallSite(dumps.first)
  let best: { bucket: GoroutineBucket; start: number; end: number } | undefined
  for (const [key, { bucket, count }] of groupsByCallSite(dumps.last)) {
    const start = before.get(key)?.count ?? 0
    if (count - start > (best ? best.end - best.start : 0)) best = { bucket, start, end: count }
  }
  if (!best) return undefined
  const form = dumps.last.form
  return { ...best, form, source: dumps.source, waitReason: waitReasonOf(best.bucket, form) }
}

/**
 * A dump's buckets summed by wait state and call lines, not arguments or creator: leaked
 * goroutines differ in an id or a buffer they were handed, and may be started from two places,
 * but park at one line. Each keeps its largest bucket to show.
 */
function groupsByCallSite(
  dump: GoroutineDump,
): Map<string, { bucket: GoroutineBucket; count: number }> {
  const groups = new Map<string, { bucket: GoroutineBucket; count: number }>()
  for (const bucket of bucketGoroutines(dump).buckets) {
    const key = `${bucket.state}|${bucket.frames.map(f => `${f.func}@${f.file}:${f.line}`).join(',')}`
    const group = groups.get(key)
    if (!group) groups.set(key, { bucket, count: bucket.count })
    else {
      group.count += bucket.count
      if (bucket.count > group.bucket.count) group.bucket = bucket
    }
  }
  return groups
}
