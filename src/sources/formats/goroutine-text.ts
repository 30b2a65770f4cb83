/**
 * Goroutine stacks as text: `/debug/pprof/goroutine?debug=2` dumps, panic and SIGQUIT
 * tracebacks found anywhere in a log (behind a constant line prefix such as a container log's),
 * and the aggregated `?debug=1` form. Proto goroutine profiles go through pprof.ts and
 * model/goroutines.ts goroutinesFromProfile instead.
 *
 *   goroutine 18 [chan receive, 2 minutes]:
 *   main.leakyWorker(0x1, 0xc000012345)
 *   	/src/main.go:50 +0x3a
 *   created by main.main
 *   	/src/main.go:92 +0x85
 *
 * One pass over the bytes, linear in the input: a frame's identity is its call line and its
 * file:line (so `+0x…` offsets and SIGQUIT's fp=/sp=/pc= are not part of it), matched against
 * the frames seen before by goroutine-frames.ts; only a new frame is decoded and taken apart.
 * Go cuts debug=2 output at 64 MiB, mid-line and without a marker; `truncated` says when a dump
 * looks cut.
 *
 * Reference: Go 1.19 src/runtime/traceback.go (goroutineheader, printcreatedby),
 * src/runtime/pprof/pprof.go (writeGoroutineStacks, printCountProfile).
 */
import { InputError } from '../../errors.ts'
import {
  type Frame,
  FrameTable,
  type GoroutineDump,
  type GoroutineRecord,
} from '../../model/goroutines.ts'
import type { Format } from './format.ts'
import { FrameMatcher } from './goroutine-frames.ts'
import { looksLikeHtml } from './sniff.ts'

/** writeGoroutineStacks' buffer cap: a debug=2 dump of exactly this size was cut. */
const GO_DUMP_CAP = 64 * 1024 * 1024
/** No real stack line comes near this; a longer one means the file is something else. */
const MAX_STACK_LINE = 1024 * 1024

export const goroutineTextFormat: Format<GoroutineDump> = {
  kind: 'goroutine-text',
  sniff: head => /^goroutine (profile: total \d+|\d+ .*\[.*\]:)/m.test(head),
  parse: capture => parseGoroutineText(capture.bytes, capture.origin),
}

export interface GoroutineTextOptions {
  /**
   * false: frames keep only whether their call had arguments ('…' or ''), as any-value
   * bucketing shows them, so goroutines differing in pointers share frames (default true).
   */
  args?: boolean
}

/** Parses any text form; throws InputError naming `source` when there is no stack in it. */
export function parseGoroutineText(
  bytes: Uint8Array,
  source: string,
  options: GoroutineTextOptions = {},
): GoroutineDump {
  if (bytes.byteLength === 0) throw new InputError(`${source}: empty file, no goroutine stacks`)
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const head = buf.toString('utf8', 0, Math.min(buf.length, 512))
  if (looksLikeHtml(head))
    throw new InputError(`${source}: got HTML, not a goroutine dump (a login or error page?)`)
  if (head.startsWith('goroutine profile: total '))
    return parseCountProfileText(buf.toString('utf8'), source)
  return parseTracebacks(buf, source, options.args !== false)
}

const TAB = 9
const SPACE = 0x20
const OPEN_BRACKET = 91
const NEWLINE = 10
const CR = 13
const OPEN_PAREN = 40
const CLOSE_PAREN = 41
const COLON = 58
const CLOSE_BRACKET = 93

/**
 * debug=2 dumps and tracebacks, read from the bytes: decoding a 227 MiB dump into one string
 * took longer than the rest of its parse. Lines are found with Buffer.indexOf, frames through a
 * FrameMatcher, and only the text that ends in the model is decoded (as UTF-8).
 */
function parseTracebacks(buf: Buffer, source: string, args: boolean): GoroutineDump {
  const table = new FrameTable()
  const frames = new FrameMatcher(buf, table, parseFrame, args)
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const records: GoroutineRecord[] = []
  const brackets = new Map<string, GoroutineRecord>()
  const n = buf.length
  let reason: string | undefined
  let current: GoroutineRecord | undefined
  // The frames of the goroutine being read; FrameMatcher.shared gives it its own (or a shared)
  // array when it ends, so 200k goroutines on a few stacks do not allocate 200k arrays.
  const scratch: number[] = []
  // The constant prefix of the current goroutine's lines (a log's), as a range of its header.
  let prefixStart = 0
  let prefixLength = 0
  // 0: outside a goroutine; 1: in one; 2: a call line waits for its file line; 3: same, `created by`.
  let state = 0
  let callStart = 0
  let callOpen = 0
  let callEnd = 0
  let lineNo = 0
  let pos = 0
  // The line at which the last goroutine ended: a cut final line shows as a block ending there.
  let endedAt = 0
  while (pos < n) {
    let eol = buf.indexOf(NEWLINE, pos)
    if (eol < 0) eol = n
    lineNo++
    let end = eol
    if (end > pos && buf[end - 1] === CR) end--
    if (state !== 0) {
      if (end - pos > MAX_STACK_LINE)
        throw new InputError(
          `${source}: line ${lineNo} is ${((end - pos) / 1048576).toFixed(1)} MiB long inside a goroutine stack; not a goroutine dump`,
        )
      const s = pos + prefixLength
      // A call line ends in ')' and has a '(' after its first character.
      const open =
        state === 1 && buf[end - 1] === CLOSE_PAREN ? lastOpenParen(buf, view, s + 1, end) : -1
      if (
        s >= end ||
        (prefixLength > 0 &&
          buf.compare(buf, prefixStart, prefixStart + prefixLength, pos, s) !== 0)
      ) {
        // A blank line or a line from elsewhere ends the goroutine.
        state = 0
        endedAt = lineNo
      } else if (state >= 2) {
        if (buf[s] === TAB) {
          if (state === 2)
            current?.frames.push(frames.stackFrame(callStart, callOpen, callEnd, s, end))
          else if (current) current.createdBy = frames.creator(callStart, callEnd, s, end)
          state = 1
          pos = eol + 1
          continue
        }
        state = 0
        endedAt = lineNo
      } else if (open > 0) {
        callStart = s
        callOpen = open
        callEnd = end
        state = 2
        pos = eol + 1
        continue
      } else if (startsWith(buf, s, end, 'created by ')) {
        callStart = s + 11
        callEnd = end
        state = 3
        pos = eol + 1
        continue
      } else if (startsWith(buf, s, end, '...additional frames elided...')) {
        if (current) current.elided = true
        pos = eol + 1
        continue
      } else if (buf[s] === TAB) {
        // "\tgoroutine running on other thread; stack unavailable" and the like.
        pos = eol + 1
        continue
      } else {
        state = 0
        endedAt = lineNo
      }
    }
    // Outside a goroutine: a header starts one; a panic or signal line says why the dump exists.
    if (end - pos >= 2 && buf[end - 1] === COLON && buf[end - 2] === CLOSE_BRACKET) {
      const plain = plainHeader(buf, pos, end)
      if (plain !== undefined) {
        if (current) current.frames = frames.shared(current.frames)
        current = newRecord(plain, buf.toString('utf8', headerBracket, end - 2), brackets)
        current.frames = scratch
        scratch.length = 0
        records.push(current)
        prefixLength = 0
        frames.node = 0
        state = 1
        pos = eol + 1
        continue
      }
      const line = buf.toString('latin1', pos, end)
      const g = line.lastIndexOf('goroutine ')
      if (g >= 0) {
        const header = /^goroutine (\d+)(?: [^[]*)? \[([^\]]*)\]:$/.exec(line.slice(g))
        if (header) {
          // latin1 keeps byte offsets; the bracket is decoded again as UTF-8 for the model.
          const open = pos + g + (header[0].length - (header[2] as string).length - 2)
          if (current) current.frames = frames.shared(current.frames)
          current = newRecord(Number(header[1]), buf.toString('utf8', open, end - 2), brackets)
          current.frames = scratch
          scratch.length = 0
          records.push(current)
          prefixStart = pos
          prefixLength = g
          frames.node = 0
          state = 1
          pos = eol + 1
          continue
        }
      }
    }
    if (reason === undefined && records.length === 0) {
      const m = /(panic: |fatal error: |SIG[A-Z]+: )/.exec(
        buf.toString('utf8', pos, Math.min(end, pos + 300)),
      )
      if (m) {
        const text = buf.toString('utf8', pos, end)
        reason = text.slice(m.index, m.index + 200)
      }
    }
    pos = eol + 1
  }
  if (current) current.frames = frames.shared(current.frames)
  if (records.length === 0)
    throw new InputError(
      `${source}: no goroutine stacks found (expected "goroutine N [state]:" lines)`,
    )

  const form = /^goroutine \d/.test(buf.toString('latin1', 0, 11)) ? 'debug=2' : 'traceback'
  const truncated: string[] = []
  if (n === GO_DUMP_CAP) truncated.push('the dump is exactly 64 MiB, where Go cuts debug=2 output')
  const last = records[records.length - 1] as GoroutineRecord
  // Go ends every debug=2 dump with a newline; in a log, only a cut inside a stack counts.
  if (buf[n - 1] !== NEWLINE && (form === 'debug=2' || state !== 0 || endedAt === lineNo))
    truncated.push(`goroutine ${last.id} is cut mid-line`)
  else if (state >= 2) truncated.push(`goroutine ${last.id} ends in a call without its file line`)
  let total = 0
  for (const r of records) total += r.count
  const dump: GoroutineDump = { source, form, frames: table.frames, records, total }
  if (truncated.length > 0) dump.truncated = truncated.join('; ')
  if (reason !== undefined) dump.reason = reason
  return dump
}

/** Where the bracket of the header plainHeader() last read starts. */
let headerBracket = 0

/**
 * The id of a header as Go writes it, `goroutine 18 [chan receive, 2 minutes]:` from the line's
 * start (no log prefix), read from the bytes; undefined for anything else, which the regex then
 * reads (a 200k-goroutine dump spent ~0.1 s decoding and matching its headers).
 */
function plainHeader(buf: Buffer, pos: number, end: number): number | undefined {
  if (!startsWith(buf, pos, end, 'goroutine ')) return undefined
  let p = pos + 10
  let id = 0
  while (p < end && (buf[p] as number) >= 0x30 && (buf[p] as number) <= 0x39 && p - pos < 25)
    id = id * 10 + (buf[p++] as number) - 0x30
  if (p === pos + 10 || buf[p] !== SPACE || buf[p + 1] !== OPEN_BRACKET) return undefined
  // The regex's bracket holds no ']' and the line no later 'goroutine ' (it reads the last).
  for (let q = p + 2; q < end - 2; q++)
    if (buf[q] === CLOSE_BRACKET || (buf[q] === 0x67 && startsWith(buf, q, end, 'goroutine ')))
      return undefined
  headerBracket = p + 2
  return id
}

/** buf[start, end) begins with the ASCII `text`. */
function startsWith(buf: Buffer, start: number, end: number, text: string): boolean {
  if (end - start < text.length) return false
  for (let i = 0; i < text.length; i++) if (buf[start + i] !== text.charCodeAt(i)) return false
  return true
}

/**
 * The last '(' in buf[from, end), where a call's arguments open; -1 when there is none. Read 4
 * bytes at a time from the end (a word holds a '(' when one of its bytes xor '(' is zero): the
 * arguments of 1.5M call lines were a tenth of a 200k-goroutine parse, byte by byte.
 */
function lastOpenParen(buf: Buffer, view: DataView, from: number, end: number): number {
  let p = end
  while (p - 4 >= from) {
    const x = view.getInt32(p - 4) ^ 0x28282828
    if (((x - 0x01010101) & ~x & 0x80808080) !== 0) break
    p -= 4
  }
  for (p--; p >= from; p--) if (buf[p] === OPEN_PAREN) return p
  return -1
}

/**
 * A record for a header's bracket ('chan receive, 2 minutes'); brackets repeat across a dump's
 * goroutines, so each distinct one is taken apart once and its fields copied.
 */
function newRecord(
  id: number,
  bracket: string,
  seen: Map<string, GoroutineRecord>,
): GoroutineRecord {
  let parsed = seen.get(bracket)
  if (parsed === undefined) {
    parsed = parseBracket(bracket)
    seen.set(bracket, parsed)
  }
  return {
    count: 1,
    id,
    state: parsed.state,
    waitMinutes: parsed.waitMinutes,
    locked: parsed.locked,
    frames: [],
    createdBy: -1,
    elided: false,
  }
}

function parseBracket(bracket: string): GoroutineRecord {
  const record: GoroutineRecord = {
    count: 1,
    id: -1,
    state: '',
    waitMinutes: 0,
    locked: false,
    frames: [],
    createdBy: -1,
    elided: false,
  }
  const parts = bracket.split(', ')
  record.state = parts[0] ?? ''
  for (const part of parts.slice(1)) {
    const minutes = /^(\d+) minutes?$/.exec(part)
    if (minutes) record.waitMinutes = Number(minutes[1])
    else if (part === 'locked to thread') record.locked = true
    else record.state += `, ${part}`
  }
  return record
}

/** 'main.f(0x1, {0x2?})' + '/src/main.go:12' → Frame; 'main.main' (created by) has no args. */
function parseFrame(call: string, location: string): Frame {
  let func = call
  let args = ''
  if (call.endsWith(')')) {
    const open = call.lastIndexOf('(')
    func = call.slice(0, open)
    args = call.slice(open + 1, -1)
  } else {
    // `created by main.main in goroutine 1` (Go ≥ 1.21).
    const inGoroutine = call.indexOf(' in goroutine ')
    if (inGoroutine > 0) func = call.slice(0, inGoroutine)
  }
  const colon = location.lastIndexOf(':')
  const line = Number(location.slice(colon + 1))
  if (colon < 0 || !Number.isInteger(line)) return { func, args, file: location, line: 0 }
  return { func, args, file: location.slice(0, colon), line }
}

/**
 *   goroutine profile: total 313
 *   300 @ 0x43b296 0x407e9b 0x674c3b 0x46b1c1
 *   # labels: {"job":"sync"}
 *   #	0x674c3a	main.leakyWorker+0x3a	/src/main.go:50
 */
/**
 * The aggregated text of a count profile (`<name> profile: total N`, then `count @ pcs` lines and
 * their `#` frames): the goroutine profile's ?debug=1, and the goroutineleak profile's, whose
 * `total 0` with no stacks is a real answer.
 */
export function parseCountProfileText(
  text: string,
  source: string,
  name = 'goroutine',
): GoroutineDump {
  const table = new FrameTable()
  const records: GoroutineRecord[] = []
  const lines = text.split('\n')
  const declaredTotal = Number(new RegExp(`^${name} profile: total (\\d+)`).exec(text)?.[1])
  let current: GoroutineRecord | undefined
  let total = 0
  for (const [i, raw] of lines.entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (line.length > MAX_STACK_LINE)
      throw new InputError(
        `${source}: line ${i + 1} is ${(line.length / 1048576).toFixed(1)} MiB long; not a goroutine profile`,
      )
    const head = /^(\d+) @( 0x[0-9a-f]+)*$/.exec(line)
    if (head) {
      current = {
        count: Number(head[1]),
        id: -1,
        state: '',
        waitMinutes: 0,
        locked: false,
        frames: [],
        createdBy: -1,
        elided: false,
      }
      total += current.count
      records.push(current)
    } else if (current && line.startsWith('#\t')) {
      const [, , call = '', location = ''] = line.split(/\t+/)
      const plus = call.lastIndexOf('+0x')
      const func = plus > 0 ? call.slice(0, plus) : call
      current.frames.push(
        table.intern(`${func}\n${location}`, () => {
          const colon = location.lastIndexOf(':')
          return {
            func,
            args: '',
            file: location.slice(0, colon),
            line: Number(location.slice(colon + 1)) || 0,
          }
        }),
      )
    } else if (line === '') current = undefined
  }
  if (records.length === 0 && declaredTotal !== 0)
    throw new InputError(`${source}: a ${name} profile header with no stacks`)
  const dump: GoroutineDump = { source, form: 'debug=1', frames: table.frames, records, total }
  if (Number.isFinite(declaredTotal)) dump.declaredTotal = declaredTotal
  if (dump.declaredTotal !== undefined && total < dump.declaredTotal)
    dump.truncated = `the profile announces ${dump.declaredTotal} goroutines but lists ${total}`
  return dump
}
