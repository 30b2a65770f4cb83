import type { GoRuntimeMemory, ProcStatus, SmapsRollup } from '../../model/snapshot.ts'
import { type CaptureKind, captureText, type RawCapture } from '../capture.ts'
import { cgroupFromCaptures, cgroupMemoryStat } from './cgroup-memory.ts'
import { expvarFormat, parseExpvar } from './expvar.ts'
import type { Format } from './format.ts'
import {
  extractBuildInfoSection,
  type GoBuildInfo,
  goBuildInfo,
  parseGoBuildInfo,
} from './go-buildinfo.ts'
import { goroutineTextFormat } from './goroutine-text.ts'
import { kernelRelease, parseKernelRelease } from './kernel-release.ts'
import { pprofHeapFormat } from './pprof.ts'
import { pprofGoroutineLeak } from './pprof-goroutineleak.ts'
import { parsePprofHeapText, pprofHeapText } from './pprof-heap-text.ts'
import { pprofIndex } from './pprof-index.ts'
import { parseProcCgroup, procCgroup } from './proc-cgroup.ts'
import { parseEnviron, procEnviron } from './proc-environ.ts'
import { type ListeningSocket, parseProcNetTcp, procNetTcp } from './proc-net-tcp.ts'
import { parseProcStatus, procStatus } from './proc-status.ts'
import { parsePromText, promText, runtimeFromPromText } from './prom-text.ts'
import { procSmaps } from './smaps.ts'
import { parseSmapsRollup, smapsRollup } from './smaps-rollup.ts'

/**
 * The formats whose kind can be recognised from content alone, for files saved by hand. Order
 * matters only where two sniffers could both match; the stricter comes first.
 */
const SNIFFABLE: readonly Format<unknown>[] = [
  smapsRollup,
  procStatus,
  goBuildInfo,
  procEnviron,
  procCgroup,
  procNetTcp,
  expvarFormat,
  pprofHeapText,
  promText,
  cgroupMemoryStat,
  procSmaps,
  pprofIndex,
  pprofGoroutineLeak,
  goroutineTextFormat,
  kernelRelease,
  // Last: any gzip stream claims to be a profile, so every text format goes first.
  pprofHeapFormat,
]

/** The kind of a file saved by hand, from its content; undefined when no format claims it. */
export function sniffKind(bytes: Uint8Array, head: string): CaptureKind | undefined {
  if (bytes.byteLength === 0) return undefined
  return SNIFFABLE.find(format => format.sniff(head))?.kind
}

export { cgroupFromCaptures, parseKernelRelease, parseProcCgroup }

export function parseStatus(capture: RawCapture): ProcStatus {
  return parseProcStatus(capture)
}

export function parseRollup(capture: RawCapture): SmapsRollup {
  return parseSmapsRollup(capture)
}

export { parseEnviron }

export function parseListeningSockets(capture: RawCapture): ListeningSocket[] {
  return parseProcNetTcp(capture)
}

export function parseBuildInfo(capture: RawCapture): GoBuildInfo | undefined {
  return parseGoBuildInfo(capture.bytes, capture.origin)
}

/**
 * A Go binary's build-info section as a small capture, or undefined when the binary is not Go.
 * Recordings keep this instead of the whole executable.
 */
export function extractBuildInfo(exe: RawCapture): RawCapture | undefined {
  const section = extractBuildInfoSection(exe.bytes, exe.origin)
  return section && { ...exe, bytes: section }
}

/** Keeps only the Go knobs of an environment (GO…=): the rest can hold secrets. */
export function filterGoEnviron(capture: RawCapture): RawCapture {
  const kept = captureText(capture)
    .split('\0')
    .filter(entry => entry.startsWith('GO'))
    .map(entry => `${entry}\0`)
    .join('')
  return { ...capture, bytes: Buffer.from(kept, 'utf8') }
}

/** What one runtime endpoint told: MemStats, and where it says so, the version and goroutines. */
export interface RuntimeView {
  runtime?: GoRuntimeMemory
  goVersion?: string
  goroutines?: number
  /** process_resident_memory_bytes, from client_golang's process collector. */
  rssBytes?: number
}

/** Parses whichever runtime endpoint a capture came from. Throws InputError when broken. */
export function parseRuntimeView(capture: RawCapture): RuntimeView {
  switch (capture.kind) {
    case 'expvar':
      return { runtime: parseExpvar(capture).memstats }
    case 'pprof-heap-text':
      return { runtime: parsePprofHeapText(capture).runtime }
    case 'prom-text': {
      const view = runtimeFromPromText(parsePromText(capture), capture.origin)
      const result: RuntimeView = {}
      if (view.runtime) {
        result.runtime =
          view.goroutines === undefined
            ? view.runtime
            : { ...view.runtime, goroutines: view.goroutines }
      }
      if (view.goVersion !== undefined) result.goVersion = view.goVersion
      if (view.goroutines !== undefined) result.goroutines = view.goroutines
      if (view.rssBytes !== undefined) result.rssBytes = view.rssBytes
      return result
    }
    default:
      return {}
  }
}
