/**
 * Goroutine stacks from any of the forms Go writes them in, as one shape: `debug=2` dumps, panic
 * and SIGQUIT tracebacks (one record per goroutine, with state and wait time), `debug=1` and the
 * proto profile (one record per distinct stack, with a count, no state). Frames are interned, so
 * 200k goroutines parked on the same few stacks cost one frame object per distinct call line.
 */
import type { Profile } from './heap-profile.ts'

/** One call on a stack. */
export interface Frame {
  /** 'main.leakyWorker', 'sync.(*Mutex).Lock', 'main.(*T).run.func1'. */
  func: string
  /** The text between the call's parentheses as Go printed it ('0xc000012345, {0x4b2c4e?, 0x5}',
   * '...' when inlined); '' when the form has no arguments (debug=1, proto). */
  args: string
  /** Source file; '' when unknown. */
  file: string
  /** Source line; 0 when unknown. */
  line: number
}

export type GoroutineForm = 'debug=2' | 'traceback' | 'debug=1' | 'proto'

/** One goroutine (debug=2, traceback) or one aggregated stack (debug=1, proto). */
export interface GoroutineRecord {
  /** Goroutines with this stack: 1 in the per-goroutine forms. */
  count: number
  /** The goroutine id; -1 in the aggregated forms. */
  id: number
  /** Wait reason or status as Go prints it ('chan receive', 'IO wait', 'running'); '' when unknown. */
  state: string
  /** Minutes blocked as Go printed them ("[chan receive, 12 minutes]"); 0 when not printed. */
  waitMinutes: number
  /** "locked to thread". */
  locked: boolean
  /** Indexes into GoroutineDump.frames, innermost first. */
  frames: number[]
  /** The `created by` call as a frame index, -1 when absent (the main goroutine). */
  createdBy: number
  /** Go printed "...additional frames elided..." (stacks deeper than 100 frames). */
  elided: boolean
}

export interface GoroutineDump {
  source: string
  form: GoroutineForm
  frames: Frame[]
  records: GoroutineRecord[]
  /** Goroutines in the records (sum of counts). */
  total: number
  /** The count the dump itself announces (debug=1 "total N"), when it does. */
  declaredTotal?: number
  /** Why the dump looks cut short (Go cuts debug=2 at 64 MiB mid-line, with no marker). */
  truncated?: string
  /** For a traceback: the first line saying why ("panic: …", "SIGQUIT: quit", "fatal error: …"). */
  reason?: string
}

/** Interns frames by their printed identity. */
export class FrameTable {
  readonly frames: Frame[] = []
  private readonly index = new Map<string, number>()

  /** `key` must identify the frame (e.g. its two printed lines without addresses). */
  intern(key: string, make: () => Frame): number {
    let i = this.index.get(key)
    if (i === undefined) {
      i = this.frames.length
      this.frames.push(make())
      this.index.set(key, i)
    }
    return i
  }
}

/**
 * A proto goroutine profile (/debug/pprof/goroutine) as records: one per sample, counted by its
 * value, inlined frames expanded innermost first. The proto form carries no states or arguments.
 */
export function goroutinesFromProfile(profile: Profile): GoroutineDump {
  const table = new FrameTable()
  const { functions, locations, samples } = profile
  const width = profile.sampleTypes.length
  const records: GoroutineRecord[] = []
  let total = 0
  for (let s = 0; s < samples.count; s++) {
    const count = samples.values[s * width] ?? 0
    const frames: number[] = []
    for (let i = samples.locationStart[s] ?? 0; i < (samples.locationStart[s + 1] ?? 0); i++) {
      const loc = samples.location[i] ?? 0
      const from = locations.lineStart[loc] ?? 0
      const to = locations.lineStart[loc + 1] ?? 0
      if (from === to) {
        const address = `0x${(locations.address[loc] ?? 0).toString(16)}`
        frames.push(table.intern(address, () => ({ func: address, args: '', file: '', line: 0 })))
      }
      for (let l = from; l < to; l++) {
        const fn = locations.lineFunction[l] ?? 0
        const func = functions.name[fn] ?? ''
        const file = functions.filename[fn] ?? ''
        const line = locations.lineNumber[l] ?? 0
        frames.push(
          table.intern(`${func}\n${file}:${line}`, () => ({ func, args: '', file, line })),
        )
      }
    }
    total += count
    records.push({
      count,
      id: -1,
      state: '',
      waitMinutes: 0,
      locked: false,
      frames,
      createdBy: -1,
      elided: false,
    })
  }
  return { source: profile.source, form: 'proto', frames: table.frames, records, total }
}

/** The package of a function name: 'net/http' for 'net/http.(*conn).serve'. */
export function packageOf(func: string): string {
  const slash = func.lastIndexOf('/')
  const dot = func.indexOf('.', slash + 1)
  return dot < 0 ? func : func.slice(0, dot)
}

/**
 * True for the Go standard library and runtime: the first path element has no dot ('sync',
 * 'net/http', 'runtime'), except package main. User code is what a leak report should name.
 */
export function isStandardLibrary(func: string): boolean {
  const pkg = packageOf(func)
  if (pkg === 'main') return false
  const first = pkg.split('/')[0] ?? ''
  return !first.includes('.')
}
