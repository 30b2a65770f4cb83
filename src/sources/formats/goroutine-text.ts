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
 * One pass over offsets, linear in the input: a frame's identity is the substring from its call
 * line to the end of its file:line (so `+0x…` offsets and SIGQUIT's fp=/sp=/pc= are not part of
 * it), looked up in a Map; only a new frame is taken apart. Go cuts debug=2 output at 64 MiB,
 * mid-line and without a marker; `truncated` says when a dump looks cut.
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

/** Parses any text form; throws InputError naming `source` when there is no stack in it. */
export function parseGoroutineText(bytes: Uint8Array, source: string): GoroutineDump {
  if (bytes.byteLength === 0) throw new InputError(`${source}: empty file, no goroutine stacks`)
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
  if (looksLikeHtml(text.slice(0, 512)))
    throw new InputError(`${source}: got HTML, not a goroutine dump (a login or error page?)`)
  if (text.startsWith('goroutine profile: total ')) return parseCountProfileText(text, source)
  return parseTracebacks(text, bytes.byteLength, source)
}

const TAB = 9
const CLOSE_PAREN = 41

function parseTracebacks(text: string, size: number, source: string): GoroutineDump {
  const table = new FrameTable()
  const records: GoroutineRecord[] = []
  const n = text.length
  let reason: string | undefined
  let current: GoroutineRecord | undefined
  let prefix = ''
  // 0: outside a goroutine; 1: in one; 2: a call line waits for its file line; 3: same, `created by`.
  let state = 0
  let callStart = 0
  let callEnd = 0
  let lineNo = 0
  let pos = 0
  // The line at which the last goroutine ended: a cut final line shows as a block ending there.
  let endedAt = 0
  while (pos < n) {
    let eol = text.indexOf('\n', pos)
    if (eol < 0) eol = n
    lineNo++
    let end = eol
    if (end > pos && text.charCodeAt(end - 1) === 13) end--
    if (state !== 0) {
      if (end - pos > MAX_STACK_LINE)
        throw new InputError(
          `${source}: line ${lineNo} is ${((end - pos) / 1048576).toFixed(1)} MiB long inside a goroutine stack; not a goroutine dump`,
        )
      const s = pos + prefix.length
      if (!(prefix === '' || text.startsWith(prefix, pos)) || s >= end) {
        // A blank line or a line from elsewhere ends the goroutine.
        state = 0
        endedAt = lineNo
      } else if (state >= 2) {
        if (text.charCodeAt(s) === TAB) {
          const frame = frameAt(text, table, callStart, callEnd, s, end)
          if (state === 2) current?.frames.push(frame)
          else if (current) current.createdBy = frame
          state = 1
          pos = eol + 1
          continue
        }
        state = 0
        endedAt = lineNo
      } else if (text.charCodeAt(end - 1) === CLOSE_PAREN && text.slice(s + 1, end).includes('(')) {
        callStart = s
        callEnd = end
        state = 2
        pos = eol + 1
        continue
      } else if (text.startsWith('created by ', s)) {
        callStart = s + 11
        callEnd = end
        state = 3
        pos = eol + 1
        continue
      } else if (text.startsWith('...additional frames elided...', s)) {
        if (current) current.elided = true
        pos = eol + 1
        continue
      } else if (text.charCodeAt(s) === TAB) {
        // "\tgoroutine running on other thread; stack unavailable" and the like.
        pos = eol + 1
        continue
      } else {
        state = 0
        endedAt = lineNo
      }
    }
    // Outside a goroutine: a header starts one; a panic or signal line says why the dump exists.
    if (text.charCodeAt(end - 1) === 58 && text.charCodeAt(end - 2) === 93) {
      const g = pos + text.slice(pos, end).lastIndexOf('goroutine ')
      if (g >= pos) {
        const header = /^goroutine (\d+)(?: [^[]*)? \[([^\]]*)\]:$/.exec(text.slice(g, end))
        if (header) {
          prefix = text.slice(pos, g)
          current = newRecord(Number(header[1]), header[2] as string)
          records.push(current)
          state = 1
          pos = eol + 1
          continue
        }
      }
    }
    if (reason === undefined && records.length === 0) {
      const m = /(panic: |fatal error: |SIG[A-Z]+: )/.exec(
        text.slice(pos, Math.min(end, pos + 300)),
      )
      if (m) reason = text.slice(pos + m.index, Math.min(end, pos + m.index + 200))
    }
    pos = eol + 1
  }
  if (records.length === 0)
    throw new InputError(
      `${source}: no goroutine stacks found (expected "goroutine N [state]:" lines)`,
    )

  const form = /^goroutine \d+/.test(text) ? 'debug=2' : 'traceback'
  const truncated: string[] = []
  if (size === GO_DUMP_CAP)
    truncated.push('the dump is exactly 64 MiB, where Go cuts debug=2 output')
  const last = records[records.length - 1] as GoroutineRecord
  // Go ends every debug=2 dump with a newline; in a log, only a cut inside a stack counts.
  if (!text.endsWith('\n') && (form === 'debug=2' || state !== 0 || endedAt === lineNo))
    truncated.push(`goroutine ${last.id} is cut mid-line`)
  else if (state >= 2) truncated.push(`goroutine ${last.id} ends in a call without its file line`)
  let total = 0
  for (const r of records) total += r.count
  const dump: GoroutineDump = { source, form, frames: table.frames, records, total }
  if (truncated.length > 0) dump.truncated = truncated.join('; ')
  if (reason !== undefined) dump.reason = reason
  return dump
}

function newRecord(id: number, bracket: string): GoroutineRecord {
  const record: GoroutineRecord = {
    count: 1,
    id,
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

/**
 * The frame whose call line is text[callStart, callEnd) and whose file line starts at `fileStart`
 * (a tab). Identity: the call line through file:line, without the +0x offset and fp=/sp=/pc=.
 */
function frameAt(
  text: string,
  table: FrameTable,
  callStart: number,
  callEnd: number,
  fileStart: number,
  fileEnd: number,
): number {
  const fileLine = text.slice(fileStart, fileEnd)
  let cut = fileLine.indexOf(' +0x')
  if (cut < 0) cut = fileLine.indexOf(' fp=')
  const locEnd = cut < 0 ? fileEnd : fileStart + cut
  const key = text.slice(callStart, locEnd)
  return table.intern(key, () =>
    parseFrame(text.slice(callStart, callEnd), text.slice(fileStart + 1, locEnd)),
  )
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
