/**
 * A debug=2 goroutine dump of 200k goroutines, in Go 1.19's format: most parked in a few leaking
 * workers, the rest spread over 500 other stacks 4–16 frames deep. Goroutines on one stack differ
 * in their pointer arguments (receivers, channels, interface data) only, as goroutines started by
 * one loop usually do; see bench/README.md for what happens to panicparse when small values
 * (an id per goroutine) differ too.
 * Seeded, so every run writes the same file.
 *
 * Two sources of random numbers. 'lcg', the default, is the generator every figure before
 * issue 13 was measured on, kept so that they compare: `seed * 1103515245` passes 2^53 in
 * doubles, low bits are lost and the sequence falls into a short cycle, so its dump holds only
 * 6,023 distinct call lines. 'mulberry32' (test/helpers/random.ts) gives what the description
 * says: every goroutine its own pointers (~1.4M distinct call lines), the case where bucketing
 * by any pointer has the most to compare.
 */
import { writeFileSync } from 'node:fs'
import { seededRandom } from '../test/helpers/random.ts'

export type DumpRandom = 'lcg' | 'mulberry32'

export function generateGoroutineDump(goroutines = 200_000, random: DumpRandom = 'lcg'): string {
  let seed = 7
  const lcg = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed / 2147483648
  }
  const rnd = random === 'lcg' ? lcg : seededRandom(7)
  const hex = (v: number) => `0x${Math.floor(v).toString(16)}`
  const states = [
    'chan receive',
    'select',
    'IO wait',
    'semacquire',
    'sleep',
    'chan send',
    'sync.Cond.Wait',
  ]
  const stacks = Array.from({ length: 500 }, (_, s) => {
    const depth = 4 + (s % 13)
    return Array.from({ length: depth }, (_, d) => ({
      func: `github.com/acme/orders/svc${s % 40}.(*Handler${d}).step${s}`,
      file: `/go/src/github.com/acme/orders/svc${s % 40}/handler${d}.go`,
      line: 20 + ((s * 7 + d) % 400),
    }))
  })
  const parts: string[] = []
  for (let g = 1; g <= goroutines; g++) {
    const leak = rnd() < 0.7
    const stack = leak
      ? (stacks[g % 3] as (typeof stacks)[number])
      : (stacks[Math.floor(rnd() * 500)] as (typeof stacks)[number])
    const state = leak ? 'chan receive' : (states[Math.floor(rnd() * states.length)] as string)
    const minutes = rnd() < 0.5 ? `, ${1 + Math.floor(rnd() * 90)} minutes` : ''
    parts.push(`goroutine ${g} [${state}${minutes}]:\n`)
    parts.push(
      `runtime.gopark(${hex(0x1000000 + rnd() * 0xffff)}?, ${hex(0xc000000000 + rnd() * 1e9)}?, 0x0?, 0x0?, 0x0?)\n\t/usr/lib/go-1.19/src/runtime/proc.go:363 +0xd6\n`,
    )
    for (const f of stack) {
      parts.push(
        `${f.func}(${hex(0xc000000000 + rnd() * 1e9)}, {${hex(0x7a0000 + rnd() * 0xffff)}?, ${hex(f.line % 64)}}, ${hex(f.line % 7)})\n\t${f.file}:${f.line} +${hex(f.line * 3)}\n`,
      )
    }
    parts.push(
      `created by github.com/acme/orders.(*Server).spawn\n\t/go/src/github.com/acme/orders/server.go:88 +0x1a5\n\n`,
    )
  }
  return parts.join('')
}

export function writeGoroutineDump(path: string, random: DumpRandom = 'lcg'): void {
  writeFileSync(path, generateGoroutineDump(200_000, random))
}
