import type { Evidence, Finding, Severity } from '../model/finding.ts'
import { type GoRuntimeMemory, type MemorySnapshot, rssOrGoResident } from '../model/snapshot.ts'
import { goAtLeast, greenTeaGC, parseGoVersion, type TargetFacts } from '../model/target.ts'
import { formatBytes, MiB } from '../model/units.ts'
import { confidence, type Detector, type Outcome } from './detector.ts'

/**
 * Heap spans in use but mostly empty: HeapInuse − HeapAlloc, a large share of the heap.
 *
 * Mechanism: the Go heap is made of spans (8 KiB and up), each holding objects of one size class.
 * A span goes back to the page heap, and from there to the OS, only when every object in it is
 * dead, and Go's collector never moves objects. When a burst of small objects dies except for a
 * few survivors spread across it (one in eight 1 KiB objects kept out of a batch, a cache that
 * keeps every n-th entry), every span keeps one live object: HeapInuse stays at the burst's size
 * while HeapAlloc drops to the survivors. Those holes are reused only by objects of the same size
 * class, so RSS stays up.
 *
 * Signature: HeapInuse − HeapAlloc ≥ 64 MiB and ≥ 30% of HeapInuse. A healthy heap wastes far less:
 * size classes round up by at most 12.5% (less for most), and partly used spans of the current
 * allocation are a few MiB; our healthy scenarios, small and 1 GiB, show 0.6 MiB.
 *
 * The layout floor: bytes in use that no object can take, whatever the program does. Spans of
 * pointerful objects up to 512 B keep their heap bitmap at the tail (Go ≥ 1.22), and Green Tea
 * (the default GC from Go 1.26) reserves 128 B more at the tail of every span of 16–512 B objects
 * for its inline mark bits. A class that filled its span exactly loses a slot: 512 B objects go
 * from 16 to 15 per 8 KiB span (6.25%), pointerful 448 B from 18 to 17 (7.03%, the worst class;
 * runtime/mheap.go (*mspan).init, go1.26.8). Measured on memsick healthy --large --object-bytes 512
 * (1 GiB of 512 B []byte kept live, 10 samples each): HeapInuse − HeapAlloc 69–79 MiB, 4.2–5.6% of
 * HeapInuse, on go1.26.8 and go1.27.3; 0.7 MiB (0.05%) on go1.19.8. With 256 B objects and 50 MiB:
 * 2.3–3.6% against 0.6–1.1%. Our other healthy heaps (16 KiB objects) stay near 1% on every Go.
 * That floor is above MIN_WASTE on a big heap of small objects, so the absolute threshold is
 * judged on the waste beyond it (GREEN_TEA_FLOOR of HeapInuse on Green Tea, SCAN_BITS_FLOOR
 * before); the 30% share stands far above either.
 *
 * What fools it: little. Objects of 32 KiB+ get their own span, rounded to pages (a 36 KiB object
 * in a 40 KiB span wastes 10%), so a heap of odd-sized large objects sits nearer the threshold.
 *
 * Fix: the survivors are the problem, not the garbage: copy them out of the batch so the batch's
 * spans can die. No Go version compacts the heap.
 * Reference: go/src/runtime/mheap.go, mcentral.go (go1.19): spans freed only when empty (freeSpan);
 * runtime/sizeclasses.go (the 12.5% tail waste bound); go1.26.8 runtime/mheap.go (*mspan).init and
 * mgcmark_greenteagc.go gcUsesSpanInlineMarkBits (the 128 B tail, objects of 16–512 B).
 */

/** Below this the waste is noise next to stacks, binaries and page tables. */
const MIN_WASTE = 64 * MiB
/** Share of HeapInuse in empty slots; size-class rounding alone stays under 12.5%. */
const MIN_SHARE_OF_INUSE = 0.3
/**
 * The worst layout floor of a heap of small objects, as a share of HeapInuse: Green Tea's 128 B
 * tail on top of the heap bitmap costs pointerful 448 B objects one slot in 18 (7.03%).
 */
const GREEN_TEA_FLOOR = 0.0703
/** Before Green Tea: the heap bitmap at the tail of pointerful 480–512 B spans (6.25%, Go ≥ 1.22). */
const SCAN_BITS_FLOOR = 0.0625
/** Shares of RSS at which the waste becomes a warning, then critical (as madv-free-retention). */
const WARNING_SHARE_OF_RSS = 0.25
const CRITICAL_SHARE_OF_RSS = 0.5

interface Measured {
  snapshot: MemorySnapshot
  runtime: GoRuntimeMemory
  waste: number
  rss: number
}

function measure(snapshot: MemorySnapshot): Measured | undefined {
  const runtime = snapshot.runtime
  if (!runtime) return undefined
  const rss = rssOrGoResident(snapshot, runtime)
  return { snapshot, runtime, waste: runtime.heapInuse - runtime.heapAlloc, rss }
}

/** The share of HeapInuse that span layout may hold on this Go without any fragmentation. */
function layoutFloor(target: TargetFacts): number {
  if (greenTeaGC(target)) return GREEN_TEA_FLOOR
  const version = parseGoVersion(target.goVersion)
  return version && !goAtLeast(version, 22) ? 0 : SCAN_BITS_FLOOR
}

function holds(m: Measured, floor: number): boolean {
  const { heapInuse } = m.runtime
  return m.waste - floor * heapInuse >= MIN_WASTE && m.waste >= MIN_SHARE_OF_INUSE * heapInuse
}

function fixesFor(target: TargetFacts): string[] {
  const version = parseGoVersion(target.goVersion)
  const clone = (minor: number, name: string, before: string) =>
    !version || goAtLeast(version, minor) ? name : `${before} (${name} needs Go 1.${minor})`
  return [
    `copy the objects you keep out of a large short-lived batch, so the batch's spans empty and can be returned: ${clone(18, 'strings.Clone', 'string([]byte(s))')}, ${clone(20, 'bytes.Clone', 'append([]byte(nil), b...)')}, ${clone(21, 'slices.Clone', 'append(T(nil), s...)')}`,
    'allocate long-lived objects apart from short-lived ones (build the survivors in a second pass, or keep them in one preallocated slice instead of many small objects)',
    'no Go version compacts the heap: short of the change above, only a restart packs the live objects again',
  ]
}

export const fragmentation: Detector = {
  id: 'fragmentation',
  needs: ['runtime.memstats'],
  detect({ target, series }): Outcome {
    const measured = series.map(measure).filter(m => m !== undefined)
    const last = measured.at(-1)
    if (!last) return { kind: 'unknown', missing: ['runtime.memstats'] }
    const floor = layoutFloor(target)
    const worst = measured.reduce((a, b) => (b.waste > a.waste ? b : a))
    if (!holds(worst, floor)) return { kind: 'clear' }

    const current = holds(last, floor)
    const shown = current ? last : worst
    const { runtime } = shown
    const source = runtime.source
    const share = shown.waste / runtime.heapInuse
    const evidence: Evidence[] = [
      { label: 'HeapInuse', value: runtime.heapInuse, unit: 'bytes', source },
      { label: 'HeapAlloc', value: runtime.heapAlloc, unit: 'bytes', source },
      { label: 'HeapInuse − HeapAlloc', value: shown.waste, unit: 'bytes', source },
      { label: 'share of HeapInuse', value: share, unit: 'ratio', source },
    ]
    if (runtime.heapObjects) {
      evidence.push({ label: 'HeapObjects', value: runtime.heapObjects, unit: 'count', source })
      evidence.push({
        label: 'mean object size (HeapAlloc ÷ HeapObjects)',
        value: Math.round(runtime.heapAlloc / runtime.heapObjects),
        unit: 'bytes',
        source,
      })
    }
    evidence.push({
      label: 'span layout floor on this Go (share of HeapInuse, not fragmentation)',
      value: floor,
      unit: 'ratio',
      source: `${target.goVersion ?? 'unknown Go'} (${greenTeaGC(target) ? 'Green Tea GC' : 'heap bits in span'})`,
    })
    if (shown.snapshot.status) {
      evidence.unshift({
        label: 'RSS',
        value: shown.rss,
        unit: 'bytes',
        source: shown.snapshot.status.source,
      })
    }

    let summary =
      `${formatBytes(shown.waste)} of the heap (${Math.round(share * 100)}% of HeapInuse ${formatBytes(runtime.heapInuse)}) ` +
      `is empty slots in spans that still hold a live object: only ${formatBytes(runtime.heapAlloc)} is allocated. ` +
      'Go never moves objects, so a span is freed only when all its objects die; until then these bytes stay in RSS, ' +
      'reusable only by objects of the same size.'
    if (!current) {
      summary += ` That was the peak during the window; by its end the waste was ${formatBytes(last.waste)}.`
    }
    const rssShare = shown.waste / shown.rss
    const severity: Severity = !current
      ? 'info'
      : rssShare >= CRITICAL_SHARE_OF_RSS
        ? 'critical'
        : rssShare >= WARNING_SHARE_OF_RSS
          ? 'warning'
          : 'info'

    const finding: Finding = {
      id: 'fragmentation',
      severity,
      // Both numbers are the runtime's own; what is inferred is only that the holes persist,
      // which a waste seen at every sample makes likelier.
      confidence: confidence(measured.every(m => holds(m, floor)) ? 0.9 : 0.75),
      title: current
        ? 'Heap spans held by a few live objects each'
        : 'Heap spans were held by a few live objects, less so by the end',
      summary,
      evidence,
      fixes: fixesFor(target),
      bytesExplained: current ? last.waste : 0,
    }
    if (current) {
      finding.whatIf = {
        rssBytes: last.rss - last.waste,
        explanation: 'RSS once the live objects sit in full spans (copied out, or after a restart)',
      }
    } else finding.resolvedDuringWindow = true
    return { kind: 'finding', finding }
  },
}
