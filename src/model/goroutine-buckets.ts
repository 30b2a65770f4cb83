/**
 * Groups goroutines whose stacks are alike, the way panicparse does, so 10k goroutines parked at
 * the same line read as one bucket with a count. Similarity levels (panicparse's ExactLines,
 * AnyPointer, AnyValue):
 *   exact        same state, locked flag, calls, arguments and lines
 *   any-pointer  arguments that look like pointers may differ (panicparse's default)
 *   any-value    arguments are ignored (our default: leaked goroutines usually differ in an id
 *                or index argument too, and a leak is one bucket, not one per id)
 * The state (wait reason) is always part of the key; wait minutes become a min–max range.
 *
 * Linear: each distinct frame is normalised once, then a goroutine's key is its state plus its
 * normalised frame numbers, looked up in one Map.
 */
import {
  type Frame,
  type GoroutineDump,
  type GoroutineForm,
  isStandardLibrary,
} from './goroutines.ts'

export type Similarity = 'exact' | 'any-pointer' | 'any-value'
export const SIMILARITIES: readonly Similarity[] = ['exact', 'any-pointer', 'any-value']

export interface GoroutineBucket {
  count: number
  state: string
  /** Wait minutes over the bucket's goroutines (0 when Go printed none). */
  minWaitMinutes: number
  maxWaitMinutes: number
  /** Goroutines in the bucket locked to their thread. */
  locked: number
  /** The first goroutine ids in the bucket (at most 10); empty in aggregated forms. */
  ids: number[]
  /** The stack, innermost first; arguments as the similarity level keeps them ('*' a pointer,
   * '…' any value). */
  frames: Frame[]
  createdBy?: Frame
  /** The first frame outside the standard library and runtime (else the first frame): the
   * function to name when this bucket grows. */
  site?: Frame
  elided: boolean
}

export interface GoroutineGroups {
  source: string
  form: GoroutineForm
  similarity: Similarity
  total: number
  declaredTotal?: number
  truncated?: string
  reason?: string
  /** Most goroutines first; ties by state, then site. */
  buckets: GoroutineBucket[]
}

const MAX_IDS = 10
/** panicparse's pointer floor: hex arguments at or above 1 MiB are taken for addresses. */
const POINTER_FLOOR = 0x100000

/** Arguments with pointer-like hex values replaced by '*'. */
export function maskPointers(args: string): string {
  return args.replace(/0x[0-9a-f]+/g, hex =>
    Number.parseInt(hex, 16) >= POINTER_FLOOR ? '*' : hex,
  )
}

export function bucketGoroutines(
  dump: GoroutineDump,
  similarity: Similarity = 'any-value',
): GoroutineGroups {
  // Each distinct frame → its id at this level (frames equal but for masked args share an id).
  const levelKeys = new Map<string, number>()
  const levelFrames: Frame[] = []
  const frameLevel = dump.frames.map(f => {
    const args =
      similarity === 'exact'
        ? f.args
        : similarity === 'any-pointer'
          ? maskPointers(f.args)
          : f.args === ''
            ? ''
            : '…'
    const key = `${f.func}(${args})${f.file}:${f.line}`
    let id = levelKeys.get(key)
    if (id === undefined) {
      id = levelFrames.length
      levelKeys.set(key, id)
      levelFrames.push({ ...f, args })
    }
    return id
  })

  const buckets = new Map<string, GoroutineBucket>()
  for (const r of dump.records) {
    let key = similarity === 'exact' && r.locked ? `${r.state}\0L` : r.state
    for (const f of r.frames) key += `,${frameLevel[f]}`
    key += `|${r.createdBy < 0 ? '' : frameLevel[r.createdBy]}`
    const bucket = buckets.get(key)
    if (bucket) {
      bucket.count += r.count
      if (r.waitMinutes < bucket.minWaitMinutes) bucket.minWaitMinutes = r.waitMinutes
      if (r.waitMinutes > bucket.maxWaitMinutes) bucket.maxWaitMinutes = r.waitMinutes
      if (r.locked) bucket.locked += r.count
      if (r.id >= 0 && bucket.ids.length < MAX_IDS) bucket.ids.push(r.id)
      bucket.elided ||= r.elided
      continue
    }
    const frames = r.frames.map(f => levelFrames[frameLevel[f] as number] as Frame)
    const created = r.createdBy < 0 ? undefined : levelFrames[frameLevel[r.createdBy] as number]
    const site = frames.find(f => !isStandardLibrary(f.func)) ?? frames[0]
    const fresh: GoroutineBucket = {
      count: r.count,
      state: r.state,
      minWaitMinutes: r.waitMinutes,
      maxWaitMinutes: r.waitMinutes,
      locked: r.locked ? r.count : 0,
      ids: r.id >= 0 ? [r.id] : [],
      frames,
      elided: r.elided,
    }
    if (created) fresh.createdBy = created
    if (site) fresh.site = site
    buckets.set(key, fresh)
  }
  const sorted = [...buckets.values()].sort(
    (a, b) =>
      b.count - a.count ||
      a.state.localeCompare(b.state) ||
      (a.site?.func ?? '').localeCompare(b.site?.func ?? ''),
  )
  const groups: GoroutineGroups = {
    source: dump.source,
    form: dump.form,
    similarity,
    total: dump.total,
    buckets: sorted,
  }
  if (dump.declaredTotal !== undefined) groups.declaredTotal = dump.declaredTotal
  if (dump.truncated !== undefined) groups.truncated = dump.truncated
  if (dump.reason !== undefined) groups.reason = dump.reason
  return groups
}
