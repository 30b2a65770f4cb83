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

/** What makes a bucket, compared exactly when two keys hash alike. */
interface BucketKey {
  stateId: number
  locked: boolean
  created: number
  levels: number[]
  bucket: GoroutineBucket
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

  // A bucket's key: its state (and locked flag, when exact), its frames' ids at this level and
  // its creator's, hashed to a number and compared exactly on a hit; string keys built from
  // every goroutine's frames cost 200k goroutines ~90 ms.
  const buckets: GoroutineBucket[] = []
  const byHash = new Map<number, BucketKey[]>()
  const stateIds = new Map<string, number>()
  for (const r of dump.records) {
    let stateId = stateIds.get(r.state)
    if (stateId === undefined) {
      stateId = stateIds.size
      stateIds.set(r.state, stateId)
    }
    const locked = similarity === 'exact' && r.locked
    const created = r.createdBy < 0 ? -1 : (frameLevel[r.createdBy] as number)
    let hash = Math.imul(stateId * 2 + (locked ? 1 : 0), 0x9e3779b1) ^ r.frames.length
    for (const f of r.frames) hash = Math.imul(hash ^ (frameLevel[f] as number), 0x85ebca6b)
    hash = Math.imul(hash ^ (created + 1), 0xc2b2ae35)
    const candidates = byHash.get(hash)
    let bucket: GoroutineBucket | undefined
    for (const k of candidates ?? []) {
      if (k.stateId !== stateId || k.locked !== locked || k.created !== created) continue
      if (k.levels.length !== r.frames.length) continue
      let same = true
      for (let i = 0; i < k.levels.length && same; i++)
        same = k.levels[i] === frameLevel[r.frames[i] as number]
      if (same) {
        bucket = k.bucket
        break
      }
    }
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
    const createdBy = r.createdBy < 0 ? undefined : levelFrames[created]
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
    if (createdBy) fresh.createdBy = createdBy
    if (site) fresh.site = site
    buckets.push(fresh)
    const key = {
      stateId,
      locked,
      created,
      levels: r.frames.map(f => frameLevel[f] as number),
      bucket: fresh,
    }
    if (candidates) candidates.push(key)
    else byHash.set(hash, [key])
  }
  // Stable: buckets equal in count, state and site stay in the order they were first seen.
  const sorted = buckets.sort(
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
