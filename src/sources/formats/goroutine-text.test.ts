import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { seededRandom } from '../../../test/helpers/random.ts'
import { InputError } from '../../errors.ts'
import { bucketGoroutines, maskPointers, SIMILARITIES } from '../../model/goroutine-buckets.ts'
import type { GoroutineDump } from '../../model/goroutines.ts'
import { FrameMatcher } from './goroutine-frames.ts'
import { GoroutineTextParser, parseGoroutineText } from './goroutine-text.ts'

const dir = 'testdata/formats/goroutines'
const raw = (name: string) => readFileSync(join(dir, name))
const read = (name: string) => parseGoroutineText(raw(name), name)
const frameOf = (d: GoroutineDump, i: number) => d.frames[i]

test('parses a real debug=2 dump into one record per goroutine with states and frames', () => {
  const d = read('go1.19-debug2.txt')
  assert.equal(d.form, 'debug=2')
  assert.equal(d.truncated, undefined)
  const workers = d.records.filter(r =>
    r.frames.some(f => frameOf(d, f)?.func === 'main.leakyWorker'),
  )
  assert.equal(workers.length, 300)
  assert.ok(workers.every(r => r.state === 'chan receive' && r.count === 1 && r.id > 0))
  const worker = workers[0]
  assert.ok(worker)
  const first = frameOf(d, worker.frames[0] ?? -1)
  assert.equal(first?.func, 'main.leakyWorker')
  assert.match(first?.file ?? '', /profilefixture\/main\.go$/)
  assert.ok((first?.line ?? 0) > 0)
  assert.equal(frameOf(d, worker.createdBy)?.func, 'main.main')
  const states = new Set(d.records.map(r => r.state))
  for (const s of ['select', 'sleep', 'semacquire', 'IO wait']) assert.ok(states.has(s), s)
})

test('reads wait minutes from a dump of goroutines parked for over a minute', () => {
  const d = read('go1.19-debug2-waiting.txt')
  const waiting = d.records.filter(r =>
    r.frames.some(f => frameOf(d, f)?.func === 'main.leakyWorker'),
  )
  assert.equal(waiting.length, 40)
  assert.ok(
    waiting.every(r => r.waitMinutes === 1),
    JSON.stringify(waiting.map(r => r.waitMinutes)),
  )
})

test('keeps arguments as Go printed them, Go 1.18+ style', () => {
  const d = read('go1.19-debug2.txt')
  const sleep = d.frames.find(f => f.func === 'time.Sleep')
  assert.match(sleep?.args ?? '', /^0x[0-9a-f]+$/)
  const inlined = d.frames.find(f => f.args === '...')
  assert.ok(inlined, 'an inlined call prints (...)')
  assert.ok(
    d.frames.some(f => /\{0x[0-9a-f]+\??, 0x[0-9a-f]+\??\}/.test(f.args)),
    'interface args print as {…}',
  )
})

test('finds a SIGQUIT dump behind log lines, with the signal and runtime frames', () => {
  const d = read('go1.19-sigquit.log')
  assert.equal(d.form, 'traceback')
  assert.equal(d.reason, 'SIGQUIT: quit')
  assert.ok(d.total > 300)
  // SIGQUIT frames carry fp= sp= pc=; they are not part of the file or the frame identity.
  assert.ok(d.frames.every(f => !f.file.includes(' ')))
  assert.ok(d.frames.some(f => f.func === 'runtime.gopark'))
})

test('finds a panic in log text, with its message', () => {
  const d = read('go1.19-panic.log')
  assert.match(d.reason ?? '', /^panic: profilefixture: panicking on purpose/)
  assert.equal(d.records.length, 1)
  assert.equal(d.records[0]?.state, 'running')
  const all = read('go1.19-panic-all.log')
  assert.ok(all.total >= 20, 'GOTRACEBACK=all lists every goroutine')
})

test('finds a dump whose every line carries the same log prefix', () => {
  const text = raw('go1.19-panic-all.log').toString('utf8')
  const prefixed = text
    .split('\n')
    .map(l => `app-7f9c stderr F ${l}`)
    .join('\n')
  const d = parseGoroutineText(Buffer.from(prefixed), 'pod.log')
  const plain = read('go1.19-panic-all.log')
  assert.equal(d.total, plain.total)
  assert.deepEqual(d.frames, plain.frames)
})

test('parses the aggregated debug=1 form with counts and no states', () => {
  const d = read('go1.19-debug1.txt')
  assert.equal(d.form, 'debug=1')
  assert.equal(d.total, d.declaredTotal)
  const workers = d.records.find(r =>
    r.frames.some(f => frameOf(d, f)?.func === 'main.leakyWorker'),
  )
  assert.equal(workers?.count, 300)
  assert.equal(workers?.state, '')
})

test('handles Go 1.21+ headers and created-by lines', () => {
  const text = [
    'goroutine 7 gp=0xc000007a80 m=nil [chan receive (nil chan), 3 minutes, locked to thread]:',
    'main.worker(...)',
    '\t/src/main.go:12',
    'created by main.main in goroutine 1',
    '\t/src/main.go:30 +0x25',
    '',
  ].join('\n')
  const d = parseGoroutineText(Buffer.from(text), 'new.txt')
  const r = d.records[0]
  assert.deepEqual(
    { state: r?.state, minutes: r?.waitMinutes, locked: r?.locked },
    { state: 'chan receive (nil chan)', minutes: 3, locked: true },
  )
  assert.deepEqual(d.frames[r?.createdBy ?? -1], {
    func: 'main.main',
    args: '',
    file: '/src/main.go',
    line: 30,
  })
})

test('says a dump cut mid-line is truncated, as Go cuts debug=2 at 64 MiB', () => {
  const full = raw('go1.19-debug2.txt')
  for (const cut of [0.5, 0.75, 0.9]) {
    let at = Math.floor(full.length * cut)
    if (full[at - 1] === 10) at++ // cut inside a line, not at its end
    const d = parseGoroutineText(full.subarray(0, at), 'cut.txt')
    assert.match(d.truncated ?? '', /cut mid-line|without its file line/, `cut at ${at}`)
  }
  const exact = Buffer.alloc(64 * 1024 * 1024, 0x20)
  full.copy(exact)
  exact[full.length] = 10
  assert.match(parseGoroutineText(exact, 'cap.txt').truncated ?? '', /exactly 64 MiB/)
})

test('says a debug=1 profile listing fewer goroutines than its total is truncated', () => {
  const text = raw('go1.19-debug1.txt')
    .toString('utf8')
    .replace(/total \d+/, 'total 9999')
  assert.match(parseGoroutineText(Buffer.from(text), 'x').truncated ?? '', /announces 9999/)
})

const hostile: [string, Buffer, RegExp][] = [
  ['an empty file', Buffer.alloc(0), /empty file/],
  ['an HTML page', Buffer.from('<!doctype html><html><body>Login</body></html>'), /got HTML/],
  [
    'a log without stacks',
    Buffer.from('2024/05/01 started\n2024/05/01 stopped\n'),
    /no goroutine stacks found/,
  ],
  [
    'a 10 MB line inside a stack',
    Buffer.from(`goroutine 1 [running]:\nmain.main(${'0'.repeat(10_000_000)})\n`),
    /line 2 is 9\.5 MiB long/,
  ],
  [
    'a 10 MB line of log and nothing else',
    Buffer.from('x'.repeat(10_000_000)),
    /no goroutine stacks/,
  ],
  ['a debug=1 header with no stacks', Buffer.from('goroutine profile: total 3\n'), /no stacks/],
]
for (const [what, bytes, message] of hostile) {
  test(`rejects ${what} in one line naming the file`, () => {
    assert.throws(
      () => parseGoroutineText(bytes, 'dump.txt'),
      (e: unknown) =>
        e instanceof InputError &&
        /^dump\.txt: /.test(e.message) &&
        message.test(e.message) &&
        !e.message.includes('\n'),
    )
  })
}

/** `bytes` pushed in chunks of sizes() bytes, each after `room` free bytes the parser may use. */
function parseInChunks(
  bytes: Buffer,
  sizes: () => number,
  room: number,
  args: boolean,
  maskPointers = false,
) {
  const parser = new GoroutineTextParser('x.txt', { args, maskPointers })
  for (let at = 0; at < bytes.length; ) {
    const next = Math.min(bytes.length, at + sizes())
    const chunk = Buffer.alloc(room + next - at, 0x41)
    bytes.copy(chunk, room, at, next)
    parser.push(chunk, room)
    // The parser keeps no reference to a chunk: what it wrote over must not matter.
    chunk.fill(0x42)
    at = next
  }
  return parser.finish()
}

/** What parsing gave, or the error's message: a chunked parse must fail the same way too. */
function outcome(parse: () => GoroutineDump): GoroutineDump | string {
  try {
    return parse()
  } catch (error) {
    if (!(error instanceof InputError)) throw error
    return error.message
  }
}

test('any chunking of a real dump parses to what the whole buffer does', () => {
  const random = seededRandom(13)
  const dumps = readdirSync(dir)
    .filter(f => /\.(txt|log)$/.test(f))
    .map(f => ({ name: f, bytes: raw(f) }))
  for (const { name, bytes } of dumps)
    for (const args of [true, false]) {
      const whole = parseGoroutineText(bytes, 'x.txt', { args })
      assert.ok(whole.records.length > 0, name)
      const what = `${name} (args: ${args})`
      assert.deepEqual(
        parseInChunks(bytes, () => 1, 0, args),
        whole,
        `${what}: byte by byte`,
      )
      for (const size of [2, 3, 7, 64, 511, 4096])
        for (const room of [0, 5, 1024])
          assert.deepEqual(
            parseInChunks(bytes, () => size, room, args),
            whole,
            `${what}: ${size}-byte chunks after ${room} bytes of room`,
          )
      for (let run = 0; run < 5; run++)
        assert.deepEqual(
          parseInChunks(bytes, () => 1 + Math.floor(random() * 300), 40, args),
          whole,
          `${what}: random chunks, run ${run}`,
        )
      for (const similarity of SIMILARITIES)
        assert.deepEqual(
          bucketGoroutines(
            parseInChunks(bytes, () => 100, 0, args),
            similarity,
          ),
          bucketGoroutines(whole, similarity),
          `${what}: buckets ${similarity}`,
        )
    }
  // Every split point into two chunks, on a small dump.
  const small = raw('go1.19-panic-all.log')
  const whole = parseGoroutineText(small, 'x.txt')
  for (let cut = 1; cut < small.length; cut += 3)
    assert.deepEqual(
      parseInChunks(small, () => cut, 0, true),
      whole,
      `go1.19-panic-all.log: cut at ${cut}`,
    )
})

test('a chunked parse of a cut, prefixed, CRLF or hostile dump gives what the whole buffer does', () => {
  const waiting = raw('go1.19-debug2-waiting.txt').toString('utf8')
  const full = raw('go1.19-debug2.txt')
  const cases: [string, Buffer][] = [
    ['CRLF', Buffer.from(waiting.replace(/\n/g, '\r\n'))],
    [
      'a log prefix',
      Buffer.from(
        waiting
          .split('\n')
          .map(l => `2026-12-03T10:00:00Z app[7]: ${l}`)
          .join('\n'),
      ),
    ],
    ['cut mid-line', full.subarray(0, 40_001)],
    ['cut after a call line', Buffer.from('goroutine 1 [running]:\nmain.f()\n')],
    ['no final newline', Buffer.from('goroutine 1 [running]:\nmain.f()\n\t/x.go:1 +0x1')],
    ['a debug=1 profile', raw('go1.19-debug1.txt')],
    ...hostile.map(([what, bytes]): [string, Buffer] => [what, bytes]),
  ]
  for (const [what, bytes] of cases) {
    const whole = outcome(() => parseGoroutineText(bytes, 'x.txt'))
    // The 10 MB lines in 4 KiB chunks, not byte by byte: 10M pushes take a minute.
    for (const size of bytes.length < 100_000 ? [1, 7, 512, 65536] : [4096, 65536])
      assert.deepEqual(
        outcome(() => parseInChunks(bytes, () => size, 16, true)),
        whole,
        `${what}: ${size}-byte chunks`,
      )
  }
})

test('with maskPointers, frames differing only in pointers are one, and any-pointer buckets are the same', () => {
  const pointers = Buffer.from(
    [1, 2, 3]
      .map(
        g =>
          `goroutine ${g} [select]:\nmain.f(0xc00001${g}000, 0x${g}, {0x4b2c4e?, 0x5}, 0x00000${g}ab)\n\t/src/a.go:10 +0x1a\n\n`,
      )
      .join(''),
  )
  const masked = parseGoroutineText(pointers, 'x.txt', { maskPointers: true })
  assert.deepEqual(
    masked.records.map(r => r.frames),
    [[0], [1], [2]],
    'small values (0x1, 0x2, 0x3; 0x00000Nab, three digits after its zeros) tell frames apart',
  )
  const same = Buffer.from(
    pointers
      .toString('utf8')
      .replace(/0x\d,/g, '0x7,')
      .replace(/0x00000\dab/g, '0x000007ab'),
  )
  assert.deepEqual(
    parseGoroutineText(same, 'x.txt', { maskPointers: true }).records.map(r => r.frames),
    [[0], [0], [0]],
  )
  const random = seededRandom(21)
  for (const name of readdirSync(dir).filter(f => /\.(txt|log)$/.test(f))) {
    const bytes = raw(name)
    const exact = bucketGoroutines(parseGoroutineText(bytes, 'x.txt'), 'any-pointer')
    for (const size of [bytes.length, 7, 4096])
      assert.deepEqual(
        bucketGoroutines(
          parseInChunks(bytes, () => size, 8, true, true),
          'any-pointer',
        ),
        exact,
        `${name}: ${size}-byte chunks`,
      )
    assert.deepEqual(
      bucketGoroutines(
        parseInChunks(bytes, () => 1 + Math.floor(random() * 500), 0, true, true),
        'any-pointer',
      ),
      exact,
      `${name}: random chunks`,
    )
  }
})

/**
 * A debug=2 dump of goroutines on a few stacks whose arguments differ in pointers from one
 * goroutine to the next, with what a block must keep apart: small values fixed for a stack or
 * differing (an id), five hex digits or six, a '(' among the arguments, calls with arguments or
 * without, elided frames, CRLF lines, a stack unavailable.
 */
function shapedDump(goroutines: number, seed: number): string[] {
  const random = seededRandom(seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
  const hex = (digits: number) =>
    Array.from({ length: digits }, () => pick([...'0123456789abcdef'])).join('')
  const pointer = () => `0x${pick(['c', '7', '1'])}${hex(5 + Math.floor(random() * 7))}`
  const stacks = Array.from({ length: 12 }, (_, s) => ({
    eol: s % 5 === 4 ? '\r\n' : '\n',
    frames: Array.from({ length: 1 + (s % 4) }, (_, d) => ({
      func: pick(['main.work', 'main.(*T).run', 'net/http.(*conn).serve', 'main.f']) + s + d,
      file: `/src/s${s}.go:${10 + d}`,
      args: pick(['pointers', 'small', 'none', 'id', 'braces', 'digits', 'call', 'some']),
    })),
    elided: s % 6 === 5,
    unavailable: s === 7,
  }))
  return Array.from({ length: goroutines }, (_, g) => {
    const stack = pick(stacks)
    const { eol } = stack
    const lines = [
      `goroutine ${g + 1} [${pick(['chan receive', 'select', 'IO wait, 3 minutes'])}]:`,
    ]
    if (stack.unavailable) lines.push('\tgoroutine running on other thread; stack unavailable')
    lines.push(`runtime.gopark(${pointer()}?, ${pointer()}?, 0x0?, 0x0?, 0x0?)`)
    lines.push('\t/usr/lib/go/src/runtime/proc.go:363 +0xd6')
    for (const f of stack.frames) {
      const args =
        f.args === 'pointers'
          ? `${pointer()}, {${pointer()}?, 0x1b}, 0x6`
          : f.args === 'small'
            ? '0x1, 0x2a'
            : f.args === 'id'
              ? `0x${(g % 3).toString(16)}, ${pointer()}`
              : f.args === 'braces'
                ? `{0x${g % 2}, ${pointer()}}`
                : f.args === 'digits'
                  ? // Five digits are no pointer, six are: only the sixes share a frame.
                    g % 2 === 0
                    ? '0xf1234'
                    : `0x${pick(['f', '1'])}${hex(5)}`
                  : f.args === 'call'
                    ? // Not Go's, but a '(' in the arguments moves where a call's open.
                      g % 4 === 0
                      ? `0x1, g(${pointer()}`
                      : `0x1, ${pointer()}`
                    : f.args === 'some' && g % 3 === 0
                      ? pointer()
                      : ''
      lines.push(`${f.func}(${args})`, `\t${f.file} +0x${(f.file.length * 3).toString(16)}`)
    }
    if (stack.elided) lines.push('...additional frames elided...')
    lines.push('created by main.main in goroutine 1', '\t/src/main.go:80 +0x85')
    return `${lines.join(eol)}${eol}${eol}`
  })
}

test('goroutines matched by a block of earlier lines parse as they do read line by line', () => {
  const goroutines = shapedDump(3000, 5)
  const text = goroutines.join('')
  const methods = FrameMatcher.prototype as unknown as Record<string, (...a: unknown[]) => unknown>
  const block = methods.block as (...a: unknown[]) => unknown
  for (const options of [{ args: false }, { args: true, maskPointers: true }]) {
    let matched = 0
    methods.block = function (this: unknown, ...a: unknown[]) {
      const found = block.apply(this, a)
      if (found !== undefined) matched++
      return found
    }
    let whole: GoroutineDump
    try {
      whole = parseGoroutineText(Buffer.from(text), 'shaped', options)
    } finally {
      methods.block = block
    }
    // Each goroutine alone: no block before it to match.
    const alone = goroutines.map(g => parseGoroutineText(Buffer.from(g), 'one', options))
    const seen = (d: GoroutineDump, f: number) => {
      const frame = d.frames[f]
      return frame && { ...frame, args: options.args ? maskPointers(frame.args) : frame.args }
    }
    assert.equal(whole.records.length, goroutines.length)
    whole.records.forEach((r, i) => {
      const one = alone[i] as GoroutineDump
      const o = one.records[0]
      assert.ok(o)
      const label = `goroutine ${i + 1} ${JSON.stringify(options)}`
      assert.deepEqual(
        { ...r, frames: r.frames.map(f => seen(whole, f)), createdBy: seen(whole, r.createdBy) },
        { ...o, frames: o.frames.map(f => seen(one, f)), createdBy: seen(one, o.createdBy) },
        label,
      )
    })
    // Read in chunks, blocks cut by a chunk's end are read line by line.
    const parser = new GoroutineTextParser('shaped', options)
    const bytes = Buffer.from(text)
    for (let at = 0; at < bytes.length; at += 7777)
      parser.push(Buffer.from(bytes.subarray(at, at + 7777)))
    assert.deepEqual(parser.finish(), whole)
    // Most matched a block: else this tests the line-by-line parse alone.
    assert.ok(matched > 2700, `${matched} of 3,000 goroutines matched a block`)
    // The blocks' lines counted as lines: a cut after them names the line it is on.
    const cut = `${text}goroutine 9999 [running]:\nmain.f(${'0'.repeat(1100 * 1024)})\n`
    const lineNo = text.split('\n').length + 1
    assert.throws(
      () => parseGoroutineText(Buffer.from(cut), 'long', options),
      new RegExp(`long: line ${lineNo} is 1\\.1 MiB long`),
    )
  }
})
