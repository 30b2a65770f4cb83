/**
 * The legacy text heap profile, /debug/pprof/heap?debug=1 (allocs?debug=1 is the same writer):
 * a header of sampled totals, one record per stack, then runtime.MemStats as `# Name = value`.
 *
 *   heap profile: 33: 2032112 [35: 2097672] @ heap/1048576
 *   31: 2031616 [31: 2031616] @ 0x819565 0x819cec 0x43de72 0x46eaa1
 *   #	0x819564	main.settle+0x44	/work/main/testprograms/promfixture/main.go:42
 *   # runtime.MemStats
 *   # HeapReleased = 1703936
 *   # Stack = 327680 / 327680
 *   # MaxRSS = 29171712
 *
 * Only the header and the trailer are read here; pprof.ts reads heap profiles (protobuf, debug=0).
 * Reference: go1.19 src/runtime/pprof/pprof.go (writeHeapInternal),
 * go1.19 src/runtime/pprof/pprof_rusage.go (addMaxRSS).
 */
import { InputError } from '../../errors.ts'
import type { GoRuntimeMemory } from '../../model/snapshot.ts'
import { captureText, type RawCapture } from '../capture.ts'
import { MEMSTATS_FIELDS, runtimeFromMemStats } from './expvar.ts'
import type { Format } from './format.ts'
import { looksLikeHtml } from './sniff.ts'

export interface PprofHeapText {
  /**
   * The header, as printed: sums over the sampled records, not scaled up to the whole heap
   * (pprof scales by the sampling rate; this view does not). In-use as of the last GC.
   */
  sampled: {
    inuseObjects: number
    inuseBytes: number
    allocObjects: number
    allocBytes: number
    /** `heap/N`: N is 2 × runtime.MemProfileRate, by an old convention pprof expects. */
    rateField: number
  }
  runtime: GoRuntimeMemory
  /** getrusage's ru_maxrss in bytes: the peak RSS since the process started, not the current one. */
  maxRssBytes?: number
}

const HEADER = /^heap profile: (\d+): (\d+) \[(\d+): (\d+)\] @ heap\/(\d+)$/
const TRAILER = '\n# runtime.MemStats\n'
/** Trailer lines that print two MemStats fields as `inuse / sys`. */
const PAIRS: Record<string, [string, string]> = {
  Stack: ['StackInuse', 'StackSys'],
  MSpan: ['MSpanInuse', 'MSpanSys'],
  MCache: ['MCacheInuse', 'MCacheSys'],
}

/** Header and MemStats trailer. Throws InputError (one line, naming the origin) when broken. */
export function parsePprofHeapText(capture: RawCapture): PprofHeapText {
  const { origin } = capture
  const text = captureText(capture)
  if (looksLikeHtml(text.slice(0, 512)))
    throw new InputError(`${origin}: got HTML, not a heap profile`)
  if (text.trim() === '') throw new InputError(`${origin}: empty, not a heap profile`)
  const newline = text.indexOf('\n')
  const first = text.slice(0, newline < 0 ? 200 : Math.min(newline, 200))
  const header = HEADER.exec(first)?.slice(1).map(Number)
  if (!header) {
    throw new InputError(`${origin}: not a ?debug=1 heap profile: first line is ${snippet(first)}`)
  }
  // Go ends every line with '\n': a capture that does not was cut, maybe inside a number.
  if (!text.endsWith('\n'))
    throw new InputError(`${origin}: heap profile ends mid-line (truncated?)`)
  const trailer = text.indexOf(TRAILER)
  if (trailer < 0) {
    throw new InputError(`${origin}: heap profile has no # runtime.MemStats trailer (truncated?)`)
  }

  const stats: Record<string, number> = {}
  const wanted = new Set([...MEMSTATS_FIELDS, 'MaxRSS'])
  for (const line of text.slice(trailer + TRAILER.length).split('\n')) {
    // `# Name = value`; PauseNs/PauseEnd arrays, GCCPUFraction and DebugGC are not read.
    const [, name = '', value = ''] = /^# (\w+) = (.*)$/.exec(line) ?? []
    const pair = PAIRS[name]
    if (pair) {
      const [, inuse, sys] = /^(\d+) \/ (\d+)$/.exec(value) ?? []
      if (!inuse || !sys) throw notCounts(origin, name, value)
      stats[pair[0]] = Number(inuse)
      stats[pair[1]] = Number(sys)
    } else if (wanted.has(name)) {
      if (!/^\d+$/.test(value)) throw notCounts(origin, name, value)
      stats[name] = Number(value)
    }
  }
  const runtime = runtimeFromMemStats(
    stats,
    origin,
    field =>
      new InputError(
        `${origin}: no ${field} in the heap profile's # runtime.MemStats (truncated?)`,
      ),
  )
  const [inuseObjects = 0, inuseBytes = 0, allocObjects = 0, allocBytes = 0, rateField = 0] = header
  const result: PprofHeapText = {
    sampled: { inuseObjects, inuseBytes, allocObjects, allocBytes, rateField },
    runtime,
  }
  // MaxRSS is printed only where getrusage is supported (not Windows, not Plan 9).
  if (stats.MaxRSS !== undefined) result.maxRssBytes = stats.MaxRSS
  return result
}

export const pprofHeapText: Format<PprofHeapText> = {
  kind: 'pprof-heap-text',
  sniff: head => /^heap profile: \d+: \d+ \[\d+: \d+\] @ heap\/\d+\r?\n/.test(head),
  parse: parsePprofHeapText,
}

function notCounts(origin: string, name: string, value: string): InputError {
  return new InputError(`${origin}: heap profile # ${name} = ${snippet(value)}, not a count`)
}

function snippet(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)
}
