import assert from 'node:assert/strict'
import { test } from 'node:test'
import { seededRandom } from '../../../test/helpers/random.ts'
import { maskPointers } from '../../model/goroutine-buckets.ts'
import { type Frame, FrameTable } from '../../model/goroutines.ts'
import { FrameMatcher, maskInto } from './goroutine-frames.ts'

/** Each stack of `lines` (call, file, call, file …) through one matcher: the frames it names. */
function match(stacks: string[][], args: boolean, maskPointers = false): Frame[][] {
  const text = stacks.map(lines => `${lines.join('\n')}\n`).join('')
  const bytes = Buffer.from(text)
  const table = new FrameTable()
  const parse = (call: string, location: string): Frame => {
    const open = call.lastIndexOf('(')
    return { func: call.slice(0, open), args: call.slice(open + 1, -1), file: location, line: 0 }
  }
  const matcher = new FrameMatcher(table, parse, args, maskPointers)
  matcher.setChunk(bytes)
  let at = 0
  return stacks.map(lines => {
    matcher.node = 0
    const frames: number[] = []
    for (let i = 0; i < lines.length; i += 2) {
      const call = lines[i] as string
      const file = lines[i + 1] as string
      const callStart = at
      const callEnd = at + Buffer.byteLength(call)
      const open = callStart + Buffer.byteLength(call.slice(0, call.lastIndexOf('(')))
      const fileStart = callEnd + 1
      const fileEnd = fileStart + Buffer.byteLength(file)
      frames.push(matcher.stackFrame(callStart, open, callEnd, fileStart, fileEnd))
      at = fileEnd + 1
    }
    return frames.map(f => table.frames[f] as Frame)
  })
}

test('names the same frame for the same lines, whatever the offset after +0x', () => {
  const [a, b] = match(
    [
      ['main.f(0x1)', '\t/src/a.go:10 +0x1a', 'main.main()', '\t/src/a.go:3 +0x2'],
      ['main.f(0x1)', '\t/src/a.go:10 +0x77', 'main.main()', '\t/src/a.go:3 +0x2'],
    ],
    true,
  )
  assert.deepEqual(a, b)
  assert.deepEqual(a?.[0], { func: 'main.f', args: '0x1', file: '/src/a.go:10', line: 0 })
})

test('tells arguments apart, unless told to keep none', () => {
  const stacks = [
    ['main.f(0xc000010000)', '\t/src/a.go:10 +0x1a'],
    ['main.f(0xc000020000)', '\t/src/a.go:10 +0x1a'],
    ['main.f()', '\t/src/a.go:10 +0x1a'],
  ]
  assert.deepEqual(
    match(stacks, true).map(s => s[0]?.args),
    ['0xc000010000', '0xc000020000', ''],
  )
  assert.deepEqual(
    match(stacks, false).map(s => s[0]?.args),
    ['…', '…', ''],
  )
})

test('tells lines apart that differ only past what the first frame compared, or in their cut', () => {
  const stacks = [
    ['main.f(0x1)', '\t/src/a.go:10 +0x1a'],
    ['main.f(0x1)', '\t/src/a.go:10'],
    ['main.f(0x1)', '\t/src/a.go:10 fp=0x1 sp=0x2'],
    ['main.f(0x1)', '\t/src/a.go:101 +0x1a'],
    ['main.g(0x1)', '\t/src/a.go:10 +0x1a'],
  ]
  const files = match(stacks, true).map(s => `${s[0]?.func} ${s[0]?.file}`)
  assert.deepEqual(files, [
    'main.f /src/a.go:10',
    'main.f /src/a.go:10',
    'main.f /src/a.go:10',
    'main.f /src/a.go:101',
    'main.g /src/a.go:10',
  ])
})

test('finds every one of hundreds of stacks that follow one frame, in any order', () => {
  const stack = (i: number) => [
    'runtime.gopark(0x1)',
    '\t/go/src/runtime/proc.go:363 +0xd6',
    `main.worker${i}(0x${(i * 7919).toString(16)})`,
    `\t/src/w.go:${i} +0x1`,
  ]
  const order = Array.from({ length: 600 }, (_, i) => (i * 37) % 300)
  const frames = match(
    order.map(i => stack(i)),
    true,
  )
  frames.forEach((f, k) => {
    assert.equal(f[1]?.func, `main.worker${order[k]}`)
    assert.equal(f[1]?.line, 0)
  })
})

/** maskInto's bytes as text, for comparing with maskPointers. */
function maskedBytes(args: string): string {
  const bytes = Buffer.from(`(${args})`)
  const out = Buffer.alloc(bytes.length + 8)
  const length = maskInto(bytes, 1, bytes.length - 1, out, 3)
  return out.toString('latin1', 3, 3 + length)
}

test('masks argument bytes exactly as maskPointers masks the text (the any-pointer rule, twice)', () => {
  const edges = [
    '',
    '0x',
    '0x1',
    '0xfffff',
    '0x100000',
    '0xc000123456',
    '0x0000000fffff',
    '0x00000100000',
    '0xc000012345, 0x1, 0x2a, {0xc00001e0a0, 0x3, 0x4}',
    'a0x123456b',
    '0x0x123456',
    '0xABCDEF1',
    '0xffffffffffffffffff',
    '...',
  ]
  for (const args of edges) assert.equal(maskedBytes(args), maskPointers(args), args)
  const random = seededRandom(7)
  const alphabet = '0x0x0x123456789abcdefABC, {}.*g'
  for (let n = 0; n < 5000; n++) {
    let args = ''
    const length = Math.floor(random() * 40)
    for (let i = 0; i < length; i++) args += alphabet[Math.floor(random() * alphabet.length)]
    assert.equal(maskedBytes(args), maskPointers(args), args)
  }
})

test('at any pointer, names for each frame one whose arguments mask alike, templates or not', () => {
  const random = seededRandom(11)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
  const hex = (digits: number) =>
    Array.from({ length: digits }, () => pick([...'0123456789abcdef'])).join('')
  // A shape is a list of tokens: pointers, new in every goroutine, and texts fixed for the
  // shape, each followed by a separator; so the goroutines of a shape mask alike and share its
  // template. (Tokens run together, `0x1` then `0xc000…`, mask differently in every goroutine,
  // and are the masking test's above.)
  const pointer = () =>
    random() < 0.8
      ? `0x${pick(['c', '7', '1'])}${hex(5 + Math.floor(random() * 7))}`
      : `0x000${hex(5)}1`
  const fixed = () =>
    pick([
      '',
      '0x1',
      '0x3f',
      '0x2a',
      '0xfffff',
      '0x',
      '0',
      'x',
      '*',
      'g',
      '0xABCDEF1',
      '0x0',
      '...',
    ])
  const separator = () => pick([', ', '{', '}, ', '?, ', ')', ' '])
  // No more masked texts (4 shapes, with or without the tail) than a site keeps templates
  // (SCAN, 8), or most lookups would miss.
  const shapes = Array.from({ length: 4 }, () =>
    Array.from({ length: 1 + Math.floor(random() * 7) }, () => [
      random() < 0.4 ? pointer : fixed(),
      separator(),
    ]).flat(),
  )
  const args = Array.from(
    { length: 4000 },
    () =>
      pick(shapes)
        .map(t => (typeof t === 'string' ? t : t()))
        // Sometimes more after a shape: a template's text must end where the arguments do.
        .join('') + (random() < 0.1 ? '0x1' : ''),
  )
  const stacks = args.map((a, i) => [
    `main.shaped(${a})`,
    '\t/src/a.go:10 +0x1a',
    // Values that differ in every goroutine: templates miss, then are no longer tried.
    `main.ids(0x${(i * 7919).toString(16)}, ${a})`,
    '\t/src/a.go:20 +0x1a',
  ])
  // Counting the lookups that masked, by wrapping the private method, to know that most frames
  // were matched by template: else this would test only the masking.
  const methods = FrameMatcher.prototype as unknown as Record<string, (...a: unknown[]) => number>
  const maskedFrame = methods.maskedFrame as (...a: unknown[]) => number
  let masked = 0
  methods.maskedFrame = function (this: unknown, ...a: unknown[]) {
    masked++
    return maskedFrame.apply(this, a)
  }
  let frames: Frame[][]
  try {
    frames = match(stacks, true, true)
  } finally {
    methods.maskedFrame = maskedFrame
  }
  const ids = args.map((a, i) => `0x${(i * 7919).toString(16)}, ${a}`)
  frames.forEach((stack, i) => {
    assert.equal(maskPointers(stack[0]?.args ?? ''), maskPointers(args[i] as string), args[i])
    assert.equal(maskPointers(stack[1]?.args ?? ''), maskPointers(ids[i] as string), ids[i])
  })
  // One frame per masked text, the first seen.
  for (const [site, texts] of [args, ids].entries())
    assert.equal(
      new Set(frames.map(stack => stack[site])).size,
      new Set(texts.map(maskPointers)).size,
    )
  // The ids site masks all of its 4,000; the shaped one, about its shapes' first goroutines.
  assert.ok(masked < 4400, `${masked} of 8,000 frames masked`)
})
