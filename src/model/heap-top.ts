/**
 * `go tool pprof -top` at its default granularity (functions), on the typed-array profile.
 *
 * Semantics follow google/pprof internal/graph newGraph: a node is a function name (inlined
 * frames are nodes of their own); flat goes to the innermost line of a sample's first location;
 * cum goes once per sample to every node on its stack, so recursion is counted once; samples whose
 * value is zero are skipped. Percentages are of the sum of absolute values (computeTotal), so a
 * diff's shrinking sites show as negative rows. Rows sort by |flat|, then name, then |cum|
 * (FlatNameOrder), or by |cum|, then name, then |flat| (CumNameOrder).
 */
import { type Profile, sampleTypeIndex, type ValueType } from './heap-profile.ts'

/** A profile's tables: what top reads besides the samples. */
export type ProfileTables = Omit<Profile, 'samples'>

/**
 * The samples as top reads them, in three kinds of pass, each over every sample in order. The
 * model's samples are one source (modelSamples); the pprof decoder's bytes, decoded per pass
 * without storing the frames, are another (`profile top`), whose passes read only what each
 * needs. Only values of sample type `typeIndex` count, and samples whose value is zero are
 * skipped by leafSums and markFrames.
 */
export interface TopSamples {
  /**
   * Every sample's location indexes locations[from..to) (leaf first) and its value at values[at]
   * (an index, not the number: a double passed to a call is boxed, 16 bytes of garbage a sample,
   * until the code is optimised).
   */
  forEach(
    typeIndex: number,
    visit: (
      locations: Uint32Array,
      from: number,
      to: number,
      values: Float64Array,
      at: number,
    ) => void,
  ): void
  /**
   * The values summed by each sample's first location (its leaf), by location index, and the
   * sum of |value| over all samples. A source may read no more of a sample than its leaf and
   * values: a pass that reads every frame (forEach or markFrames) follows.
   */
  leafSums(typeIndex: number): LeafSums
  /**
   * For each frame of each sample with a non-zero value v, by its location l: state[l] 0 becomes
   * 1 (seen); 1 stays; 2 and 3 become 3 and visit(l, v, s) is called, s numbering the sample
   * (a location on a stack twice is visited twice). One read of a byte per frame, for the cum of
   * the few nodes a table shows (heap-top's shownCumPass).
   */
  markFrames(
    typeIndex: number,
    state: Uint8Array,
    visit: (location: number, value: number, sample: number) => void,
  ): void
}

export interface LeafSums {
  /** By location index: the sum of the values of the samples whose leaf it is. */
  byLocation: Float64Array
  /** Sum of |value| over all samples. */
  total: number
  /** Some value is above zero; some is below (a diff's). */
  positive: boolean
  negative: boolean
}

/** The stored samples of `profile` as a TopSamples. */
export function modelSamples(profile: Profile): TopSamples {
  const { values, location, locationStart, count } = profile.samples
  const width = profile.sampleTypes.length
  return {
    forEach(typeIndex, visit) {
      for (let s = 0; s < count; s++)
        visit(
          location,
          locationStart[s] as number,
          locationStart[s + 1] as number,
          values,
          s * width + typeIndex,
        )
    },
    leafSums(typeIndex) {
      const sums = emptyLeafSums(profile.locations.id.length)
      for (let s = 0; s < count; s++) {
        const v = values[s * width + typeIndex] as number
        const from = locationStart[s] as number
        addToLeafSums(
          sums,
          from < (locationStart[s + 1] as number) ? (location[from] as number) : -1,
          v,
        )
      }
      return sums
    },
    markFrames(typeIndex, state, visit) {
      for (let s = 0; s < count; s++) {
        const v = values[s * width + typeIndex] as number
        if (v === 0) continue
        const from = locationStart[s] as number
        markLocations(location, from, locationStart[s + 1] as number, state, v, s, visit)
      }
    },
  }
}

/**
 * markFrames' rule over the frames locations[from..to) of one sample of non-zero value `v`
 * (state 0 becomes 1; 2 and 3 become 3 and call visit), for a source that holds the sample's
 * location indexes in an array. The pprof decoder applies the same rule to ids it reads straight
 * from the bytes.
 */
export function markLocations(
  locations: Uint32Array,
  from: number,
  to: number,
  state: Uint8Array,
  v: number,
  sample: number,
  visit: (location: number, value: number, sample: number) => void,
): void {
  for (let i = from; i < to; i++) {
    const l = locations[i] as number
    const seen = state[l] as number
    if (seen === 1) continue
    if (seen === 0) state[l] = 1
    else {
      state[l] = 3
      visit(l, v, sample)
    }
  }
}

export function emptyLeafSums(locationCount: number): LeafSums {
  return { byLocation: new Float64Array(locationCount), total: 0, positive: false, negative: false }
}

/** Adds a sample of value `v` whose leaf is location `leaf` (-1: it has no frames) to `sums`. */
export function addToLeafSums(sums: LeafSums, leaf: number, v: number): void {
  if (v === 0) return
  if (v > 0) sums.positive = true
  else sums.negative = true
  sums.total += Math.abs(v)
  if (leaf >= 0) sums.byLocation[leaf] = (sums.byLocation[leaf] as number) + v
}

export interface TopRow {
  /** Function name; an unsymbolized location shows as its address, 0x…. */
  name: string
  /** Value where this function is the innermost frame. */
  flat: number
  /** Value of every sample with this function anywhere on its stack. */
  cum: number
  /** flat and cum as a percentage of `total`. */
  flatPercent: number
  cumPercent: number
  /** Running sum of flat% down the table, as pprof prints it. */
  sumPercent: number
}

export interface TopReport {
  source: string
  sampleType: ValueType
  /** Sum of |value| over all samples. */
  total: number
  /** Nodes with a non-zero flat or cum, before the row limit. */
  nodeCount: number
  rows: TopRow[]
}

export interface TopOptions {
  /** Name ('inuse_space') or position; default: the profile's default sample type. */
  sampleType?: string
  /** Rows to keep; default 20; Infinity for all. */
  limit?: number
  sortBy?: 'flat' | 'cum'
}

/** The top functions by one sample type. Throws RangeError naming the choices for a bad type. */
export function heapTop(profile: Profile, options: TopOptions = {}): TopReport {
  return topOfSamples(profile, modelSamples(profile), options)
}

/** heapTop over `samples` read from any source, with `profile`'s tables. */
export function topOfSamples(
  profile: ProfileTables,
  samples: TopSamples,
  options: TopOptions = {},
): TopReport {
  const typeIndex = sampleTypeIndex(profile, options.sampleType)
  const sampleType = profile.sampleTypes[typeIndex]
  if (!sampleType)
    throw new RangeError(
      `no sample type ${options.sampleType ?? ''}; the profile has ${profile.sampleTypes.map(t => t.type).join(', ')}`,
    )
  const graph = functionNodes(profile)
  const names = graph.nodeNames
  const limit = options.limit ?? 20
  const byFlat = options.sortBy !== 'cum'
  const { flat, total, mixedSigns } = flatPass(samples, graph, typeIndex)
  const flatNodes: number[] = []
  for (let n = 0; n < names.length; n++) if (flat[n] !== 0) flatNodes.push(n)
  const top = { source: profile.source, sampleType, total }

  // Sorted by flat, rows are ordered by |flat| and then by name, which is unique to a node, so
  // cum never decides the order: it is needed for the rows shown only. With values of one sign,
  // a node's cum is non-zero exactly when the node is on a stack with a value, so one pass that
  // sums the shown nodes and marks the locations seen gives the rows and the count that summing
  // every node would, without a write per frame (3× faster on a 1M-sample profile's 15M frames).
  if (byFlat && !mixedSigns && flatNodes.length >= limit) {
    const shown = firstInOrder(flatNodes, limit, order(flat, undefined, names))
    const { cum, onStack } = shownCumPass(samples, graph, typeIndex, shown)
    let nodeCount = flatNodes.length
    for (let n = 0; n < names.length; n++) if (onStack[n] === 1 && flat[n] === 0) nodeCount++
    return { ...top, nodeCount, rows: rows(shown, names, flat, i => cum[i] as number, total) }
  }
  const cum = cumPass(samples, graph, typeIndex)
  const ids: number[] = []
  for (let n = 0; n < names.length; n++) if (flat[n] !== 0 || cum[n] !== 0) ids.push(n)
  ids.sort(byFlat ? order(flat, cum, names) : order(cum, flat, names))
  const shown = ids.slice(0, limit)
  const rowsShown = rows(shown, names, flat, i => cum[shown[i] as number] as number, total)
  return { ...top, nodeCount: ids.length, rows: rowsShown }
}

type NodeGraph = ReturnType<typeof functionNodes>

/** pprof's FlatNameOrder and CumNameOrder: |first| descending, then name, then |second|. */
function order(first: Float64Array, second: Float64Array | undefined, names: string[]) {
  return (a: number, b: number): number => {
    const d = Math.abs(first[b] as number) - Math.abs(first[a] as number)
    if (d !== 0) return d
    const na = names[a] as string
    const nb = names[b] as string
    if (na !== nb) return na < nb ? -1 : 1
    return second ? Math.abs(second[b] as number) - Math.abs(second[a] as number) : 0
  }
}

/**
 * The first `limit` of `ids` in the order of `compare`, sorted: a bounded insertion, since most
 * ids lose their first comparison (no full sort of tens of thousands of nodes for 20 rows).
 */
function firstInOrder(ids: number[], limit: number, compare: (a: number, b: number) => number) {
  const best: number[] = []
  for (const id of ids) {
    if (best.length === limit && compare(id, best[limit - 1] as number) >= 0) continue
    let lo = 0
    let hi = best.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compare(id, best[mid] as number) < 0) hi = mid
      else lo = mid + 1
    }
    best.splice(lo, 0, id)
    if (best.length > limit) best.pop()
  }
  return best
}

/** The table rows of nodes `shown`, in order; `cumAt(i)` is the cum of the i-th. */
function rows(
  shown: number[],
  names: string[],
  flat: Float64Array,
  cumAt: (i: number) => number,
  total: number,
): TopRow[] {
  const percent = (v: number) => (total === 0 ? 0 : (100 * v) / total)
  let running = 0
  return shown.map((n, i) => {
    running += flat[n] as number
    return {
      name: names[n] as string,
      flat: flat[n] as number,
      cum: cumAt(i),
      flatPercent: percent(flat[n] as number),
      cumPercent: percent(cumAt(i)),
      sumPercent: percent(running),
    }
  })
}

/**
 * Flat per node (the innermost line of each sample's first location) and the absolute total,
 * folded from the sums by leaf location: sums of whole numbers (int64 values), exact below 2^53
 * in any order.
 */
function flatPass(samples: TopSamples, graph: NodeGraph, typeIndex: number) {
  const { locNodeStart, locNodes } = graph
  const { byLocation, total, positive, negative } = samples.leafSums(typeIndex)
  const flat = new Float64Array(graph.nodeNames.length)
  for (let l = 0; l < byLocation.length; l++) {
    const v = byLocation[l] as number
    if (v === 0) continue
    const leaf = locNodes[locNodeStart[l] as number] as number
    flat[leaf] = (flat[leaf] as number) + v
  }
  return { flat, total, mixedSigns: positive && negative }
}

/**
 * Cum of every node: once per sample for each node on its stack, however often it recurs. The
 * per-sample "seen" set is a stamp array (the sample's number per node): no Set, no objects.
 */
function cumPass(samples: TopSamples, graph: NodeGraph, typeIndex: number): Float64Array {
  const { locNodeStart, locNodes } = graph
  const nodeCount = graph.nodeNames.length
  // Most locations are one frame: their node is read straight, without the inner loop.
  const only = onlyNodes(graph)
  const cum = new Float64Array(nodeCount)
  const stamp = new Int32Array(nodeCount)
  let mark = 0
  samples.forEach(typeIndex, (location, from, to, values, at) => {
    const v = values[at] as number
    mark++
    if (v === 0) return
    for (let i = from; i < to; i++) {
      const loc = location[i] as number
      const one = only[loc] as number
      if (one >= 0) {
        if (stamp[one] !== mark) {
          stamp[one] = mark
          cum[one] = (cum[one] as number) + v
        }
        continue
      }
      for (let n = locNodeStart[loc] as number; n < (locNodeStart[loc + 1] as number); n++) {
        const node = locNodes[n] as number
        if (stamp[node] !== mark) {
          stamp[node] = mark
          cum[node] = (cum[node] as number) + v
        }
      }
    }
  })
  return cum
}

/** Location l's node when it has exactly one, else -1. */
function onlyNodes({ locNodeStart, locNodes }: NodeGraph): Int32Array {
  const only = new Int32Array(locNodeStart.length - 1)
  for (let l = 0; l < only.length; l++)
    only[l] =
      (locNodeStart[l + 1] as number) - (locNodeStart[l] as number) === 1
        ? (locNodes[locNodeStart[l] as number] as number)
        : -1
  return only
}

/**
 * Cum of the `shown` nodes only (cum[i] for shown[i]), and which nodes are on a stack with a
 * non-zero value (onStack[n] === 1). Per frame, one read of a byte per location: 0 not seen
 * yet, 1 seen, 2 holds a shown node and not seen yet, 3 holds a shown node; only the first
 * sight of a location and locations holding a shown node write.
 */
function shownCumPass(samples: TopSamples, graph: NodeGraph, typeIndex: number, shown: number[]) {
  const { locNodeStart, locNodes } = graph
  const nodeCount = graph.nodeNames.length
  const slot = new Int32Array(nodeCount).fill(-1)
  shown.forEach((n, i) => {
    slot[n] = i
  })
  const locCount = locNodeStart.length - 1
  const state = new Uint8Array(locCount)
  for (let l = 0; l < locCount; l++)
    for (let k = locNodeStart[l] as number; k < (locNodeStart[l + 1] as number); k++)
      if ((slot[locNodes[k] as number] as number) >= 0) state[l] = 2
  const cum = new Float64Array(shown.length)
  // Sample numbers start at 0: a stamp of -1 is no sample's.
  const stamp = new Int32Array(shown.length).fill(-1)
  samples.markFrames(typeIndex, state, (loc, v, sample) => {
    for (let k = locNodeStart[loc] as number; k < (locNodeStart[loc + 1] as number); k++) {
      const at = slot[locNodes[k] as number] as number
      if (at >= 0 && stamp[at] !== sample) {
        stamp[at] = sample
        cum[at] = (cum[at] as number) + v
      }
    }
  })
  const onStack = new Uint8Array(nodeCount)
  for (let l = 0; l < locCount; l++)
    if ((state[l] as number) & 1)
      for (let k = locNodeStart[l] as number; k < (locNodeStart[l + 1] as number); k++)
        onStack[locNodes[k] as number] = 1
  return { cum, onStack }
}

/**
 * Node ids at function granularity: one per distinct function name (pprof clears file names at
 * this granularity, so same-named functions merge), one per address for unsymbolized locations.
 * locNodes[locNodeStart[l] .. locNodeStart[l+1]) are location l's nodes, innermost first.
 */
export function functionNodes(profile: ProfileTables): {
  nodeNames: string[]
  locNodeStart: Uint32Array
  locNodes: Uint32Array
} {
  const nodeNames: string[] = []
  const byName = new Map<string, number>()
  const node = (name: string): number => {
    let id = byName.get(name)
    if (id === undefined) {
      id = nodeNames.length
      nodeNames.push(name)
      byName.set(name, id)
    }
    return id
  }
  const fnNames = profile.functions.name
  const fnNode = new Uint32Array(fnNames.length)
  for (let f = 0; f < fnNames.length; f++) fnNode[f] = node(fnNames[f] as string)
  const { lineStart, lineFunction, address } = profile.locations
  const locCount = address.length
  const locNodeStart = new Uint32Array(locCount + 1)
  const locNodes = new Uint32Array(lineFunction.length + locCount)
  let k = 0
  for (let l = 0; l < locCount; l++) {
    locNodeStart[l] = k
    const from = lineStart[l] as number
    const to = lineStart[l + 1] as number
    if (from === to) locNodes[k++] = node(`0x${(address[l] as number).toString(16)}`)
    for (let i = from; i < to; i++) locNodes[k++] = fnNode[lineFunction[i] as number] as number
  }
  locNodeStart[locCount] = k
  return { nodeNames, locNodeStart, locNodes: locNodes.subarray(0, k) }
}
