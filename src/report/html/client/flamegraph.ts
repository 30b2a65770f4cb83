/**
 * An icicle of allocation sites on a canvas: the root on top, callees below, width by bytes.
 * Names are drawn with fillText and shown in the tooltip with textContent, so a function named
 * `<img onerror=…>` is only ever text. Click a frame to zoom to it; click the top bar to zoom out.
 */
import type { FlameView } from '../view-model.ts'
import { el } from './dom.ts'
import { bytes, percent } from './format.ts'

const ROW = 20
const FONT = '12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace'

interface Box {
  x: number
  depth: number
  node: number
}

export function createFlamegraph(root: HTMLElement, flame: FlameView): void {
  const canvas = el('canvas', { class: 'flame-canvas', role: 'img' })
  canvas.setAttribute('aria-label', flame.title)
  const tip = el('div', { class: 'flame-tip', hidden: '' })
  const crumb = el('p', { class: 'flame-crumb muted' })
  root.replaceChildren(crumb, el('div', { class: 'flame-wrap' }, canvas, tip))

  // Preorder → x offsets: a node starts where its parent's next child starts. `open` holds the
  // chain of nodes the current one hangs from, which gives parents and subtree ends.
  const boxes: Box[] = []
  const parent: number[] = []
  const end: number[] = []
  const cursor: number[] = []
  const open: number[] = []
  let maxDepth = 0
  flame.depth.forEach((depth, i) => {
    while (open.length > depth) end[open.pop() as number] = i
    const x = depth === 0 ? 0 : (cursor[depth] ?? 0)
    boxes.push({ x, depth, node: i })
    parent.push(open.at(-1) ?? -1)
    open.push(i)
    cursor[depth] = x + (flame.value[i] ?? 0)
    cursor[depth + 1] = x
    maxDepth = Math.max(maxDepth, depth)
  })
  for (const i of open) end[i] = boxes.length

  let zoom = 0
  const parentOf = (i: number): number => parent[i] ?? -1
  const ancestors = (i: number): number[] => {
    const chain: number[] = []
    for (let j = i; j >= 0; j = parentOf(j)) chain.unshift(j)
    return chain
  }

  const draw = () => {
    const width = Math.max(300, root.clientWidth)
    const height = (maxDepth + 1) * ROW
    const dpr = window.devicePixelRatio || 1
    canvas.width = Math.round(width * dpr)
    canvas.height = Math.round(height * dpr)
    canvas.style.width = `${width}px`
    canvas.style.height = `${height}px`
    const ctx = canvas.getContext('2d')
    if (!ctx) return
    ctx.scale(dpr, dpr)
    ctx.font = FONT
    ctx.textBaseline = 'middle'
    const focus = boxes[zoom] as Box
    const focusValue = flame.value[zoom] ?? 1
    const scale = width / focusValue
    const path = new Set(ancestors(zoom))
    boxes.forEach((box, i) => {
      const value = flame.value[i] ?? 0
      let x: number
      let w: number
      if (path.has(i) && i !== zoom) {
        x = 0
        w = width
      } else {
        x = (box.x - focus.x) * scale
        w = value * scale
        if (box.depth < focus.depth || x + w <= 0 || x >= width) return
        if (!isInside(i, zoom)) return
      }
      if (w < 0.5) return
      const y = box.depth * ROW
      const name = flame.shortNames[flame.name[i] ?? 0] ?? ''
      ctx.fillStyle = box.depth === 0 ? '#d1d5db' : colorFor(name, path.has(i) && i !== zoom)
      ctx.fillRect(x, y, Math.max(w - 1, 0.5), ROW - 1)
      if (w > 36) {
        ctx.fillStyle = '#111827'
        ctx.fillText(truncateToWidth(ctx, name, w - 8), x + 4, y + ROW / 2)
      }
    })
    crumb.textContent =
      zoom === 0
        ? `${flame.totalText} in all · click a frame to zoom in`
        : `zoomed to ${flame.names[flame.name[zoom] ?? 0] ?? ''} (${bytes(flame.value[zoom])}) · click the top bar to zoom out`
  }

  /** True when node i is `top` or below it: its preorder range. */
  const isInside = (i: number, top: number): boolean => i >= top && i < (end[top] ?? 0)

  const hit = (event: MouseEvent): number => {
    const rect = canvas.getBoundingClientRect()
    const px = event.clientX - rect.left
    const depth = Math.floor((event.clientY - rect.top) / ROW)
    const width = rect.width
    const focus = boxes[zoom] as Box
    const scale = width / (flame.value[zoom] ?? 1)
    const path = ancestors(zoom)
    if (depth < focus.depth) return path[depth] ?? -1
    for (let i = zoom; i < boxes.length; i++) {
      const box = boxes[i] as Box
      if (box.depth !== depth || !isInside(i, zoom)) continue
      const x = (box.x - focus.x) * scale
      if (px >= x && px < x + (flame.value[i] ?? 0) * scale) return i
    }
    return -1
  }

  canvas.addEventListener('mousemove', event => {
    const i = hit(event)
    if (i < 0) {
      tip.hidden = true
      return
    }
    const value = flame.value[i] ?? 0
    tip.replaceChildren(
      el('strong', {}, flame.names[flame.name[i] ?? 0] ?? ''),
      el('span', {}, `${bytes(value)} · ${percent(value / flame.total)} of ${flame.totalText}`),
    )
    tip.hidden = false
    const rect = canvas.getBoundingClientRect()
    const left = Math.min(event.clientX - rect.left + 12, rect.width - 320)
    tip.style.left = `${Math.max(0, left)}px`
    tip.style.top = `${event.clientY - rect.top + 16}px`
  })
  canvas.addEventListener('mouseleave', () => {
    tip.hidden = true
  })
  canvas.addEventListener('click', event => {
    const i = hit(event)
    if (i < 0) return
    zoom = i === zoom ? Math.max(0, parentOf(i)) : i
    draw()
  })
  window.addEventListener('resize', draw)
  draw()
}

/** Warm colours as in flame graphs, stable per name; the zoomed-out path is greyed. */
function colorFor(name: string, dim: boolean): string {
  let hash = 0
  for (let i = 0; i < name.length; i++) hash = (hash * 31 + name.charCodeAt(i)) | 0
  const hue = 10 + (Math.abs(hash) % 40)
  return dim ? `hsl(${hue} 20% 82%)` : `hsl(${hue} 85% ${62 + (Math.abs(hash >> 8) % 14)}%)`
}

function truncateToWidth(ctx: CanvasRenderingContext2D, text: string, width: number): string {
  if (ctx.measureText(text).width <= width) return text
  let low = 0
  let high = text.length
  while (low < high) {
    const mid = Math.ceil((low + high) / 2)
    if (ctx.measureText(`${text.slice(0, mid)}…`).width <= width) low = mid
    else high = mid - 1
  }
  return low === 0 ? '' : `${text.slice(0, low)}…`
}
