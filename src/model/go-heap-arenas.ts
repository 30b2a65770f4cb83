import type { Mapping, MappingsSnapshot } from './mappings.ts'
import type { GoRuntimeMemory } from './snapshot.ts'
import {
  goAtLeast,
  godebugValue,
  parseGoVersion,
  parseKernelVersion,
  type TargetFacts,
} from './target.ts'

/**
 * Where the Go heap is in a process's mappings, on every Go: by the runtime's own names where it
 * gives them, otherwise by the shape the runtime gives its arenas. Never by a fixed address: Go
 * up to 1.25 starts the heap at 0xc000000000 on linux/amd64, but Go 1.26 randomises the base
 * (runtime/malloc.go mallocinit, randomizeHeapBase).
 *
 * The shape (go1.19 and go1.26 runtime/mheap.go grow, malloc.go sysAlloc): the runtime reserves
 * heap address space in 64 MiB arenas (heapArenaBytes on 64-bit Linux) as PROT_NONE and maps it
 * read-write in 4 MiB chunks (pallocChunkBytes), from the arena's start, or on Go 1.26 from a
 * random chunk inside the first arena. So a run of adjacent anonymous private mappings, `---p`
 * and `rw-p` only, that starts and ends on 64 MiB boundaries, with every `rw-p` part starting and
 * ending on 4 MiB boundaries, is heap arena space. glibc's thread arenas are 64 MiB-aligned too,
 * but grow page by page from 132 KiB, so their read-write part is almost never a multiple of
 * 4 MiB; the runtime's count (below) catches the rare one that is.
 *
 * The runtime's count: the read-write arena space is exactly what MemStats calls HeapSys (heap
 * spans, idle and released included) plus StackInuse (stacks are carved from heap spans).
 * Measured on a 1 GiB spike freed: 1044 MiB of rw-p arena space against HeapSys 1043.5 MiB +
 * StackInuse 0.5 MiB, on go1.19.8 (at 0xc000000000) and go1.26.8 (at 0x1b932dc00000, from a
 * module with go 1.24, so unnamed) alike.
 *
 * Go ≥ 1.25 names its mappings ([anon: Go: heap], [anon: Go: heap reservation], …) when the kernel
 * keeps names for anonymous memory (Linux ≥ 5.17 with CONFIG_ANON_VMA_NAME) and the binary's
 * GODEBUG has decoratemappings=1 (the default for modules with go ≥ 1.25). Captured in a VM with
 * such a kernel (scripts/capture-named-mappings.sh), go1.26.8's [anon: Go: heap] is 292 MiB,
 * exactly HeapSys + StackInuse, and the same program under decoratemappings=0 is found by its
 * shape at the same 292 MiB.
 */
export interface GoHeapArenas {
  /** 'named': the runtime's names; 'layout': the arena shape above. */
  method: 'named' | 'layout'
  /** The read-write mappings of the heap arenas: heap spans and goroutine stacks. */
  mappings: Mapping[]
  /** Their size: address space the runtime has mapped for its heap. */
  mappedBytes: number
  /** HeapSys + StackInuse, when a runtime view was given: the runtime's count of the same. */
  runtimeBytes?: number
  /** Whether the two agree (the heap may grow between the smaps read and the runtime read). */
  confirmed?: boolean
  contains(m: Mapping): boolean
}

const MiB = 2 ** 20
/** heapArenaBytes on 64-bit Linux (runtime/malloc.go). */
const HEAP_ARENA = 64 * MiB
/** pallocChunkBytes: the heap grows by whole chunks (runtime/mpagealloc.go). */
const PALLOC_CHUNK = 4 * MiB
/** How far the runtime's count may be from the mappings and still confirm them. */
const AGREE_WITHIN = 8 * MiB
const AGREE_SHARE = 0.05

const HEAP_NAME = '[anon: Go: heap]'
const RESERVATION_NAME = '[anon: Go: heap reservation]'

/** Whether the process's mappings carry the Go runtime's names (Go ≥ 1.25, kernel permitting). */
export function hasGoMappingNames(snapshot: MappingsSnapshot): boolean {
  return snapshot.mappings.some(m => m.path.startsWith('[anon: Go: '))
}

/** Whether the Go heap itself is named: the names then tell every Go mapping from the rest. */
export function hasGoHeapName(snapshot: MappingsSnapshot): boolean {
  return snapshot.mappings.some(m => m.path === HEAP_NAME)
}

/**
 * Why `snapshot` has no [anon: Go: heap], inferred from what was read, first cause first: the Go
 * version (names since 1.25, golang/go#71546), decoratemappings=0 in GODEBUG or in the binary's
 * DefaultGODEBUG (a main module whose go line is ≤ 1.24), Go 1.25.0–1.25.1 naming only what it
 * maps after start-up (golang/go#75324), else the kernel: names need Linux ≥ 5.17 built with
 * CONFIG_ANON_VMA_NAME (the runtime's prctl(PR_SET_VMA) then fails with EINVAL, and it stops
 * trying). Any other [anon:…] name in the mappings shows the kernel keeps names after all.
 * One short clause: reports put it on the line that gives the split.
 */
export function whyGoHeapUnnamed(target: TargetFacts, snapshot: MappingsSnapshot): string {
  const version = parseGoVersion(target.goVersion)
  if (version && !goAtLeast(version, 25)) {
    return `${target.goVersion} does not name its mappings (Go ≥ 1.25 does)`
  }
  if (godebugValue(target, 'decoratemappings') === '0') {
    // The environment wins over the binary's default; say which one set it.
    const env = target.godebug ? { godebug: target.godebug } : {}
    return godebugValue({ ...env, sources: [] }, 'decoratemappings') === '0'
      ? 'GODEBUG has decoratemappings=0'
      : "the binary's DefaultGODEBUG has decoratemappings=0 (its module's go line is ≤ 1.24)"
  }
  if (version && !goAtLeast(version, 25, 2)) {
    return `${target.goVersion} names only what it maps after start-up, here not its heap (golang/go#75324, fixed in 1.25.2)`
  }
  const subject = version ? target.goVersion : 'Go'
  const unread = target.godebugUnknown
    ? ' (GODEBUG unread: decoratemappings=0 there would do the same)'
    : ''
  if (snapshot.mappings.some(m => m.path.startsWith('[anon:') && m.path !== HEAP_NAME)) {
    return `the kernel keeps mapping names, yet ${subject} named no heap${unread}`
  }
  const kernel = parseKernelVersion(target.kernel)
  if (!kernel) {
    return `the kernel keeps no names for anonymous memory (they need Linux ≥ 5.17 with CONFIG_ANON_VMA_NAME)${unread}`
  }
  if (kernel[0] < 5 || (kernel[0] === 5 && kernel[1] < 17)) {
    return `Linux ${target.kernel} keeps no names for anonymous memory (5.17 added them)${unread}`
  }
  return `Linux ${target.kernel} keeps no names for anonymous memory (no CONFIG_ANON_VMA_NAME)${unread}`
}

/**
 * The Go heap's arenas in `snapshot`. `runtime` is the runtime view read nearest to it; with it,
 * the result says whether the runtime's own count confirms what was found.
 */
export function findGoHeapArenas(
  snapshot: MappingsSnapshot,
  runtime?: GoRuntimeMemory,
): GoHeapArenas {
  // Go 1.25.0 and 1.25.1 name only what they map after start-up (golang/go#75324): names
  // without a heap among them say nothing about where the heap is, and with one, the arena part
  // mapped during start-up is unnamed beside it (captured on go1.25.1: 4 MiB at 0xc000000000,
  // then [anon: Go: heap]). So named heap mappings bring the unnamed read-write parts of the
  // arena runs they sit in.
  const named = snapshot.mappings.filter(m => m.path === HEAP_NAME)
  const method = named.length > 0 ? 'named' : 'layout'
  let mappings: Mapping[]
  if (method === 'named') {
    const runs = arenaShaped(snapshot.mappings, true).filter(run =>
      run.some(m => named.includes(m)),
    )
    mappings = [...new Set([...named, ...runs.flat()])].sort((a, b) => a.start - b.start)
  } else {
    mappings = arenaShaped(snapshot.mappings, false).flat()
  }
  const set = new Set(mappings)
  const mappedBytes = mappings.reduce((sum, m) => sum + m.end - m.start, 0)
  const result: GoHeapArenas = { method, mappings, mappedBytes, contains: m => set.has(m) }
  if (runtime) {
    const runtimeBytes = runtime.heapSys + runtime.stackInuse
    result.runtimeBytes = runtimeBytes
    // Nothing found confirms nothing, however small the heap the runtime counts.
    result.confirmed =
      mappings.length > 0 &&
      Math.abs(mappedBytes - runtimeBytes) <= Math.max(AGREE_WITHIN, AGREE_SHARE * runtimeBytes)
  }
  return result
}

/**
 * The rw-p parts of every run of anonymous mappings shaped like heap arenas, run by run; with
 * `named`, the runtime's heap and heap reservation names count as anonymous too.
 */
function arenaShaped(all: readonly Mapping[], named: boolean): Mapping[][] {
  const candidate = (m: Mapping) =>
    m.path === '' || (named && (m.path === HEAP_NAME || m.path === RESERVATION_NAME))
  const sorted = all
    .filter(m => candidate(m) && (m.perms === 'rw-p' || m.perms === '---p'))
    .sort((a, b) => a.start - b.start)
  const found: Mapping[][] = []
  let run: Mapping[] = []
  const close = () => {
    const first = run[0]
    const last = run.at(-1)
    const readWrite = run.filter(m => m.perms === 'rw-p')
    if (
      first &&
      last &&
      first.start % HEAP_ARENA === 0 &&
      last.end % HEAP_ARENA === 0 &&
      readWrite.length > 0 &&
      extents(readWrite).every(([lo, hi]) => lo % PALLOC_CHUNK === 0 && hi % PALLOC_CHUNK === 0)
    ) {
      found.push(readWrite)
    }
    run = []
  }
  for (const m of sorted) {
    if (run.length > 0 && run.at(-1)?.end !== m.start) close()
    run.push(m)
  }
  close()
  return found
}

/**
 * Adjacent mappings merged into [start, end) extents. The kernel splits one mapped range into
 * several where their flags differ: Go 1.19 marks the 2 MiB huge pages around a release
 * MADV_NOHUGEPAGE, so its arenas show rw-p pieces on 2 MiB boundaries.
 */
function extents(sorted: readonly Mapping[]): [number, number][] {
  const out: [number, number][] = []
  for (const m of sorted) {
    const open = out.at(-1)
    if (open && open[1] === m.start) open[1] = m.end
    else out.push([m.start, m.end])
  }
  return out
}
