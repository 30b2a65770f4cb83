/**
 * The memory cgroup files, v1 (`/sys/fs/cgroup/memory/<path>/`) and v2 (`<mount>/<path>/`).
 * Two shapes: flat-keyed files, one `key value` per line, and single-value files.
 *
 *   total_rss 105443328            memory.stat (v1; v2 says `anon 105443328`)
 *   oom_kill 1                     memory.oom_control (v1); v2 memory.events has `oom_kill 1` too
 *   9223372036854771712            memory.limit_in_bytes (v1, no limit); v2 memory.max says `max`
 *
 * All amounts are bytes. toCgroupMemory turns one tick's files into the model's CgroupMemory.
 *
 * Reference: Documentation/admin-guide/cgroup-v1/memory.rst (Linux v6.1), 5.2 "stat file" and
 * 10 "OOM Control"; Documentation/admin-guide/cgroup-v2.rst (Linux v6.1), "Memory Interface Files".
 */
import { InputError } from '../../errors.ts'
import type { CgroupMemory } from '../../model/snapshot.ts'
import { type CaptureKind, captureText, type RawCapture } from '../capture.ts'
import type { Format } from './format.ts'
import { excerpt, firstLine, rejectNonText } from './proc-status.ts'

/** A flat-keyed file: memory.stat, memory.events, memory.oom_control. */
export type FlatKeyed = Readonly<Record<string, number>>

/**
 * v1 writes PAGE_COUNTER_MAX × page size, rounded down to a page: 9223372036854771712 with 4 KiB
 * pages, a little less with 64 KiB ones. No real limit comes near 2^62 bytes (4 EiB).
 */
const UNLIMITED_FROM = 2 ** 62

export const cgroupMemoryStat: Format<FlatKeyed> = {
  kind: 'cgroup-memory-stat',
  // v1 starts with `cache`, v2 with `anon`; neither has changed since the files appeared.
  sniff: head => /^(cache|anon) \d+$/.test(firstLine(head)),
  parse: capture => parseFlatKeyed(capture, 'memory.stat'),
}

/** v2 memory.events, or v1 memory.oom_control: both carry `oom_kill`, so one kind holds both. */
export const cgroupMemoryEvents: Format<FlatKeyed> = {
  kind: 'cgroup-memory-events',
  sniff: head => /^(low|oom_kill_disable) \d+$/.test(firstLine(head)),
  parse: capture => parseFlatKeyed(capture, 'memory.events or memory.oom_control'),
}

// Content cannot tell memory.current from memory.max (when set) or memory.failcnt: all are one
// number. These sniffers accept any single number; the file name decides (transports know it).

/** memory.usage_in_bytes (v1) or memory.current (v2). */
export const cgroupMemoryUsage: Format<number> = {
  kind: 'cgroup-memory-usage',
  sniff: head => /^\d+\n?$/.test(head),
  parse: capture => parseSingleValue(capture, 'memory.current or memory.usage_in_bytes'),
}

/** memory.limit_in_bytes (v1) or memory.max (v2); undefined means no limit. */
export const cgroupMemoryLimit: Format<number | undefined> = {
  kind: 'cgroup-memory-limit',
  sniff: head => /^(\d+|max)\n?$/.test(head),
  parse: capture => {
    const what = 'memory.max or memory.limit_in_bytes'
    if (captureText(capture).trim() === 'max') return undefined
    const limit = parseSingleValue(capture, what)
    return limit >= UNLIMITED_FROM ? undefined : limit
  },
}

/** memory.failcnt (v1 only): how many times usage hit the limit. */
export const cgroupMemoryFailcnt: Format<number> = {
  kind: 'cgroup-memory-failcnt',
  sniff: head => /^\d+\n?$/.test(head),
  parse: capture => parseSingleValue(capture, 'memory.failcnt'),
}

/** Which format reads a memory cgroup file, by its name (for the single-value files, by name only). */
export const CGROUP_MEMORY_FILES: Readonly<Record<string, CaptureKind>> = {
  'memory.stat': 'cgroup-memory-stat',
  'memory.usage_in_bytes': 'cgroup-memory-usage',
  'memory.current': 'cgroup-memory-usage',
  'memory.limit_in_bytes': 'cgroup-memory-limit',
  'memory.max': 'cgroup-memory-limit',
  'memory.failcnt': 'cgroup-memory-failcnt',
  'memory.events': 'cgroup-memory-events',
  'memory.oom_control': 'cgroup-memory-events',
}

/** One tick's parsed cgroup files, as toCgroupMemory takes them. */
export interface CgroupMemoryParts {
  usage: number
  /** undefined: no limit. */
  limit?: number | undefined
  stat?: FlatKeyed
  /** memory.events (v2) or memory.oom_control (v1). */
  events?: FlatKeyed
  /** memory.failcnt (v1 only). */
  failcnt?: number
}

/**
 * The model's view of one tick. v1 reads the `total_` (hierarchical) counters, which match
 * memory.usage_in_bytes; v2's counters are hierarchical already. `source` is the cgroup
 * directory, named in evidence.
 */
export function toCgroupMemory(
  version: 1 | 2,
  parts: CgroupMemoryParts,
  source: string,
): CgroupMemory {
  const { stat = {}, events = {} } = parts
  const memory: CgroupMemory = { source, version, usage: parts.usage }
  const limit = version === 1 ? effectiveV1Limit(parts.limit, stat) : parts.limit
  if (limit !== undefined) memory.limit = limit
  const keys =
    version === 1
      ? {
          anon: 'total_rss',
          file: 'total_cache',
          inactiveFile: 'total_inactive_file',
          activeFile: 'total_active_file',
        }
      : { anon: 'anon', file: 'file', inactiveFile: 'inactive_file', activeFile: 'active_file' }
  for (const [name, key] of Object.entries(keys)) {
    const value = stat[key]
    if (value !== undefined) memory[name as keyof typeof keys] = value
  }
  const limitHits = version === 1 ? parts.failcnt : events.max
  if (limitHits !== undefined) memory.limitHits = limitHits
  // oom_control gained oom_kill in Linux 4.13; before that, v1 cannot count kills.
  const oomKills = events.oom_kill
  if (oomKills !== undefined) memory.oomKills = oomKills
  return memory
}

/** File names that only one cgroup version has. */
const V1_FILES = new Set([
  'memory.usage_in_bytes',
  'memory.limit_in_bytes',
  'memory.oom_control',
  'memory.failcnt',
])
const V2_FILES = new Set(['memory.current', 'memory.max', 'memory.events'])

/**
 * One tick's cgroup captures (any of the five kinds, any order) to a CgroupMemory. The version
 * comes from the file names in the origins, else from content (v1 memory.stat starts with
 * `cache`, v2 with `anon`). Undefined when there is no usage capture: its read failure is
 * already a gap, and CgroupMemory cannot exist without usage. Throws InputError on a broken file
 * or on v1 and v2 files mixed.
 */
export function cgroupFromCaptures(captures: readonly RawCapture[]): CgroupMemory | undefined {
  const parts: Partial<CgroupMemoryParts> = {}
  const versions = new Set<1 | 2>()
  let source: string | undefined
  for (const capture of captures) {
    const name = capture.origin.slice(capture.origin.lastIndexOf('/') + 1)
    if (V1_FILES.has(name)) versions.add(1)
    if (V2_FILES.has(name)) versions.add(2)
    switch (capture.kind) {
      case 'cgroup-memory-usage':
        parts.usage = cgroupMemoryUsage.parse(capture)
        source =
          capture.origin.slice(0, Math.max(capture.origin.lastIndexOf('/'), 0)) || capture.origin
        break
      case 'cgroup-memory-limit':
        parts.limit = cgroupMemoryLimit.parse(capture)
        break
      case 'cgroup-memory-stat':
        parts.stat = cgroupMemoryStat.parse(capture)
        if ('cache' in parts.stat || 'total_rss' in parts.stat) versions.add(1)
        else if ('anon' in parts.stat) versions.add(2)
        break
      case 'cgroup-memory-events':
        parts.events = cgroupMemoryEvents.parse(capture)
        if ('oom_kill_disable' in parts.events) versions.add(1)
        else if ('low' in parts.events) versions.add(2)
        break
      case 'cgroup-memory-failcnt':
        parts.failcnt = cgroupMemoryFailcnt.parse(capture)
        versions.add(1)
        break
      default:
        throw new InputError(
          `${capture.origin}: a ${capture.kind} capture is not a memory cgroup file`,
        )
    }
  }
  const { usage } = parts
  if (usage === undefined || source === undefined) return undefined
  if (versions.size !== 1) {
    const why =
      versions.size === 0 ? 'cannot tell cgroup v1 from v2' : 'cgroup v1 and v2 files mixed'
    throw new InputError(`${source}: ${why} among ${captures.map(c => c.origin).join(', ')}`)
  }
  const [version = 1] = versions
  return toCgroupMemory(version, { ...parts, usage }, source)
}

/**
 * In v1 a parent's limit binds its children, and a child's own file still says "unlimited".
 * memory.stat's hierarchical_memory_limit is the smallest limit on the path, so it wins.
 */
function effectiveV1Limit(own: number | undefined, stat: FlatKeyed): number | undefined {
  const inherited = stat.hierarchical_memory_limit
  const candidates = [own, inherited].filter(
    (limit): limit is number => limit !== undefined && limit < UNLIMITED_FROM,
  )
  return candidates.length === 0 ? undefined : Math.min(...candidates)
}

/** `key value` lines; values are integers (bytes or event counts). */
function parseFlatKeyed(capture: RawCapture, what: string): FlatKeyed {
  const { origin } = capture
  const text = captureText(capture)
  rejectNonText(text, origin, what)
  // A null prototype: a key named __proto__ is data, not a prototype change.
  const values: Record<string, number> = Object.create(null)
  const lines = text.split('\n')
  for (const [index, line] of lines.entries()) {
    if (line === '' && index === lines.length - 1) break
    // At most 20 digits (a u64): a longer run would read as Infinity.
    const match = /^([a-z0-9_]+) (-?\d{1,20})$/.exec(line)
    if (!match) {
      const problem = /^[a-z0-9_]+$/.test(line) ? 'has no value' : 'is not "key <integer>"'
      throw new InputError(`${origin}:${index + 1}: ${excerpt(line)} ${problem} (${what})`)
    }
    values[match[1] ?? ''] = Number(match[2])
  }
  return values
}

/** A file holding one non-negative integer and a newline. */
function parseSingleValue(capture: RawCapture, what: string): number {
  const { origin } = capture
  const text = captureText(capture)
  rejectNonText(text, origin, what)
  const value = text.trim()
  if (!/^\d{1,20}$/.test(value)) throw new InputError(`${origin}: not ${what}: ${excerpt(value)}`)
  return Number(value)
}
