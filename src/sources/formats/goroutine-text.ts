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
 * After a debug=2 header, the goroutine's lines are first matched whole against those of an
 * earlier goroutine on the same stack (FrameMatcher.block), and read line by line only when
 * none matches.
 * Go cuts debug=2 output at 64 MiB, mid-line and without a marker; `truncated` says when a dump
 * looks cut. GoroutineTextParser takes the bytes a chunk at a time (the goroutines command
 * streams a file through it, so a 227 MiB dump is never held whole); parseGoroutineText is the
 * same parser given one chunk. Over 400 lines: the state machine and the count-profile form
 * share the header's sniffing and errors, and splitting them would split that contract.
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
import { FrameMatcher, lastOpenParen } from './goroutine-frames.ts'
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
  /**
   * true: frames at one site whose arguments differ only in pointers (as maskPointers in
   * model/goroutine-buckets.ts masks them) are one frame, with the first one's arguments, as
   * any-pointer bucketing would merge them anyway: a dump whose every goroutine has its own
   * pointers then has a frame per stack line, not per goroutine (default false).
   */
  maskPointers?: boolean
}

/** Parses any text form; throws InputError naming `source` when there is no stack in it. */
export function parseGoroutineText(
  bytes: Uint8Array,
  source: string,
  options: GoroutineTextOptions = {},
): GoroutineDump {
  const parser = new GoroutineTextParser(source, options)
  parser.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  return parser.finish()
}

const TAB = 9
const SPACE = 0x20
const OPEN_BRACKET = 91
const NEWLINE = 10
const CR = 13
const CLOSE_PAREN = 41
const COLON = 58
const CLOSE_BRACKET = 93
/** What the form is told from: the first 512 bytes (or the whole input, when shorter). */
const HEAD = 512
/** The first chunk's first bytes, parsed on their own (see push). */
const WARM_UP = 4096

enum Mode {
  /** Fewer than HEAD bytes seen: the form is not known yet. */
  Head = 0,
  Tracebacks = 1,
  /** debug=1: kept whole, parsed as text by parseCountProfileText at the end. */
  Count = 2,
}

/**
 * Any text form read a chunk at a time (push), with the same result and errors as the whole
 * buffer at once (parseGoroutineText): a line cut by a chunk's end, and a call line whose file
 * line is in the next chunk, are carried into the next chunk. debug=2 dumps and tracebacks are
 * parsed as they arrive and no chunk is kept; the debug=1 form is small and kept whole.
 */
export class GoroutineTextParser {
  private mode = Mode.Head
  private readonly args: boolean
  /** Bytes pushed so far, and the last one. */
  private total = 0
  private lastByte = -1
  /** Chunks of a debug=1 profile, or of a head shorter than HEAD. */
  private readonly kept: Buffer[] = []
  private form: 'debug=2' | 'traceback' = 'traceback'
  // The unparsed end of the last chunk: carry[0, carryLength), put before the next chunk.
  private carry = Buffer.allocUnsafe(256)
  private carryLength = 0
  /** Where parsing resumes in the carry; the carry has no newline from `scanFrom` on. */
  private resume = 0
  private scanFrom = 0

  // The traceback state machine (see parse), kept between chunks.
  private readonly table = new FrameTable()
  private readonly frames: FrameMatcher
  private readonly records: GoroutineRecord[] = []
  private readonly brackets = new Map<string, GoroutineRecord>()
  /** The same by the brackets' bytes (see bracketAt). */
  private readonly bracketBytes = new Map<number, { bytes: Buffer; parsed: GoroutineRecord }[]>()
  private reason: string | undefined
  private current: GoroutineRecord | undefined
  // The frames of the goroutine being read; FrameMatcher.shared gives it its own (or a shared)
  // array when it ends, so 200k goroutines on a few stacks do not allocate 200k arrays.
  private readonly scratch: number[] = []
  /** The constant prefix of the current goroutine's lines (a log's), copied from its header. */
  private prefix = Buffer.alloc(0)
  // 0: outside a goroutine; 1: in one; 2: a call line waits for its file line; 3: same, `created by`.
  private state = 0
  // The waiting call line (state 2, 3): where it starts, its call, its '(' and its end.
  private callLine = 0
  private callStart = 0
  private callOpen = 0
  private callEnd = 0
  private lineNo = 0
  /** The line at which the last goroutine ended: a cut final line shows as a block ending there. */
  private endedAt = 0

  constructor(
    private readonly source: string,
    options: GoroutineTextOptions = {},
  ) {
    this.args = options.args !== false
    this.frames = new FrameMatcher(this.table, parseFrame, this.args, options.maskPointers === true)
  }

  /**
   * The next chunk: chunk[room, length). chunk[0, room) is free for the parser to write over
   * (it puts its carry there instead of copying the chunk); the parser keeps no reference to the
   * chunk once push returns, so the caller may read the next one into it.
   */
  push(chunk: Buffer, room = 0): void {
    const length = chunk.length - room
    if (length <= 0) return
    this.total += length
    this.lastByte = chunk[chunk.length - 1] as number
    if (this.mode === Mode.Head) {
      const kept = this.kept
      if (kept.length > 0 || length < HEAD) {
        kept.push(Buffer.from(chunk.subarray(room)))
        if (this.total < HEAD) return
        const head = Buffer.concat(kept)
        kept.length = 0
        if (this.decide(head) === Mode.Count) kept.push(head)
        else this.parse(head, false)
        return
      }
      const data = chunk.subarray(room)
      if (this.decide(data) === Mode.Count) {
        kept.push(Buffer.from(data))
        return
      }
      // A few lines first, so that parse has run to its end once before its loop is optimised
      // (see suspend); the rest follows as a chunk whose room holds the first part's carry.
      const first = Math.min(data.length, WARM_UP)
      this.parse(data.subarray(0, first), false)
      if (first < data.length) this.pushLines(data, first)
      return
    }
    if (this.mode === Mode.Count) {
      this.kept.push(Buffer.from(chunk.subarray(room)))
      return
    }
    this.pushLines(chunk, room)
  }

  /** A chunk of a traceback dump after the form is known: parsed after the carry. */
  private pushLines(chunk: Buffer, room: number): void {
    const length = chunk.length - room
    const carried = this.carryLength
    if (carried <= room) {
      this.carry.copy(chunk, room - carried, 0, carried)
      this.parse(chunk.subarray(room - carried), false)
    } else {
      // A long line: the chunk joins the carry (which doubles as needed), not the other way.
      this.reserve(carried + length)
      chunk.copy(this.carry, carried, room)
      this.parse(this.carry.subarray(0, carried + length), false)
    }
  }

  /** The dump, after the last chunk; throws InputError as parseGoroutineText does. */
  finish(): GoroutineDump {
    const source = this.source
    if (this.mode === Mode.Head) {
      if (this.total === 0) throw new InputError(`${source}: empty file, no goroutine stacks`)
      const head = Buffer.concat(this.kept)
      this.kept.length = 0
      if (this.decide(head) === Mode.Tracebacks) this.parse(head, true)
      else this.kept.push(head)
    } else if (this.mode === Mode.Tracebacks)
      this.parse(this.carry.subarray(0, this.carryLength), true)
    if (this.mode === Mode.Count)
      return parseCountProfileText(Buffer.concat(this.kept).toString('utf8'), source)

    const { records, state } = this
    if (this.current) this.current.frames = this.frames.shared(this.current.frames)
    if (records.length === 0)
      throw new InputError(
        `${source}: no goroutine stacks found (expected "goroutine N [state]:" lines)`,
      )
    const form = this.form
    const truncated: string[] = []
    if (this.total === GO_DUMP_CAP)
      truncated.push('the dump is exactly 64 MiB, where Go cuts debug=2 output')
    const last = records[records.length - 1] as GoroutineRecord
    // Go ends every debug=2 dump with a newline; in a log, only a cut inside a stack counts.
    if (
      this.lastByte !== NEWLINE &&
      (form === 'debug=2' || state !== 0 || this.endedAt === this.lineNo)
    )
      truncated.push(`goroutine ${last.id} is cut mid-line`)
    else if (state >= 2) truncated.push(`goroutine ${last.id} ends in a call without its file line`)
    let total = 0
    for (const r of records) total += r.count
    const dump: GoroutineDump = { source, form, frames: this.table.frames, records, total }
    if (truncated.length > 0) dump.truncated = truncated.join('; ')
    if (this.reason !== undefined) dump.reason = this.reason
    return dump
  }

  /** The form, from the input's first HEAD bytes (or all of it, when shorter). */
  private decide(data: Buffer): Mode {
    const head = data.toString('utf8', 0, Math.min(data.length, HEAD))
    if (looksLikeHtml(head))
      throw new InputError(
        `${this.source}: got HTML, not a goroutine dump (a login or error page?)`,
      )
    if (head.startsWith('goroutine profile: total ')) {
      this.mode = Mode.Count
      return this.mode
    }
    this.mode = Mode.Tracebacks
    this.form = /^goroutine \d/.test(data.toString('latin1', 0, 11)) ? 'debug=2' : 'traceback'
    return this.mode
  }

  /**
   * The parsed bracket of the header plainHeader() read last, at buf[start, end), found by its
   * bytes (and their hash, which plainHeader took as it read them): decoding 200k headers'
   * brackets to look them up by text cost a 227 MiB dump's parse ~50 ms, and its collector more.
   */
  private bracketAt(buf: Buffer, start: number, end: number): GoroutineRecord {
    const length = end - start
    const hash = headerHash
    const known = this.bracketBytes.get(hash)
    if (known !== undefined)
      for (const b of known) if (sameBytes(buf, start, b.bytes, length)) return b.parsed
    const parsed = bracketOf(buf.toString('utf8', start, end), this.brackets)
    const entry = { bytes: Buffer.from(buf.subarray(start, end)), parsed }
    if (known === undefined) this.bracketBytes.set(hash, [entry])
    else known.push(entry)
    return parsed
  }

  /** Room for `length` bytes in the carry, keeping what it holds. */
  private reserve(length: number): void {
    if (length <= this.carry.length) return
    const grown = Buffer.allocUnsafe(Math.max(length, this.carry.length * 2))
    this.carry.copy(grown, 0, 0, this.carryLength)
    this.carry = grown
  }

  /**
   * debug=2 dumps and tracebacks, read from the bytes: decoding a 227 MiB dump into one string
   * took longer than the rest of its parse. Lines are found with Buffer.indexOf, frames through
   * a FrameMatcher, and only the text that ends in the model is decoded (as UTF-8). `buf` starts
   * with the carry; without `eof`, a last line with no newline is carried to the next chunk.
   */
  private parse(buf: Buffer, eof: boolean): void {
    const source = this.source
    const frames = this.frames
    frames.setChunk(buf)
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
    const records = this.records
    const brackets = this.brackets
    const scratch = this.scratch
    const n = buf.length
    const scanFrom = this.scanFrom
    let prefixLength = this.prefix.length
    let reason = this.reason
    let current = this.current
    let state = this.state
    let callLine = this.callLine
    let callStart = this.callStart
    let callOpen = this.callOpen
    let callEnd = this.callEnd
    let lineNo = this.lineNo
    let endedAt = this.endedAt
    let pos = this.resume
    while (pos < n) {
      let eol = buf.indexOf(NEWLINE, Math.max(pos, scanFrom))
      if (eol < 0) {
        if (!eof) break
        eol = n
      }
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
          (prefixLength > 0 && buf.compare(this.prefix, 0, prefixLength, pos, s) !== 0)
        ) {
          // A blank line or a line from elsewhere ends the goroutine; after a blank line, its
          // lines may become a block (see FrameMatcher.block).
          if (state === 1 && s >= end && current)
            current.frames = frames.endBlock(
              eol + 1,
              current.frames,
              current.createdBy,
              current.elided,
            )
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
          callLine = pos
          callStart = s
          callOpen = open
          callEnd = end
          state = 2
          pos = eol + 1
          continue
        } else if (startsWith(buf, s, end, 'created by ')) {
          callLine = pos
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
          const parsed = this.bracketAt(buf, headerBracket, end - 2)
          if (prefixLength > 0) this.prefix = Buffer.alloc(0)
          prefixLength = 0
          frames.startGoroutine()
          pos = eol + 1
          // Its lines at once, when they are a block's (most are: goroutines share stacks).
          const block = frames.block(pos)
          if (block !== undefined) {
            records.push(recordOf(plain, parsed, block.frames, block.createdBy, block.elided))
            current = undefined
            lineNo += block.lines
            endedAt = lineNo
            state = 0
            pos = frames.blockEnd
            continue
          }
          scratch.length = 0
          current = recordOf(plain, parsed, scratch)
          records.push(current)
          state = 1
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
            this.prefix = Buffer.from(buf.subarray(pos, pos + g))
            prefixLength = g
            frames.startGoroutine()
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
    this.reason = reason
    this.current = current
    this.state = state
    this.lineNo = lineNo
    this.endedAt = endedAt
    this.suspend(buf, Math.min(pos, n), callLine, callStart, callOpen, callEnd)
  }

  /**
   * Keeps buf[cut, end) for the next chunk: from `pos` (a line without its newline yet), or from
   * the call line that line completes. Apart from parse so that parse's loop, optimised while
   * it runs (on-stack replacement), does not end in code it has no type feedback for: that
   * deoptimised it at the end of every chunk.
   */
  private suspend(
    buf: Buffer,
    pos: number,
    callLine: number,
    callStart: number,
    callOpen: number,
    callEnd: number,
  ): void {
    const n = buf.length
    const cut = this.state >= 2 ? callLine : pos
    const rest = n - cut
    if (buf.buffer === this.carry.buffer && buf.byteOffset === this.carry.byteOffset)
      this.carry.copyWithin(0, cut, n)
    else {
      this.carryLength = 0
      this.reserve(rest)
      buf.copy(this.carry, 0, cut, n)
    }
    this.carryLength = rest
    this.resume = pos - cut
    this.scanFrom = rest
    this.callLine = callLine - cut
    this.callStart = callStart - cut
    this.callOpen = callOpen - cut
    this.callEnd = callEnd - cut
  }
}

/** Where the bracket of the header plainHeader() last read starts, and its bytes' hash. */
let headerBracket = 0
let headerHash = 0

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
  let hash = end - p
  for (let q = p + 2; q < end - 2; q++) {
    const c = buf[q] as number
    if (c === CLOSE_BRACKET || (c === 0x67 && startsWith(buf, q, end, 'goroutine ')))
      return undefined
    hash = Math.imul(hash ^ c, 0x01000193)
  }
  headerBracket = p + 2
  headerHash = hash
  return id
}

/** buf[start, start + length) is `bytes`, byte for byte (Buffer.compare costs more a call). */
function sameBytes(buf: Buffer, start: number, bytes: Buffer, length: number): boolean {
  if (bytes.length !== length) return false
  for (let i = 0; i < length; i++) if (buf[start + i] !== bytes[i]) return false
  return true
}

/** buf[start, end) begins with the ASCII `text`. */
function startsWith(buf: Buffer, start: number, end: number, text: string): boolean {
  if (end - start < text.length) return false
  for (let i = 0; i < text.length; i++) if (buf[start + i] !== text.charCodeAt(i)) return false
  return true
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
  return recordOf(id, bracketOf(bracket, seen), [])
}

/** The bracket taken apart, once for each distinct one (`seen`). */
function bracketOf(bracket: string, seen: Map<string, GoroutineRecord>): GoroutineRecord {
  let parsed = seen.get(bracket)
  if (parsed === undefined) {
    parsed = parseBracket(bracket)
    seen.set(bracket, parsed)
  }
  return parsed
}

/** A goroutine's record with the fields of its parsed bracket. */
function recordOf(
  id: number,
  parsed: GoroutineRecord,
  frames: number[],
  createdBy = -1,
  elided = false,
): GoroutineRecord {
  return {
    count: 1,
    id,
    state: parsed.state,
    waitMinutes: parsed.waitMinutes,
    locked: parsed.locked,
    frames,
    createdBy,
    elided,
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
