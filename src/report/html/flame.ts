/**
 * The icicle of allocation sites for the report: growth of in-use heap bytes between the heap
 * profiles at the window's edges, as a call tree from the root, flattened in preorder with names
 * interned and pre-shortened, plus the top growing sites. Pure; the browser only draws it.
 */
import type { Edges } from '../../model/edges.ts'
import { diffProfiles } from '../../model/heap-diff.ts'
import { locationNames, type Profile, sampleTypeIndex } from '../../model/heap-profile.ts'
import { heapTop } from '../../model/heap-top.ts'
import { formatBytes } from '../../model/units.ts'

/** Icicle nodes narrower than this share of the total are left out (under a pixel). */
const FLAME_MIN_SHARE = 0.0005
const FLAME_MAX_NODES = 5000
const TOP_ROWS = 15

/** An icicle in preorder: node i sits at depth[i], under the nearest earlier node one level up. */
export interface FlameView {
  title: string
  source: string
  total: number
  totalText: string
  /** Full function names (tooltips) and short ones (labels), by index. */
  names: string[]
  shortNames: string[]
  depth: number[]
  name: number[]
  value: number[]
  top: { name: string; flat: string; cum: string; flatShare: number }[]
}

/**
 * The icicle of allocation sites: growth of in-use bytes from the first heap profile to the last
 * when both were read (only the sites that grew), else the in-use bytes of the one profile.
 */
export function flameView(profiles: Edges<Profile>): FlameView | null {
  let diff: Profile | undefined
  try {
    diff = profiles.first ? diffProfiles(profiles.first, profiles.last) : undefined
  } catch {
    // Profiles of different sample types cannot be subtracted: the last one is still shown.
    diff = undefined
  }
  const grown = diff ? allocationTree(diff) : undefined
  // Nothing grew (or one profile only): the sites holding the heap at the end are still worth seeing.
  if (!grown || grown.root.value <= 0) diff = undefined
  const tree = diff ? grown : allocationTree(profiles.last)
  if (!tree || tree.root.value <= 0) return null
  const profile = diff ?? profiles.last
  const { root, names } = tree

  const view: FlameView = {
    title: diff
      ? 'growth of in-use heap bytes by allocation site, from the first heap profile to the last'
      : 'in-use heap bytes by allocation site',
    source: diff ? `${profiles.source} (last − first)` : profiles.source,
    total: root.value,
    totalText: `${diff ? '+' : ''}${formatBytes(root.value)}`,
    names: [],
    shortNames: [],
    depth: [],
    name: [],
    value: [],
    top: [],
  }
  const used = new Map<number, number>()
  const minValue = root.value * FLAME_MIN_SHARE
  const stack: [FlameNode, number][] = [[root, 0]]
  while (stack.length > 0 && view.depth.length < FLAME_MAX_NODES) {
    const [node, depth] = stack.pop() as [FlameNode, number]
    let id = used.get(node.name)
    if (id === undefined) {
      id = view.names.length
      used.set(node.name, id)
      const full = names[node.name] as string
      view.names.push(full)
      view.shortNames.push(shortName(full))
    }
    view.depth.push(depth)
    view.name.push(id)
    view.value.push(node.value)
    // Largest child first (leftmost); pushed in reverse so it pops first.
    const children = [...node.children.values()]
      .filter(c => c.value >= minValue)
      .sort((a, b) => b.value - a.value)
    for (let i = children.length - 1; i >= 0; i--) stack.push([children[i] as FlameNode, depth + 1])
  }
  const top = heapTop(profile, { sampleType: 'inuse_space', limit: TOP_ROWS * 2 })
  const sign = (v: number) => (diff && v > 0 ? '+' : '')
  view.top = top.rows
    .filter(row => row.flat > 0)
    .slice(0, TOP_ROWS)
    .map(row => ({
      name: row.name,
      flat: `${sign(row.flat)}${formatBytes(row.flat)}`,
      cum: `${sign(row.cum)}${formatBytes(row.cum)}`,
      flatShare: root.value > 0 ? row.flat / root.value : 0,
    }))
  return view
}

interface FlameNode {
  name: number
  value: number
  children: Map<number, FlameNode>
}

/** The positive in-use bytes of a profile as a call tree from the root, names interned. */
function allocationTree(profile: Profile): { root: FlameNode; names: string[] } | undefined {
  const type = sampleTypeIndex(profile, 'inuse_space')
  if (type < 0) return undefined
  const width = profile.sampleTypes.length
  const { count, values, location, locationStart } = profile.samples

  const names: string[] = []
  const nameIds = new Map<string, number>()
  const nameId = (text: string) => {
    let id = nameIds.get(text)
    if (id === undefined) {
      id = names.length
      names.push(text)
      nameIds.set(text, id)
    }
    return id
  }
  const root: FlameNode = { name: nameId('all'), value: 0, children: new Map() }
  const locationCache = new Map<number, number[]>()
  for (let s = 0; s < count; s++) {
    const v = values[s * width + type] as number
    if (v <= 0) continue
    root.value += v
    let node = root
    // Stacks are stored leaf first; an icicle hangs from the root.
    for (let i = (locationStart[s + 1] as number) - 1; i >= (locationStart[s] as number); i--) {
      const loc = location[i] as number
      let frames = locationCache.get(loc)
      if (!frames) {
        const inner = locationNames(profile, loc)
        frames = (inner.length > 0 ? inner : ['?']).reverse().map(nameId)
        locationCache.set(loc, frames)
      }
      for (const frame of frames) {
        let child = node.children.get(frame)
        if (!child) {
          child = { name: frame, value: 0, children: new Map() }
          node.children.set(frame, child)
        }
        child.value += v
        node = child
      }
    }
  }
  return { root, names }
}

/** 'github.com/acme/orders/cache.(*LRU).Add' → 'cache.(*LRU).Add': the package's last element. */
export function shortName(name: string): string {
  const paren = name.indexOf('(')
  const head = paren < 0 ? name : name.slice(0, paren)
  const slash = head.lastIndexOf('/')
  return slash < 0 ? name : name.slice(slash + 1)
}
