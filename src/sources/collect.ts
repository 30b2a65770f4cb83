import { InputError, messageOf, TargetError } from '../errors.ts'
import type { Gap } from '../model/finding.ts'
import { GiB } from '../model/units.ts'
import type { CaptureKind, CaptureSet, RawCapture } from './capture.ts'
import {
  chooseRuntimeEndpoint,
  describeAnswer,
  discoverUrl,
  optionalGet,
  probePprof,
} from './endpoints.ts'
import { goBinaryMark } from './formats/go-buildinfo.ts'
import { extractBuildInfo, filterGoEnviron, parseProcCgroup, parseStatus } from './formats/index.ts'
import { parseGoroutineLeak } from './formats/pprof-goroutineleak.ts'
import { parsePprofIndex } from './formats/pprof-index.ts'
import { NoAddressSpaceError } from './formats/proc-status.ts'
import { followUpPlan, type GcClock, gcClockOf } from './gc-follow-ups.ts'
import { type CgroupLocation, locateMemoryCgroup, readCgroupFiles } from './transports/cgroup.ts'
import { isVanished, readCapture } from './transports/files.ts'
import { httpGet } from './transports/http.ts'
import { stopNetnsRelay } from './transports/netns.ts'

export interface CollectOptions {
  pid?: number
  url?: string
  durationMs: number
  intervalMs: number
  /**
   * smaps_rollup is read only while VmRSS is below this. Reading it walks the target's page
   * tables under its mmap lock: measured elsewhere, a 200 GB process stalled 4.4 s per read
   * and one over 4 GB about 100 ms, and every thread that faults or maps memory waits meanwhile.
   */
  smapsMaxRssBytes: number
  /** Called after each tick, for progress lines. */
  onTick?: (tick: TickProgress) => void
  /**
   * Hands over captures as soon as they are read, so a recording can commit them: the read-once
   * captures (tick 'once') before the first tick, then each tick, then once more the last tick's
   * end-of-window captures under the same index. `run` is the collection so far.
   */
  onCaptures?: (tick: number | 'once', captures: readonly RawCapture[], run: Collection) => void
  /**
   * Keep only the latest this-many ticks in `captures.ticks` (at least 1; default: every tick).
   * A caller that takes each tick through onCaptures (a recorder committing it, a dashboard
   * assembling it) needs no more, and a day-long run then holds one tick instead of 86,400.
   * Either way the tick onCaptures hands over is `captures.ticks.at(-1)`.
   */
  retainTicks?: number
  /**
   * Asked before each tick past `durationMs`, with the window that tick would make: true takes
   * it. How diagnose samples on while a detector is one GC cycle short of a judgement.
   */
  extendWhile?: (run: Collection, windowMs: number) => boolean
  /** Aborting ends the window early; what was collected is still returned. */
  signal?: AbortSignal
  httpTimeoutMs?: number
  /**
   * Request the start and end heap profiles with `gc=1`: net/http/pprof then runs runtime.GC()
   * before writing the profile, so it shows the live heap now rather than as of the last GC
   * cycle, at the cost of a full GC in the target. Off, nothing here makes the target collect.
   */
  forceGc?: boolean
  /**
   * Fetch the goroutine leak profile (/debug/pprof/goroutineleak) at the window's start and end.
   * Writing it makes the target run a full GC cycle with leak detection, so only when asked.
   */
  leakProfile?: boolean
  /**
   * When GC cycles are shorter than half the interval, read the runtime view a few more times
   * right after each tick, so that some cycle is read twice (gc-follow-ups.ts). For windows that
   * are diagnosed; a recording would store every read.
   */
  followFastGc?: boolean
}

export interface TickProgress {
  index: number
  elapsedMs: number
  rssBytes?: number
}

export interface Collection {
  captures: CaptureSet
  gaps: Gap[]
  notes: string[]
  /** Human names of where data came from: '/proc/4242', 'http://127.0.0.1:6060/debug/vars'. */
  sources: string[]
}

/**
 * Goroutine dumps stop the world for a time that grows with the goroutine count (measured on
 * Go 1.19: 200k goroutines, debug=2, 7 pauses and 9.7 s in all). Above this count none is taken;
 * the aggregated debug=1 form is used below it.
 */
const GOROUTINE_DUMP_MAX = 100_000

/** THP settings read once: the mode, the defrag policy, and how eagerly khugepaged fills holes. */
const THP_FILES = [
  '/sys/kernel/mm/transparent_hugepage/enabled',
  '/sys/kernel/mm/transparent_hugepage/defrag',
  '/sys/kernel/mm/transparent_hugepage/khugepaged/max_ptes_none',
]

/**
 * Samples a live target: first what is read once, then a tick every interval until the
 * duration ends, the target exits, or the signal aborts. Reads are sequential and bounded.
 */
export async function collect(options: CollectOptions): Promise<Collection> {
  try {
    return await collectTarget(options)
  } finally {
    // A relay into the target's network namespace (endpoints.ts) lives as long as the window.
    await stopNetnsRelay(options.pid)
  }
}

async function collectTarget(options: CollectOptions): Promise<Collection> {
  const gaps: Gap[] = []
  const notes: string[] = []
  const sources: string[] = []
  const set: CaptureSet = { once: [], ticks: [] }
  const { pid } = options
  if (pid !== undefined) set.pid = pid
  const retain = Math.max(1, options.retainTicks ?? Number.POSITIVE_INFINITY)
  /** Ticks taken so far: set.ticks holds only the latest `retain` of them. */
  let taken = 0

  let cgroup: CgroupLocation | undefined
  if (pid !== undefined) {
    cgroup = await readOnce(pid, set, gaps)
    sources.push(`/proc/${pid}`)
    if (cgroup) sources.push(cgroup.dir)
  }

  let url = options.url?.replace(/\/+$/, '')
  if (url === undefined && pid !== undefined) {
    url = await discoverUrl(pid, gaps, options.httpTimeoutMs, notes)
    if (url) notes.push(`found the target's HTTP server at ${url} from its listening sockets`)
  }
  for (const path of THP_FILES) {
    const thp = await readCapture('sysfs-thp', path, 4096)
    if (thp.ok) set.once.push(thp.capture)
  }

  let runtimeEndpoint: { url: string; kind: CaptureKind } | undefined
  let pprofBase: string | undefined
  if (url !== undefined) {
    set.url = url
    runtimeEndpoint = await chooseRuntimeEndpoint(
      url,
      pid === undefined,
      gaps,
      set,
      options.httpTimeoutMs,
    )
    if (runtimeEndpoint) sources.push(runtimeEndpoint.url)
    pprofBase = await probePprof(url, options.httpTimeoutMs)
    if (pprofBase) sources.push(`${pprofBase}/`)
    else {
      gaps.push({
        signal: 'profile.heap',
        reason: `${url}/debug/pprof/ does not answer as net/http/pprof`,
        cost: 'no allocation sites for heap growth and no goroutine stacks for a leak',
      })
    }
  } else if (pid !== undefined && !gaps.some(g => g.signal === 'runtime.memstats')) {
    gaps.push({
      signal: 'runtime.memstats',
      reason:
        'no --url given and no HTTP server serving /metrics, /debug/vars or /debug/pprof found on the target',
      cost: 'the Go heap cannot be told apart from stacks, runtime metadata and non-Go memory',
    })
  }

  options.onCaptures?.('once', set.once, { captures: set, gaps, notes, sources })
  const start = Date.now()
  let smapsGated = false
  let runtimeFailed = false
  /** The last tick's GC clock, for follow-up reads (followFastGc). */
  let lastGcClock: GcClock | undefined
  for (let index = 0; ; index++) {
    if (options.signal?.aborted) {
      notes.push(
        `stopped early at ${Math.round((Date.now() - start) / 1000)} s; diagnosing the ${taken} samples collected`,
      )
      break
    }
    const atMs = Date.now()
    const captures: RawCapture[] = []
    let rssBytes: number | undefined
    if (pid !== undefined) {
      const status = await readCapture('proc-status', `/proc/${pid}/status`, 1 << 20)
      // A process between exit and its parent's wait() is a zombie: gone, as far as memory goes.
      const exited = status.ok ? isZombie(status.capture) : isVanished(status.code)
      if (!status.ok || exited) {
        const after = `${Math.round((atMs - start) / 1000)} s into the window; diagnosing the ${taken} samples collected before`
        if (exited || status.ok) notes.push(`the target exited ${after}`)
        else if (taken === 0) {
          throw new TargetError(`cannot read ${status.path}: ${status.message}`)
        } else notes.push(`${status.path} became unreadable (${status.message}) ${after}`)
        break
      }
      captures.push(status.capture)
      rssBytes = vmRssOf(status.capture)
      if (rssBytes !== undefined && rssBytes > options.smapsMaxRssBytes) {
        if (!smapsGated) {
          smapsGated = true
          gaps.push({
            signal: 'os.lazyFree',
            reason: `smaps_rollup not read: VmRSS is above the ${options.smapsMaxRssBytes} byte gate (--smaps-max-rss), and reading it stalls the target while it walks the page tables`,
            cost: 'MADV_FREE pages (LazyFree) and huge pages cannot be measured',
          })
        }
      } else {
        const rollup = await readCapture('smaps-rollup', `/proc/${pid}/smaps_rollup`, 1 << 20)
        if (rollup.ok) captures.push(rollup.capture)
        else if (isVanished(rollup.code)) {
          notes.push(`the target exited ${Math.round((atMs - start) / 1000)} s into the window`)
          break
        } else
          addGapOnce(gaps, {
            signal: 'os.lazyFree',
            reason: `cannot read ${rollup.path}: ${rollup.message}`,
            cost: 'MADV_FREE pages (LazyFree) and huge pages cannot be measured',
          })
      }
      if (cgroup) {
        for (const result of await readCgroupFiles(cgroup)) {
          if (result.ok) captures.push(result.capture)
          else
            addGapOnce(gaps, {
              signal: 'cgroup.memory',
              reason: `cannot read ${result.path}: ${result.message}`,
              cost: 'the memory cgroup view is incomplete',
            })
        }
      }
    }
    if (runtimeEndpoint && !runtimeFailed) {
      try {
        const answer = await httpGet(
          runtimeEndpoint.kind,
          runtimeEndpoint.url,
          httpOptions(options),
        )
        if (answer.status === 200 && !answer.truncated) captures.push(answer.capture)
        else
          throw new TargetError(
            `${runtimeEndpoint.url} answered ${describeAnswer(answer.status, answer.capture, answer.truncated)}`,
          )
        if (options.followFastGc) {
          const clock = gcClockOf(answer.capture)
          const plan = lastGcClock && clock && followUpPlan(lastGcClock, clock, options.intervalMs)
          if (plan) captures.push(...(await followUpReads(runtimeEndpoint, plan, options)))
          lastGcClock = clock
        }
      } catch (error) {
        if (pid === undefined) {
          if (taken === 0) throw error
          notes.push(`${messageOf(error)} after ${taken} samples; diagnosing those`)
          break
        }
        runtimeFailed = true
        notes.push(`${messageOf(error)}; went on with /proc only`)
      }
    }
    if (pprofBase && !runtimeFailed) {
      const index = await optionalGet('pprof-index', `${pprofBase}/`, options)
      if (index) captures.push(index)
    }
    // The edge captures come after the tick's own reads, at the start as at the end: a GC forced
    // for the heap profile (--force-gc) then never falls inside a sample, and the first and last
    // samples show the target as it was, not as the collection left it.
    if (taken === 0) {
      const edge = { pid, pprofBase, tick: captures, rssBytes, at: 'start' as const }
      captures.push(...(await edgeCaptures(edge, options, { gaps, notes })))
    }
    set.ticks.push({ atMs, captures })
    taken++
    if (set.ticks.length > retain) set.ticks.splice(0, set.ticks.length - retain)
    options.onCaptures?.(index, captures, { captures: set, gaps, notes, sources })
    const elapsedMs = Date.now() - start
    const progress: TickProgress = { index, elapsedMs }
    if (rssBytes !== undefined) progress.rssBytes = rssBytes
    options.onTick?.(progress)
    const nextAt = start + (index + 1) * options.intervalMs
    const windowMs = nextAt - start
    if (
      windowMs > options.durationMs &&
      !options.extendWhile?.({ captures: set, gaps, notes, sources }, windowMs)
    )
      break
    await sleep(nextAt - Date.now(), options.signal)
  }
  const last = set.ticks.at(-1)
  if (last && taken > 1 && !targetGone(notes)) {
    const status = last.captures.find(c => c.kind === 'proc-status')
    const rssBytes = status && vmRssOf(status)
    const edge = { pid, pprofBase, tick: last.captures, rssBytes, at: 'end' as const }
    const end = await edgeCaptures(edge, options, { gaps, notes })
    last.captures.push(...end)
    options.onCaptures?.(taken - 1, end, { captures: set, gaps, notes, sources })
  }
  return { captures: set, gaps, notes, sources }
}

/** How long a heap profile fetched with gc=1 may take: the target runs a whole GC first. */
const FORCED_GC_TIMEOUT_MS = 60_000

/** Where an edge is read: the target, and the tick (first or last) it follows. */
interface Edge {
  pid: number | undefined
  pprofBase: string | undefined
  tick: readonly RawCapture[]
  rssBytes: number | undefined
  at: 'start' | 'end'
}

/**
 * What is read only at the window's start and end, because it costs the target more: the full
 * smaps (a page-table walk per mapping, size-gated like smaps_rollup), a heap profile (after a
 * forced GC with --force-gc), and the aggregated goroutine dump when the goroutine count allows it.
 */
async function edgeCaptures(
  { pid, pprofBase, tick, rssBytes, at }: Edge,
  options: CollectOptions,
  { gaps, notes }: { gaps: Gap[]; notes: string[] },
): Promise<RawCapture[]> {
  const captures: RawCapture[] = []
  if (pid !== undefined && rssBytes !== undefined && rssBytes <= options.smapsMaxRssBytes) {
    const smaps = await readCapture('proc-smaps', `/proc/${pid}/smaps`, 256 << 20)
    if (smaps.ok) captures.push(smaps.capture)
    else if (!isVanished(smaps.code)) {
      addGapOnce(gaps, {
        signal: 'os.mappings',
        reason: `cannot read ${smaps.path}: ${smaps.message}`,
        cost: 'memory outside the Go heap cannot be traced to mappings',
      })
    }
  }
  if (pprofBase === undefined) {
    if (options.leakProfile) {
      addGapOnce(gaps, {
        signal: 'profile.goroutineLeak',
        reason: '--leak-profile: the target serves no net/http/pprof (/debug/pprof/)',
        cost: LEAK_PROFILE_COST,
      })
    }
    return captures
  }
  // The capture's origin is this URL, so a saved run or recording shows that gc=1 was asked for.
  const heapUrl = `${pprofBase}/heap${options.forceGc ? '?gc=1' : ''}`
  // A full GC of a multi-GiB heap can outlast the per-request timeout (5 s by default), and a
  // profile abandoned then would cost the target the GC for nothing.
  const heapOptions = options.forceGc
    ? { httpTimeoutMs: Math.max(options.httpTimeoutMs ?? 5000, FORCED_GC_TIMEOUT_MS) }
    : options
  const heap = await optionalGet('pprof-heap', heapUrl, heapOptions, 64 << 20)
  if (heap) captures.push(heap)
  if (options.forceGc) notes.push(forcedGcNote(heapUrl, at, heap !== undefined))
  // Before the count gate: the runtime collects leaked stacks without stopping the world.
  if (options.leakProfile) {
    const leaks = await goroutineLeakProfile(pprofBase, options, { gaps, notes }, at)
    if (leaks) captures.push(leaks)
  }
  const count = goroutineCount(tick)
  if (count !== undefined && count > GOROUTINE_DUMP_MAX) {
    addGapOnce(gaps, {
      signal: 'profile.goroutines',
      reason: `${count} goroutines: above ${GOROUTINE_DUMP_MAX}, a goroutine dump would stop the target for seconds, so none was taken`,
      cost: 'a goroutine leak can be seen in the count, but its stack is not named',
    })
    return captures
  }
  // The proto form costs the target what debug=1 does, and keeps the runtime frames
  // (runtime.chanrecv, runtime.selectgo) that name the wait reason.
  const dump = await optionalGet('pprof-goroutine', `${pprofBase}/goroutine`, options, 64 << 20)
  if (dump) captures.push(dump)
  return captures
}

/** What leaving the leak profile out costs the diagnosis. */
const LEAK_PROFILE_COST =
  'goroutine leaks are judged from the count and the growing stack group, not proved by the runtime'

/**
 * The goroutine leak profile (proto), or a gap saying what the target answered instead: 404 from
 * a Go that does not serve it (before 1.26, or 1.26 without GOEXPERIMENT=goroutineleakprofile).
 * The target runs a GC cycle to answer, so the request gets a forced GC's time limit.
 */
async function goroutineLeakProfile(
  pprofBase: string,
  options: CollectOptions,
  { gaps, notes }: { gaps: Gap[]; notes: string[] },
  at: 'start' | 'end',
): Promise<RawCapture | undefined> {
  const url = `${pprofBase}/goroutineleak`
  const timeoutMs = Math.max(options.httpTimeoutMs ?? 5000, FORCED_GC_TIMEOUT_MS)
  let answer: Awaited<ReturnType<typeof httpGet>>
  try {
    answer = await httpGet('pprof-goroutineleak', url, { timeoutMs, maxBytes: 64 << 20 })
  } catch (error) {
    addGapOnce(gaps, {
      signal: 'profile.goroutineLeak',
      reason: `${messageOf(error)} (at the window's ${at})`,
      cost: LEAK_PROFILE_COST,
    })
    return undefined
  }
  if (answer.status === 200 && !answer.truncated) {
    // Something answers 200 there (a login wall, another handler): only a real profile means the
    // target ran the detection, and only it is worth keeping.
    try {
      parseGoroutineLeak(answer.capture)
    } catch (error) {
      addGapOnce(gaps, {
        signal: 'profile.goroutineLeak',
        reason: `${messageOf(error)}: not the goroutine leak profile`,
        cost: LEAK_PROFILE_COST,
      })
      return undefined
    }
    notes.push(
      `--leak-profile: the target ran a GC cycle with goroutine leak detection at the window's ${at} to write ${url}`,
    )
    return answer.capture
  }
  const what = describeAnswer(answer.status, answer.capture, answer.truncated)
  addGapOnce(gaps, {
    signal: 'profile.goroutineLeak',
    reason:
      answer.status === 404
        ? `${url} answered HTTP 404: this Go serves no goroutine leak profile (Go ≥ 1.27 does, and Go 1.26 built with GOEXPERIMENT=goroutineleakprofile)`
        : `${url} answered ${what}, not the goroutine leak profile`,
    cost: LEAK_PROFILE_COST,
  })
  return undefined
}

/** What --force-gc did to the target at one edge, for the report's notes. */
function forcedGcNote(heapUrl: string, at: 'start' | 'end', answered: boolean): string {
  const when =
    at === 'start'
      ? "at the window's start (after the first sample; the later samples show the heap as that GC left it)"
      : "at the window's end (after the last sample)"
  return answered
    ? `--force-gc: the target ran a full GC ${when} before writing the heap profile ${heapUrl}`
    : `--force-gc: asked the target for a full GC ${when} with ${heapUrl}, but got no heap profile back: the GC may or may not have run`
}

/** The goroutine count a tick's pprof index gave, if it gave one. */
function goroutineCount(tick: readonly RawCapture[]): number | undefined {
  const index = tick.find(c => c.kind === 'pprof-index')
  if (!index) return undefined
  try {
    return parsePprofIndex(index).goroutines
  } catch {
    // An unreadable index is reported by assemble(); here it only means "count unknown".
    return undefined
  }
}

function targetGone(notes: readonly string[]): boolean {
  return notes.some(note => note.includes('the target exited'))
}

/** The facts read once: they identify the target and refuse what is not a Go program. */
async function readOnce(
  pid: number,
  set: CaptureSet,
  gaps: Gap[],
): Promise<CgroupLocation | undefined> {
  const status = await readCapture('proc-status', `/proc/${pid}/status`, 1 << 20)
  if (!status.ok) {
    if (isVanished(status.code)) throw new TargetError(`no process with PID ${pid}`)
    throw new TargetError(`cannot read /proc/${pid}/status: ${status.message}`)
  }
  set.once.push(status.capture)
  const name = parseStatus(status.capture).name ?? '?'

  // Go binaries are rarely over a few hundred MiB; the cap keeps a huge non-Go binary cheap.
  const exe = await readCapture('go-buildinfo', `/proc/${pid}/exe`, 2 * GiB)
  if (!exe.ok) {
    if (isVanished(exe.code)) throw new TargetError(`process ${pid} exited`)
    gaps.push({
      signal: 'target.goVersion',
      reason: `cannot read /proc/${pid}/exe: ${exe.message}`,
      cost: 'the Go version is unknown, so fixes cannot be tailored to it; run as the same user or root',
    })
  } else {
    // Only the build-info section is kept: a few hundred bytes instead of the whole binary.
    const section = extractBuildInfo(exe.capture)
    const mark = section ? undefined : goBinaryMark(exe.capture.bytes, exe.capture.origin)
    if (section) set.once.push(section)
    else if (mark) {
      // A Go binary whose build info was stripped (or that predates Go 1.13): still diagnosable.
      gaps.push({
        signal: 'target.goVersion',
        reason: `/proc/${pid}/exe is a Go binary (${mark}) without Go build information: its .go.buildinfo section was removed, or it was built before Go 1.13`,
        cost: 'the Go version and its DefaultGODEBUG are unknown, so fixes cannot be tailored to them',
      })
    } else {
      throw new InputError(
        `process ${pid} (${name}) is not a Go program: /proc/${pid}/exe has no Go build information (or was built before Go 1.13)`,
      )
    }
  }

  const environ = await readCapture('proc-environ', `/proc/${pid}/environ`, 4 << 20)
  if (environ.ok) {
    // Only the Go knobs are kept: the rest of the environment can hold secrets.
    set.once.push(filterGoEnviron(environ.capture))
  } else {
    gaps.push({
      signal: 'target.godebug',
      reason: `cannot read /proc/${pid}/environ: ${environ.message}`,
      cost: 'GODEBUG, GOGC and GOMEMLIMIT are unknown; run as the same user or root',
    })
  }

  const kernel = await readCapture('kernel-release', '/proc/sys/kernel/osrelease', 4096)
  if (kernel.ok) set.once.push(kernel.capture)

  const cgroupFile = await readCapture('proc-cgroup', `/proc/${pid}/cgroup`, 1 << 20)
  if (!cgroupFile.ok) return undefined
  set.once.push(cgroupFile.capture)
  const location = await locateMemoryCgroup(parseProcCgroup(cgroupFile.capture), pid)
  if ('reason' in location) {
    gaps.push({
      signal: 'cgroup.memory',
      reason: location.reason,
      cost: 'container limits and OOM events are unknown',
    })
    return undefined
  }
  return location
}

/**
 * The follow-up reads of one tick, `plan.gapMs` apart, within half the interval however slowly the
 * target answers. They end quietly at the first that fails or the abort: the next tick's own
 * read says what became of the target.
 */
async function followUpReads(
  endpoint: { url: string; kind: CaptureKind },
  plan: { gapMs: number; reads: number },
  options: CollectOptions,
): Promise<RawCapture[]> {
  const reads: RawCapture[] = []
  const start = Date.now()
  for (let n = 1; n <= plan.reads; n++) {
    await sleep(start + n * plan.gapMs - Date.now(), options.signal)
    if (options.signal?.aborted || Date.now() - start > options.intervalMs / 2) break
    try {
      const answer = await httpGet(endpoint.kind, endpoint.url, httpOptions(options))
      if (answer.status !== 200 || answer.truncated) break
      reads.push(answer.capture)
    } catch {
      break
    }
  }
  return reads
}

function httpOptions(options: CollectOptions): { timeoutMs?: number } {
  return options.httpTimeoutMs === undefined ? {} : { timeoutMs: options.httpTimeoutMs }
}

function isZombie(capture: RawCapture): boolean {
  try {
    parseStatus(capture)
    return false
  } catch (error) {
    return error instanceof NoAddressSpaceError
  }
}

function vmRssOf(capture: RawCapture): number | undefined {
  try {
    return parseStatus(capture).vmRss
  } catch {
    // A broken status file is reported by assemble(); the gate then errs on the safe side.
    return Number.POSITIVE_INFINITY
  }
}

function addGapOnce(gaps: Gap[], gap: Gap): void {
  if (!gaps.some(g => g.signal === gap.signal && g.reason === gap.reason)) gaps.push(gap)
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve()
  return new Promise(resolve => {
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}
