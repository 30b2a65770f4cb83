/**
 * diagnose's window extension. Under GOGC=100 a growing heap doubles its goal each cycle, so the
 * fastest leaks show the fewest collections, and a window can end one collection short of a
 * judgement. When it does, diagnose samples on until the next collection has been seen (expected
 * where HeapAlloc meets NextGC at the allocation rate), re-judging at each expected time, and
 * never past --max-duration. Each re-judgement is a whole diagnosis of the window so far, so they
 * happen once per expected collection (again, re-estimated, when it runs late), not every tick.
 */

import type { Diagnosis } from '../model/diagnosis.ts'
import { formatDuration } from '../model/units.ts'
import type { Collection } from '../sources/collect.ts'
import type { ProgressLine } from './progress.ts'

export interface GcWaitOptions {
  durationMs: number
  maxDurationMs: number
  intervalMs: number
  /** The diagnosis of the window so far. */
  diagnose(run: Collection): Diagnosis
  progress: ProgressLine
}

export interface GcWait {
  /** collect()'s extendWhile. */
  extendWhile(run: Collection, windowMs: number): boolean
  /** While waiting, the progress line's text; undefined before and after. */
  status(windowMs: number): string | undefined
  /** What the run's notes should say about the wait, if there was one. */
  note(): string | undefined
}

/**
 * With no expected time (an idle heap whose forced collection is unknown), judge again after this
 * many samples: each judgement assembles the whole window.
 */
const UNKNOWN_WAIT_SAMPLES = 5

export function gcWait(options: GcWaitOptions): GcWait {
  const { durationMs, maxDurationMs, intervalMs } = options
  /** The window length up to which sampling goes on without judging again. */
  let until = durationMs
  let waitingFor: string[] | undefined
  let waited = false
  let ended: 'judged' | 'cap' | undefined
  const cap = formatDuration(maxDurationMs)
  return {
    extendWhile(run, windowMs) {
      if (windowMs > maxDurationMs) {
        if (waitingFor) ended = 'cap'
        waitingFor = undefined
        return false
      }
      if (windowMs <= until) return true
      const awaiting = options.diagnose(run).awaitingGc
      if (!awaiting) {
        if (waitingFor) ended = 'judged'
        waitingFor = undefined
        return false
      }
      // The collection must end, then one sample must land in the cycle it opens. A cycle that
      // runs late is judged again with a fresh estimate, from the samples taken meanwhile.
      const expectedMs = (awaiting.inMs ?? UNKNOWN_WAIT_SAMPLES * intervalMs) + intervalMs
      until = Math.min(maxDurationMs, windowMs + expectedMs)
      if (!waitingFor) {
        const due =
          awaiting.inMs === undefined ? '' : `, due in about ${formatDuration(awaiting.inMs)}`
        options.progress.say(
          `gomemdoctor: ${awaiting.detectors.join(', ')} ${awaiting.detectors.length === 1 ? 'is' : 'are'} one GC cycle short of a judgement after ${formatDuration(durationMs)}; sampling on until the next collection${due} (at most ${cap}: --max-duration)`,
        )
      }
      waitingFor = awaiting.detectors
      waited = true
      return true
    },
    status(windowMs) {
      if (!waitingFor) return undefined
      return `waiting for one more GC cycle (${waitingFor.join(', ')}) · ${formatDuration(windowMs)} of at most ${cap}`
    },
    note() {
      if (!waited) return undefined
      const asked = `sampled past --duration ${formatDuration(durationMs)} for one more GC cycle`
      if (ended === 'judged') return `${asked}, and saw it (at most ${cap}: --max-duration)`
      if (ended === 'cap') return `${asked}, up to --max-duration ${cap}, and none came`
      return `${asked}; the wait was cut short`
    },
  }
}
