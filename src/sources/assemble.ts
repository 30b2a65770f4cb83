import { messageOf } from '../errors.ts'
import type { Edges } from '../model/edges.ts'
import type { Gap } from '../model/finding.ts'
import { type GoroutineDump, goroutinesFromProfile } from '../model/goroutines.ts'
import type { Profile } from '../model/heap-profile.ts'
import type { MappingsSnapshot, ThpSettings } from '../model/mappings.ts'
import type { CgroupMemory, MemorySnapshot } from '../model/snapshot.ts'
import type { TargetFacts } from '../model/target.ts'
import type { CaptureSet, CaptureStream, RawCapture } from './capture.ts'
import { parseGoroutineText } from './formats/goroutine-text.ts'
import {
  cgroupFromCaptures,
  parseBuildInfo,
  parseEnviron,
  parseKernelRelease,
  parseProcCgroup,
  parseRollup,
  parseRuntimeView,
  parseStatus,
} from './formats/index.ts'
import { parsePprof } from './formats/pprof.ts'
import { parseGoroutineLeak } from './formats/pprof-goroutineleak.ts'
import { parsePprofIndex } from './formats/pprof-index.ts'
import { parseSmaps } from './formats/smaps.ts'
import { thpFromCaptures } from './formats/sysfs-thp.ts'

export interface Assembled {
  target: TargetFacts
  series: MemorySnapshot[]
  /** Captures that were read but could not be parsed, each named. */
  gaps: Gap[]
  heapProfiles?: Edges<Profile>
  goroutineDumps?: Edges<GoroutineDump>
  /** The goroutine leak profile at the edges: the goroutines the runtime proved leaked. */
  goroutineLeaks?: Edges<GoroutineDump>
  mappings?: Edges<MappingsSnapshot>
  thp?: ThpSettings
}

type EdgeKind = keyof typeof EDGE_PARSERS

/** Kinds read only at the window's start and end, and their parsers. */
const EDGE_PARSERS = {
  'pprof-heap': (c: RawCapture): Profile => parsePprof(c.bytes, c.origin),
  'goroutine-text': (c: RawCapture): GoroutineDump => parseGoroutineText(c.bytes, c.origin),
  'pprof-goroutine': (c: RawCapture): GoroutineDump =>
    goroutinesFromProfile(parsePprof(c.bytes, c.origin)),
  'pprof-goroutineleak': (c: RawCapture): GoroutineDump => parseGoroutineLeak(c),
  'proc-smaps': (c: RawCapture): MappingsSnapshot => parseSmaps(c),
}

/**
 * Turns raw captures into target facts and a snapshot series. Pure, and the one path for live
 * runs and replays alike, so a replay gives the same diagnosis as the run it recorded. A capture
 * that fails to parse becomes a gap naming it; the rest of its tick still counts.
 */
export function assemble(set: CaptureSet | CaptureStream): Assembled {
  const gaps: Gap[] = []
  const target = targetFacts(set, gaps)
  const series: MemorySnapshot[] = []
  // One pass: a stream's ticks can be read once. Of each edge kind the first and the last
  // capture are kept (unparsed) and parsed after the loop.
  const found = new Map<EdgeKind, { first: RawCapture; last?: RawCapture }>()
  for (const tick of set.ticks) {
    const snapshot: MemorySnapshot = { atMs: tick.atMs }
    const cgroupParts: RawCapture[] = []
    for (const capture of tick.captures) {
      try {
        switch (capture.kind) {
          case 'proc-status':
            snapshot.status = parseStatus(capture)
            break
          case 'smaps-rollup':
            snapshot.rollup = parseRollup(capture)
            break
          case 'expvar':
          case 'prom-text':
          case 'pprof-heap-text': {
            const view = parseRuntimeView(capture)
            if (view.runtime) {
              const runtime = { ...view.runtime, readAtMs: readAt(capture) }
              // The tick's first view is its sample; later ones are follow-up reads.
              if (!snapshot.runtime) snapshot.runtime = runtime
              else snapshot.runtimeFollowUps = [...(snapshot.runtimeFollowUps ?? []), runtime]
            }
            if (view.goroutines !== undefined) {
              snapshot.goroutines = { count: view.goroutines, source: capture.origin }
            }
            // Without /proc (a URL-only target), client_golang's process collector still tells RSS.
            if (view.rssBytes !== undefined && !tick.captures.some(c => c.kind === 'proc-status')) {
              snapshot.status = { source: capture.origin, vmRss: view.rssBytes }
            }
            break
          }
          case 'pprof-index':
            // /metrics' go_goroutines, when present, is read in the same tick and wins.
            snapshot.goroutines ??= {
              count: parsePprofIndex(capture).goroutines,
              source: capture.origin,
            }
            break
          case 'pprof-heap':
          case 'pprof-goroutine':
          case 'goroutine-text':
          case 'pprof-goroutineleak':
          case 'proc-smaps': {
            const seen = found.get(capture.kind)
            if (seen) seen.last = capture
            else found.set(capture.kind, { first: capture })
            break
          }
          default:
            if (capture.kind.startsWith('cgroup-memory-')) cgroupParts.push(capture)
        }
      } catch (error) {
        addParseGap(gaps, capture, error)
      }
    }
    if (cgroupParts.length > 0) {
      try {
        const cgroup: CgroupMemory | undefined = cgroupFromCaptures(cgroupParts)
        if (cgroup) snapshot.cgroup = cgroup
      } catch (error) {
        addParseGap(gaps, cgroupParts[0] as RawCapture, error)
      }
    }
    series.push(snapshot)
  }
  const assembled: Assembled = { target, series, gaps }
  const heapProfiles = edges(found, 'pprof-heap', gaps)
  if (heapProfiles) assembled.heapProfiles = heapProfiles
  // Live runs read the proto form; older captures and files saved by hand may hold text dumps.
  const goroutineDumps =
    edges(found, 'pprof-goroutine', gaps) ?? edges(found, 'goroutine-text', gaps)
  if (goroutineDumps) assembled.goroutineDumps = goroutineDumps
  const goroutineLeaks = edges(found, 'pprof-goroutineleak', gaps)
  if (goroutineLeaks) assembled.goroutineLeaks = goroutineLeaks
  const mappings = edges(found, 'proc-smaps', gaps)
  if (mappings) assembled.mappings = mappings
  try {
    const thp = thpFromCaptures(set.once.filter(c => c.kind === 'sysfs-thp'))
    if (thp) assembled.thp = thp
  } catch (error) {
    const first = set.once.find(c => c.kind === 'sysfs-thp')
    if (first) addParseGap(gaps, first, error)
  }
  return assembled
}

/** The first and last capture of an edge kind, parsed; a broken one becomes a gap. */
function edges<K extends EdgeKind>(
  found: ReadonlyMap<EdgeKind, { first: RawCapture; last?: RawCapture }>,
  kind: K,
  gaps: Gap[],
): Edges<ReturnType<(typeof EDGE_PARSERS)[K]>> | undefined {
  const seen = found.get(kind)
  const parse = EDGE_PARSERS[kind] as (c: RawCapture) => ReturnType<(typeof EDGE_PARSERS)[K]>
  const parsed: { value: ReturnType<(typeof EDGE_PARSERS)[K]>; origin: string }[] = []
  for (const capture of [seen?.first, seen?.last]) {
    if (!capture) continue
    try {
      parsed.push({ value: parse(capture), origin: capture.origin })
    } catch (error) {
      addParseGap(gaps, capture, error)
    }
  }
  const last = parsed.at(-1)
  if (!last) return undefined
  const result: Edges<ReturnType<(typeof EDGE_PARSERS)[K]>> = {
    last: last.value,
    source: last.origin,
  }
  if (parsed.length > 1 && parsed[0]) result.first = parsed[0].value
  return result
}

function targetFacts(set: CaptureSet | CaptureStream, gaps: Gap[]): TargetFacts {
  const facts: TargetFacts = { sources: [] }
  if (set.pid !== undefined) facts.pid = set.pid
  if (set.url !== undefined) facts.url = set.url
  for (const capture of set.once) {
    try {
      switch (capture.kind) {
        case 'go-buildinfo': {
          const info = parseBuildInfo(capture)
          if (info) {
            facts.goVersion = info.goVersion
            facts.goVersionSource = capture.origin
            if (info.mainModule) facts.mainModule = info.mainModule
            facts.buildSettings = info.settings
            if (info.defaultGodebug) facts.defaultGodebug = info.defaultGodebug
          }
          break
        }
        case 'proc-environ': {
          const env = parseEnviron(capture)
          if (env.GODEBUG !== undefined) facts.godebug = env.GODEBUG
          if (env.GOGC !== undefined) facts.gogc = env.GOGC
          if (env.GOMEMLIMIT !== undefined) facts.gomemlimit = env.GOMEMLIMIT
          if (env.GOMAXPROCS !== undefined) facts.gomaxprocs = env.GOMAXPROCS
          break
        }
        case 'kernel-release':
          facts.kernel = parseKernelRelease(capture)
          break
        case 'proc-cgroup': {
          const paths = parseProcCgroup(capture)
          const path = paths.v1Memory ?? paths.v2
          if (path !== undefined) facts.cgroupPath = path
          break
        }
        case 'proc-status': {
          const name = parseStatus(capture).name
          if (name !== undefined) facts.name = name
          break
        }
        case 'expvar':
        case 'prom-text':
        case 'pprof-heap-text': {
          // A URL-only target tells its Go version through /metrics' go_info, if at all.
          const view = parseRuntimeView(capture)
          if (view.goVersion && !facts.goVersion) {
            facts.goVersion = view.goVersion
            facts.goVersionSource = `${capture.origin} (go_info)`
          }
          break
        }
        default:
          continue
      }
      facts.sources.push(capture.origin)
    } catch (error) {
      addParseGap(gaps, capture, error)
    }
  }
  if (!set.once.some(c => c.kind === 'proc-environ')) facts.godebugUnknown = true
  return facts
}

/**
 * When the target read the figures of a runtime view: between the request and the answer, taken
 * as the midpoint; the request's time where the answer's was not kept. Under load the target
 * answers tens of ms after the request, and at 1 GiB/s every 10 ms is 10 MiB of heap.
 */
function readAt(capture: RawCapture): number {
  return capture.answeredAtMs === undefined
    ? capture.atMs
    : (capture.atMs + capture.answeredAtMs) / 2
}

function addParseGap(gaps: Gap[], capture: RawCapture, error: unknown): void {
  if (gaps.some(gap => gap.signal === capture.kind)) return
  gaps.push({
    signal: capture.kind,
    reason: messageOf(error),
    cost: `${capture.origin} could not be used in this diagnosis`,
  })
}
