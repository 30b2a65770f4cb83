/**
 * Where a run's time went, from the .cpuprofile that `node --cpu-prof` writes: milliseconds by
 * function (self and inclusive) and the hottest lines of the bundle (V8's position ticks). Given
 * several profiles (runs of the same command), it prints their mean: one cold run of a fraction
 * of a second holds a few thousand ticks, and which function a tier-up or a GC lands in varies.
 * The method is in bench/README.md ("Where the time goes"):
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --cpu-prof-interval 100 bin/gomemdoctor.js profile top F
 *   node --import tsx bench/cpuprof.ts /tmp/prof/CPU.*.cpuprofile [--top 25]   # one or more
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

interface CpuNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
  positionTicks?: { line: number; ticks: number }[]
}

interface CpuProfile {
  nodes: CpuNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

const { values, positionals } = parseArgs({
  options: { top: { type: 'string', default: '25' } },
  allowPositionals: true,
})
const top = Number(values.top)
if (positionals.length === 0) {
  console.error('usage: node --import tsx bench/cpuprof.ts FILE.cpuprofile... [--top N]')
  process.exit(2)
}
const runs = positionals.length
const self = new Map<string, number>()
const inclusive = new Map<string, number>()
const lines = new Map<string, number>()
const add = (map: Map<string, number>, key: string, n: number) =>
  map.set(key, (map.get(key) ?? 0) + n)
let total = 0
for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map(n => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const name = (n: CpuNode) =>
    `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber + 1}`

  // Each sample's time is the delta to the next one.
  const micros = new Map<number, number>()
  profile.samples.forEach((id, i) => {
    micros.set(id, (micros.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0))
  })
  for (const [id, us] of micros) {
    const node = byId.get(id) as CpuNode
    add(self, name(node), us)
    total += us
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const key = name(byId.get(at) as CpuNode)
      if (seen.has(key)) continue
      seen.add(key)
      add(inclusive, key, us)
    }
  }
  // Hot lines of the bundle: the bundle keeps one statement per line, so a line is a place.
  for (const n of profile.nodes)
    if (/\.mjs$/.test(n.callFrame.url))
      for (const t of n.positionTicks ?? []) add(lines, `${n.callFrame.url}:${t.line}`, t.ticks)
}
const ms = (us: number) => (us / runs / 1000).toFixed(1).padStart(8)
const table = (title: string, rows: Map<string, number>) => {
  console.log(`--- ${title}`)
  for (const [key, us] of [...rows].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${ms(us)} ms  ${key}`)
}
console.log(
  `${(total / runs / 1000).toFixed(0)} ms sampled${runs > 1 ? `, the mean of ${runs} profiles` : ''}`,
)
table('self', self)
table('inclusive', inclusive)

const sources = new Map<string, string[]>()
console.log(`--- hottest lines (ticks${runs > 1 ? `, summed over ${runs} profiles` : ''})`)
for (const [key, ticks] of [...lines].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  const at = key.lastIndexOf(':')
  const url = key.slice(0, at)
  const line = Number(key.slice(at + 1))
  if (!sources.has(url)) sources.set(url, readFileSync(new URL(url), 'utf8').split('\n'))
  const text = (sources.get(url)?.[line - 1] ?? '').trim().slice(0, 100)
  console.log(`${String(ticks).padStart(6)}  ${url.split('/').pop()}:${line}  ${text}`)
}
