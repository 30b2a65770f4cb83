/**
 * expvar's /debug/vars: one JSON object of every published variable, keys sorted. `cmdline` and
 * `memstats` (the JSON of runtime.MemStats, read with a stop-the-world ReadMemStats) are always
 * there once a program imports expvar; anything else is the program's own.
 *
 *   {
 *   "cmdline": ["./orders-api","-addr=:6060"],
 *   "memstats": {"Alloc":17585184,"TotalAlloc":17944232,"Sys":32093448,"Lookups":0,…,"BySize":[…]}
 *   }
 *
 * Reference: go1.19 src/expvar/expvar.go (expvarHandler, cmdline, memstats),
 * go1.19 src/runtime/mstats.go (type MemStats: field names and meanings).
 */
import { InputError } from '../../errors.ts'
import type { GoRuntimeMemory } from '../../model/snapshot.ts'
import { captureText, type RawCapture } from '../capture.ts'
import type { Format } from './format.ts'
import { looksLikeHtml } from './sniff.ts'

export interface Expvar {
  /** memstats, with source = the capture's origin. */
  memstats: GoRuntimeMemory
  /** os.Args of the target, when expvar published them as a list of strings. */
  cmdline?: string[]
}

/** GoRuntimeMemory field ← runtime.MemStats field, for the fields the model requires. */
const REQUIRED = {
  heapAlloc: 'HeapAlloc',
  heapSys: 'HeapSys',
  heapIdle: 'HeapIdle',
  heapInuse: 'HeapInuse',
  heapReleased: 'HeapReleased',
  stackInuse: 'StackInuse',
  stackSys: 'StackSys',
  mSpanSys: 'MSpanSys',
  mCacheSys: 'MCacheSys',
  buckHashSys: 'BuckHashSys',
  gcSys: 'GCSys',
  otherSys: 'OtherSys',
  sys: 'Sys',
  nextGC: 'NextGC',
  numGC: 'NumGC',
} as const
/** Copied when present: NumForcedGC appeared in Go 1.8; the others are as old as MemStats. */
const OPTIONAL = {
  totalAlloc: 'TotalAlloc',
  heapObjects: 'HeapObjects',
  mSpanInuse: 'MSpanInuse',
  mCacheInuse: 'MCacheInuse',
  numForcedGC: 'NumForcedGC',
} as const

/** The runtime.MemStats fields runtimeFromMemStats reads (LastGC too, when present). */
export const MEMSTATS_FIELDS: readonly string[] = [
  ...Object.values(REQUIRED),
  ...Object.values(OPTIONAL),
  'LastGC',
]

/**
 * runtime.MemStats, by Go field name, as GoRuntimeMemory. Shared by every format that prints
 * MemStats under its own names (expvar JSON, the heap profile's `# runtime.MemStats` trailer).
 * `missing` builds the error for a required field that is absent.
 */
export function runtimeFromMemStats(
  stats: Readonly<Record<string, number>>,
  source: string,
  missing: (field: string) => Error,
): GoRuntimeMemory {
  const get = (field: string) => {
    const value = Object.hasOwn(stats, field) ? stats[field] : undefined
    if (value === undefined) throw missing(field)
    return value
  }
  const runtime = { source } as GoRuntimeMemory
  for (const [key, field] of Object.entries(REQUIRED))
    runtime[key as keyof typeof REQUIRED] = get(field)
  for (const [key, field] of Object.entries(OPTIONAL)) {
    if (Object.hasOwn(stats, field)) runtime[key as keyof typeof OPTIONAL] = get(field)
  }
  // LastGC is Unix nanoseconds; 0 means no GC has finished yet.
  const lastGC = Object.hasOwn(stats, 'LastGC') ? stats.LastGC : undefined
  if (lastGC) runtime.lastGCMs = Math.floor(lastGC / 1e6)
  return runtime
}

/** Parses /debug/vars. Throws InputError (one line, naming the origin) unless it holds memstats. */
export function parseExpvar(capture: RawCapture): Expvar {
  const { origin } = capture
  const text = captureText(capture)
  if (looksLikeHtml(text.slice(0, 512)))
    throw new InputError(`${origin}: got HTML, not expvar JSON`)
  if (text.trim() === '') throw new InputError(`${origin}: empty, not expvar JSON`)
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    // Rethrown with the origin; V8's message quotes at most a few characters of the input.
    const reason = error instanceof Error ? error.message.split('\n')[0]?.slice(0, 120) : ''
    throw new InputError(`${origin}: not expvar JSON: ${reason}`, { cause: error })
  }
  if (!isObject(json))
    throw new InputError(`${origin}: expvar JSON is ${describe(json)}, not an object`)
  const memstats = Object.hasOwn(json, 'memstats') ? json.memstats : undefined
  if (memstats === undefined) {
    const keys = Object.keys(json).slice(0, 5).join(', ') || 'none'
    throw new InputError(
      `${origin}: expvar has no memstats (keys: ${keys}); is this /debug/vars of a Go program?`,
    )
  }
  if (!isObject(memstats))
    throw new InputError(`${origin}: expvar memstats is ${describe(memstats)}, not an object`)

  // Every MemStats field we read is a uint64; anything else means the JSON is not Go's.
  const stats: Record<string, number> = {}
  for (const field of MEMSTATS_FIELDS) {
    if (!Object.hasOwn(memstats, field)) continue
    const value = memstats[field]
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new InputError(
        `${origin}: expvar memstats.${field} is ${describe(value)}, not a byte count`,
      )
    }
    stats[field] = value
  }
  const runtime = runtimeFromMemStats(
    stats,
    origin,
    field => new InputError(`${origin}: expvar memstats has no ${field}`),
  )
  const result: Expvar = { memstats: runtime }
  // cmdline only labels the target; a malformed one is left out rather than failing the memory view.
  const cmdline = Object.hasOwn(json, 'cmdline') ? json.cmdline : undefined
  if (Array.isArray(cmdline) && cmdline.every(arg => typeof arg === 'string'))
    result.cmdline = cmdline
  return result
}

export const expvarFormat: Format<Expvar> = {
  kind: 'expvar',
  // expvar writes "{\n" then sorted keys; cmdline or memstats shows within the first 4 KiB
  // unless the program published large variables sorting before "cmdline".
  sniff: head => /^\s*\{\s*"/.test(head) && /"(?:memstats|cmdline)"\s*:/.test(head),
  parse: parseExpvar,
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return 'an object'
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 40 ? `${text.slice(0, 40)}…` : text
}
