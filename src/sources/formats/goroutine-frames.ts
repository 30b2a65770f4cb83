/**
 * Frame identities for goroutine-text.ts, found from the dump's bytes. A debug=2 dump of 200k
 * goroutines repeats a few hundred stacks: hashing every frame's text (two lines, ~120 bytes) as
 * a string key cost more than half of the parse. Here a frame's site (its function and its
 * file:line) is compared, 4 bytes at a time, with the sites that followed the same sites in
 * earlier goroutines (a trie of stacks, innermost first), then its arguments with the ones seen
 * at that site; only what is new is decoded and looked up by its text.
 *
 * Sites, not whole frames, make the trie: arguments differ between goroutines on one stack
 * (pointers), and a trie keyed by them would branch at every such frame. With `args: false` the
 * arguments are not compared at all: a frame keeps only whether it had any ('…' or ''). With
 * maskPointers, a site's arguments are matched against templates (its masked arguments seen
 * last, cut at their pointers): goroutines on one stack share them, so neither masking nor
 * hashing is needed for most frames (on the LCG bench dump, 2,030 of 1.5M frames were masked).
 *
 * Before any of that, a goroutine's lines are matched as one block (block()): a template of all
 * the lines of a goroutine read before, cut where the similarity ignores bytes (pointers at any
 * pointer, arguments at any value), compared 8 bytes at a time, and found by a key of its file
 * lines. A match gives that goroutine's frames, creator and line count at once; on the LCG bench
 * dump 199,792 of 200,000 goroutines were matched so, and its parse at any pointer took 343 ms
 * against 666 ms frame by frame (bench/goroutine-parse.ts, best of 4). Exact similarity keeps no
 * blocks (every byte would count).
 *
 * Identity as in goroutine-text.ts: the call line, and the file line up to its `+0x…` offset (or
 * SIGQUIT's `fp=`, when the line has no offset).
 *
 * The dump arrives in chunks (setChunk): the bytes a site, a variant or a creator is compared
 * with are copied, when first seen, into the matcher's own store, so no chunk outlives its
 * parse; a frame matched again is compared there and neither copied nor decoded.
 *
 * Over 400 lines: the blocks, the trie, the variant tables and the byte helpers below them
 * (hash, mask, compare) all work on the matcher's store and chunk and are parts of the one
 * lookup; split, they would pass those around on the hot path.
 */
import { maskPointers } from '../../model/goroutine-buckets.ts'
import type { Frame, FrameTable } from '../../model/goroutines.ts'

const SPACE = 0x20
/** ' +0x' and ' fp=' as big-endian 32-bit words, as DataView.getInt32 reads them. */
const PLUS_0X = 0x202b3078
const FP_EQ = 0x2066703d
/**
 * Entries compared before falling back to the text lookup. Lists are kept most recently matched
 * first, so what most goroutines share is found at once, and a site followed by thousands of
 * others costs a lookup, not a scan of them all.
 */
const SCAN = 8

const NEWLINE = 10
const TAB = 9
/** Blocks tried by key before a goroutine's lines are read one by one. */
const BLOCK_SCAN = 8
/** Lines a block's key is taken from (see blockKey). */
const KEY_LINES = 8
/** A goroutine's lines longer than this are not made a block. */
const MAX_BLOCK = 1 << 16
/** Blocks made before block() stops making them for a dump whose blocks match too few. */
const BLOCKS_TRIED = 256
/** The store's bytes blocks may take, at most (the two 200k-goroutine bench dumps take 0.3 and
 * 0.7 MiB). */
const BLOCK_BYTES = 16 << 20

/** How a file line was cut: nowhere, at ' +0x', or at ' fp=' (a line without ' +0x'). */
enum Cut {
  None = 0,
  Offset = 1,
  Fp = 2,
}

/** A range of the store: the bytes of a text as first seen. */
interface Span {
  start: number
  length: number
}

interface Site {
  /** Its index in FrameMatcher.sites. */
  id: number
  func: Span
  file: Span
  cut: Cut
  hasArgs: boolean
  /** The frame without its arguments (args: false). */
  frame: number
  /** Arguments seen here, most recently matched first, and their frames (args: true)... */
  variants: Variant[]
  /** ...until there are more than SCAN: then all are in the matcher's table of variants. */
  hashed: boolean
  /**
   * With maskPointers: the masked arguments seen here, most recently matched first (at most
   * SCAN), as templates the arguments are matched against without masking or hashing them.
   */
  templates: Template[]
  /** Template lookups here that found one, and that did not. */
  hits: number
  misses: number
}

/**
 * Arguments as maskPointers sees them, cut at its '*'s: the literal runs between the pointers, as
 * [start, length] pairs in the store; a pointer between each two. Arguments match when their
 * literal runs are these bytes and each pointer is a `0x…` maskInto would mask.
 */
interface Template {
  literals: number[]
  frame: number
}

/**
 * A goroutine's lines after its header, through the blank line that ends them, as a template:
 * its bytes cut at what the similarity ignores (a pointer at any pointer; a call's arguments
 * without them), as Template's literals; and what reading them one by one gave.
 */
export interface Block {
  literals: number[]
  frames: number[]
  createdBy: number
  elided: boolean
  /** Lines, the blank one included. */
  lines: number
}

interface Variant {
  args: Span
  frame: number
}

export class FrameMatcher {
  /** The chunk being parsed, which offsets given to the methods below point into. */
  private bytes: Buffer = Buffer.alloc(0)
  private view: DataView = new DataView(new ArrayBuffer(0))
  /** The texts compared with, copied from the chunks they were first seen in; `stored` used. */
  private store = Buffer.allocUnsafe(1 << 16)
  private storeView = new DataView(this.store.buffer, this.store.byteOffset, this.store.length)
  private stored = 0
  private readonly sites: Site[] = []
  private readonly siteByText = new Map<string, number>()
  // The trie: node 0 is a stack's start; a node's children are the sites seen after it.
  private readonly nodeSite: number[] = [-1]
  private readonly firstChild: number[] = [-1]
  private readonly nextSibling: number[] = [-1]
  /** Child of a node by its site: node × 2^26 + site (a dump has fewer than 2^26 lines). */
  private readonly childOf = new Map<number, number>()
  /**
   * Children past the first SCAN of their list, by a hash of their node, function length and
   * last four bytes of function name: a node followed by hundreds of sites (the frame after
   * runtime.gopark) finds most of them without decoding or hashing their text.
   */
  private readonly byPrint = new Map<number, number[]>()
  /** `created by` frames (whole call text, no arguments), most recently matched first. */
  private readonly creators: { call: Span; file: Span; cut: Cut; frame: number }[] = []
  /** The frames of the stacks that ended at a node, shared by the goroutines whose are equal. */
  private readonly nodeFrames: (number[] | undefined)[] = []
  /** The variants of sites with more than SCAN (pointer arguments: runtime.gopark's). */
  private readonly variants = new SpanTable()
  /**
   * With maskPointers: the frames by site and arguments as bucketing by any pointer sees them
   * (maskPointers'), the masked bytes in the store, in a table as the variants'; and by the
   * masked text, which decides (bytes that are not UTF-8 can differ and decode alike).
   */
  private readonly masked = new SpanTable()
  private readonly maskedByText = new Map<string, number>()
  /** The node the last stackFrame() call ended at; 0 starts a stack (startGoroutine). */
  node = 0
  /** Blocks by blockKey, most recently matched first (at most BLOCK_SCAN a key). */
  private readonly blocks = new Map<number, Block[]>()
  /** While a goroutine's lines are read one by one to make a block of them: where they start,
   * its key, and its calls' arguments as [start, end) pairs; -1 when no block is being made. */
  private recording = -1
  private recordingKey = 0
  private readonly recordedArgs: number[] = []
  private blockHits = 0
  private blocksMade = 0
  /** Bytes of the store the blocks made hold. */
  private blockBytes = 0
  /** Where the lines block() matched end (past the blank line after them). */
  blockEnd = 0

  constructor(
    private readonly table: FrameTable,
    private readonly parse: (call: string, location: string) => Frame,
    private readonly args: boolean,
    private readonly maskPointers = false,
  ) {}

  /** The chunk that offsets passed from now on point into; the matcher keeps no reference to
   * the one before. */
  setChunk(bytes: Buffer): void {
    this.bytes = bytes
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    // A block is made of one chunk's bytes.
    this.recording = -1
  }

  /** A goroutine's header was read: its frames follow. */
  startGoroutine(): void {
    this.node = 0
    this.recording = -1
  }

  /**
   * The block the goroutine's lines match, from bytes[start] (after its header) through the
   * blank line that ends them, in all but what the similarity ignores; blockEnd is then where
   * they end. Undefined when none does: the lines are then read one by one (stackFrame,
   * creator) and become a block when the goroutine ends (endBlock).
   */
  block(start: number): Block | undefined {
    if (this.args && !this.maskPointers) return undefined
    const key = this.blockKey(start)
    const list = this.blocks.get(key)
    if (list !== undefined)
      for (let i = 0; i < list.length; i++) {
        const b = list[i] as Block
        const end = this.matchFrom(b.literals, start, this.bytes.length)
        if (end >= 0) {
          toFront(list, i)
          this.blockEnd = end
          this.blockHits++
          return b
        }
      }
    // Goroutines that share no stack (an id argument in each, at any pointer) would each make
    // a block no other matches: past BLOCKS_TRIED blocks made with fewer matches, none is made.
    // Nor past BLOCK_BYTES of them: a dump whose every stack recurs once would copy half of
    // itself into blocks.
    if (
      (this.blocksMade < BLOCKS_TRIED || this.blockHits >= this.blocksMade) &&
      this.blockBytes < BLOCK_BYTES
    ) {
      this.recording = start
      this.recordingKey = key
      this.recordedArgs.length = 0
    }
    return undefined
  }

  /**
   * The goroutine whose lines block() did not match ended at `end`, after its blank line, with
   * these frames (made shared here: the array returned), creator and elision; its lines become
   * a block, unless they were not read from this chunk alone.
   */
  endBlock(end: number, frames: number[], createdBy: number, elided: boolean): number[] {
    const start = this.recording
    this.recording = -1
    const shared = this.shared(frames)
    if (start < 0 || end - start > MAX_BLOCK) return shared
    const bytes = this.bytes
    this.reserve(end - start)
    const at = this.stored
    const stars: number[] = []
    let o = at
    let from = start
    const args = this.recordedArgs
    for (let k = 0; k < args.length; k += 2) {
      const a = args[k] as number
      const e = args[k + 1] as number
      for (let q = from; q < a; q++) this.store[o++] = bytes[q] as number
      if (this.maskPointers) o += maskInto(bytes, a, e, this.store, o, stars)
      else if (e > a) {
        stars.push(o)
        this.store[o++] = 0x2a
      }
      from = e
    }
    for (let q = from; q < end; q++) this.store[o++] = bytes[q] as number
    this.stored = o
    this.blockBytes += o - at
    const literals = cutAtStars(at, o, stars)
    let lines = 0
    for (let q = start; q < end; q++) if (bytes[q] === NEWLINE) lines++
    const b: Block = { literals, frames: shared, createdBy, elided, lines }
    const list = this.blocks.get(this.recordingKey)
    if (list === undefined) this.blocks.set(this.recordingKey, [b])
    else {
      list.unshift(b)
      if (list.length > BLOCK_SCAN) list.pop()
    }
    this.blocksMade++
    return shared
  }

  /**
   * The frame whose call line is bytes[callStart, callEnd), its arguments' '(' at `open`, and
   * whose file line is bytes[fileStart, fileEnd) (from its tab), following the frame matched
   * last; moves the node on to it.
   */
  stackFrame(
    callStart: number,
    open: number,
    callEnd: number,
    fileStart: number,
    fileEnd: number,
  ): number {
    const node = this.node
    const hasArgs = callEnd - open > 2
    let site = -1
    let previous = -1
    let c = this.firstChild[node] as number
    for (let scanned = 0; c >= 0 && scanned < SCAN; scanned++) {
      const s = this.sites[this.nodeSite[c] as number] as Site
      if (
        s.hasArgs === hasArgs &&
        s.func.length === open - callStart &&
        this.fileMatches(s.file, s.cut, fileStart, fileEnd) &&
        this.equal(callStart, s.func.start, s.func.length)
      ) {
        if (previous >= 0) this.toFront(node, previous, c)
        site = this.nodeSite[c] as number
        this.node = c
        break
      }
      previous = c
      c = this.nextSibling[c] as number
    }
    if (site < 0 && c >= 0) {
      const print = this.print(node, callStart, open)
      for (const candidate of this.byPrint.get(print) ?? []) {
        const s = this.sites[this.nodeSite[candidate] as number] as Site
        if (
          s.hasArgs === hasArgs &&
          s.func.length === open - callStart &&
          this.fileMatches(s.file, s.cut, fileStart, fileEnd) &&
          this.equal(callStart, s.func.start, s.func.length)
        ) {
          site = this.nodeSite[candidate] as number
          this.node = candidate
          break
        }
      }
    }
    if (site < 0) {
      site = this.siteOf(callStart, open, callEnd, fileStart, fileEnd)
      this.node = this.child(node, site)
      const print = this.print(node, callStart, open)
      const list = this.byPrint.get(print)
      if (!list) this.byPrint.set(print, [this.node])
      else if (!list.includes(this.node)) list.push(this.node)
    }
    const s = this.sites[site] as Site
    if (this.recording >= 0) this.recordedArgs.push(open + 1, callEnd - 1)
    return this.args ? this.variant(s, callStart, open, callEnd, fileStart) : s.frame
  }

  /**
   * An array equal to `frames`, the stack that ended at the current node: the one kept there
   * when equal (without arguments, always: a node is a stack of sites), else a copy, kept.
   * Records may share it: model data is not mutated once parsed.
   */
  shared(frames: number[]): number[] {
    const kept = this.nodeFrames[this.node]
    if (kept && kept.length === frames.length) {
      let same = true
      for (let i = 0; i < kept.length && same; i++) same = kept[i] === frames[i]
      if (same) return kept
    }
    const copy = frames.slice()
    this.nodeFrames[this.node] = copy
    return copy
  }

  /** The `created by` frame, whose call text (after 'created by ') has no arguments. */
  creator(callStart: number, callEnd: number, fileStart: number, fileEnd: number): number {
    const creators = this.creators
    for (let i = 0; i < creators.length && i < SCAN; i++) {
      const c = creators[i] as (typeof creators)[number]
      if (
        c.call.length === callEnd - callStart &&
        this.fileMatches(c.file, c.cut, fileStart, fileEnd) &&
        this.equal(callStart, c.call.start, c.call.length)
      ) {
        toFront(creators, i)
        return c.frame
      }
    }
    const { file, cut, location } = this.location(fileStart, fileEnd)
    const call = this.bytes.toString('utf8', callStart, callEnd)
    const frame = this.table.intern(`${call}\n${location}`, () => this.parse(call, location))
    const kept = this.keep(file.start, file.length)
    creators.unshift({ call: this.keep(callStart, callEnd - callStart), file: kept, cut, frame })
    if (creators.length > SCAN) creators.pop()
    return frame
  }

  /** The frame of site s with the arguments at bytes(open, callEnd - 1). */
  private variant(s: Site, callStart: number, open: number, callEnd: number, fileStart: number) {
    const start = open + 1
    const length = callEnd - 1 - start
    if (this.maskPointers) return this.templatedFrame(s, callStart, callEnd, fileStart, start)
    let hash = 0
    if (s.hashed) {
      // Pointer arguments make many variants at one site: past SCAN, by hash, not scanned.
      hash = siteHash(s.id, hashOf(this.bytes, this.view, start, length))
      const v = this.variants.find(
        s.id,
        hash,
        this.bytes,
        this.view,
        start,
        length,
        this.store,
        this.storeView,
      )
      if (v >= 0) return v
    } else {
      const variants = s.variants
      for (let i = 0; i < variants.length; i++) {
        const v = variants[i] as Variant
        if (v.args.length === length && this.equal(start, v.args.start, length)) {
          toFront(variants, i)
          return v.frame
        }
      }
    }
    const call = this.bytes.toString('utf8', callStart, callEnd)
    const location = this.bytes.toString('utf8', fileStart + 1, fileStart + s.file.length)
    const frame = this.table.intern(`${call}\n${location}`, () => this.parse(call, location))
    const args = this.keep(start, length)
    if (s.hashed) this.variants.add(s.id, hash, args, frame)
    else {
      s.variants.unshift({ args, frame })
      if (s.variants.length > SCAN) {
        s.hashed = true
        for (const v of s.variants)
          this.variants.add(
            s.id,
            siteHash(s.id, hashOf(this.store, this.storeView, v.args.start, v.args.length)),
            v.args,
            v.frame,
          )
        s.variants = []
      }
    }
    return frame
  }

  /**
   * At any pointer, the frame of site s with the arguments bytes[start, callEnd - 1): matched
   * against the site's templates, which all a site's goroutines usually share (their arguments
   * differ in pointers only); else masked and looked up. A site whose arguments differ in more
   * than pointers (an id per goroutine) mostly misses its templates: past 64 misses with fewer
   * hits, it stops trying them, as they would only add to the lookup.
   */
  private templatedFrame(
    s: Site,
    callStart: number,
    callEnd: number,
    fileStart: number,
    start: number,
  ) {
    const end = callEnd - 1
    if (s.misses >= 64 && s.hits < s.misses)
      return this.maskedFrame(s, callStart, callEnd, fileStart, start, end - start)
    const templates = s.templates
    for (let i = 0; i < templates.length; i++) {
      const t = templates[i] as Template
      if (this.matches(t.literals, start, end)) {
        toFront(templates, i)
        s.hits++
        return t.frame
      }
    }
    s.misses++
    const stars: number[] = []
    const at = this.stored
    const frame = this.maskedFrame(s, callStart, callEnd, fileStart, start, end - start, stars)
    // The masked bytes, kept at `at`.
    const literals = cutAtStars(at, this.stored, stars)
    templates.unshift({ literals, frame })
    if (templates.length > SCAN) templates.pop()
    return frame
  }

  /**
   * bytes[start, end) as a template's arguments: its literal runs equal, and a `0x…` at each
   * pointer that maskInto masks (taken whole: up to the next byte that is not a hex digit;
   * six digits or more after leading zeros). Given a template made by maskInto, true exactly
   * when maskInto would write the template's masked bytes: the bytes a run's scan looks at past
   * its end are the next pointer's `0x` and first digit, which both texts have.
   */
  private matches(literals: number[], start: number, end: number): boolean {
    return this.matchFrom(literals, start, end) === end
  }

  /**
   * Where bytes from `start` (not past `limit`) stop matching literal runs with a slot between
   * each two, or -1 when they do not: each slot a pointer as matches() takes it, or without
   * arguments (args: false) the arguments of a call up to the ')' that ends its line, as
   * stackFrame sees them (no '(' among them, and not empty).
   */
  private matchFrom(literals: number[], start: number, limit: number): number {
    let i = start
    for (let p = 0; p < literals.length; p += 2) {
      if (p > 0) {
        i = this.args ? this.pointerEnd(i, limit) : this.argsEnd(i, limit)
        if (i < 0) return -1
      }
      const length = literals[p + 1] as number
      if (i + length > limit || !this.equal(i, literals[p] as number, length)) return -1
      i += length
    }
    return i
  }

  /** The end of the pointer maskInto masks at bytes[i] (a `0x…` ending before `limit`), or -1. */
  private pointerEnd(i: number, limit: number): number {
    const bytes = this.bytes
    if (i + 2 >= limit || bytes[i] !== 0x30 || bytes[i + 1] !== 0x78) return -1
    // Leading zeros first (maskInto counts the digits after them), then the rest of the
    // digits, four at a time while they last.
    let j = i + 2
    while (j < limit && bytes[j] === 0x30) j++
    const significant = j
    while (j + 4 <= limit && allHex(this.view.getInt32(j))) j += 4
    while (j < limit && isHex(bytes[j] as number)) j++
    const digits = j - significant
    // Past 16 digits no address: a block then takes its lines one by one, with their checks.
    return digits < 6 || digits > 16 ? -1 : j
  }

  /** The end of a call's arguments from bytes[i]: the ')' that ends the line, or -1. */
  private argsEnd(i: number, limit: number): number {
    let eol = this.bytes.indexOf(NEWLINE, i)
    if (eol < 0 || eol > limit || eol - i > MAX_BLOCK) return -1
    if (this.bytes[eol - 1] === 0x0d) eol--
    const close = eol - 1
    if (close <= i || this.bytes[close] !== 0x29) return -1
    return lastOpenParen(this.bytes, this.view, i, close) < 0 ? close : -1
  }

  /**
   * A block's key, from what pointers and arguments do not change: how many of KEY_LINES lines
   * it has, and of each of them that starts with a tab (file lines) its length and last eight
   * bytes (the end of file:line and its +0x offset). A line found by indexOf each, no byte read
   * one at a time: most goroutines are matched by the first block their key gives.
   */
  private blockKey(start: number): number {
    const bytes = this.bytes
    const view = this.view
    const n = bytes.length
    let h = 0x811c9dc5
    let from = start
    let line = 1
    for (; line <= KEY_LINES && from < n; line++) {
      const eol = bytes.indexOf(NEWLINE, from)
      if (eol < 0 || eol === from) break
      if (bytes[from] === TAB) {
        h = Math.imul(h ^ (eol - from), 0x01000193)
        if (eol - from >= 8)
          h = Math.imul(
            h ^ view.getInt32(eol - 4, true) ^ (view.getInt32(eol - 8, true) >>> 3),
            0x01000193,
          )
      }
      from = eol + 1
    }
    return Math.imul(h ^ line, 0x01000193)
  }

  /**
   * The frame of site s whose arguments, bytes[start, start + length), are equal to its own but
   * for pointers (maskPointers' '*'): the first such frame seen, found by the masked bytes.
   * Given `stars`, the masked bytes stay in the store, and it gets where their masked '*'s are.
   */
  private maskedFrame(
    s: Site,
    callStart: number,
    callEnd: number,
    fileStart: number,
    start: number,
    length: number,
    stars?: number[],
  ): number {
    // The masked bytes go to the store's free end, and stay there only when new or asked for.
    this.reserve(length)
    const at = this.stored
    const maskedLength = maskInto(this.bytes, start, start + length, this.store, at, stars)
    const hash = siteHash(s.id, hashOf(this.store, this.storeView, at, maskedLength))
    const found = this.masked.find(
      s.id,
      hash,
      this.store,
      this.storeView,
      at,
      maskedLength,
      this.store,
      this.storeView,
    )
    if (found >= 0) {
      if (stars) this.stored += maskedLength
      return found
    }
    const call = this.bytes.toString('utf8', callStart, callEnd)
    const location = this.bytes.toString('utf8', fileStart + 1, fileStart + s.file.length)
    const open = call.lastIndexOf('(')
    const key = `${s.id}\n${maskPointers(call.slice(open + 1, -1))}`
    let frame = this.maskedByText.get(key)
    if (frame === undefined) {
      frame = this.table.intern(`${call}\n${location}`, () => this.parse(call, location))
      this.maskedByText.set(key, frame)
    }
    this.stored += maskedLength
    this.masked.add(s.id, hash, { start: at, length: maskedLength }, frame)
    return frame
  }

  /** bytes[start, start + length) of the chunk, copied to the store: where it is now. */
  private keep(start: number, length: number): Span {
    this.reserve(length)
    const store = this.store
    const bytes = this.bytes
    const at = this.stored
    // Byte by byte: Buffer.copy costs ~0.3 µs a call, more than these ~40 bytes.
    for (let k = 0; k < length; k++) store[at + k] = bytes[start + k] as number
    this.stored += length
    return { start: at, length }
  }

  /** Room for `length` more bytes in the store. */
  private reserve(length: number): void {
    if (this.stored + length <= this.store.length) return
    const grown = Buffer.allocUnsafe(Math.max(this.store.length * 2, this.stored + length))
    this.store.copy(grown, 0, 0, this.stored)
    this.store = grown
    this.storeView = new DataView(grown.buffer, grown.byteOffset, grown.length)
  }

  /** The site of a frame not found in the trie: by its text, added when new. */
  private siteOf(cs: number, open: number, ce: number, fs: number, fe: number): number {
    const { file, cut, location } = this.location(fs, fe)
    const hasArgs = ce - open > 2
    const func = this.bytes.toString('utf8', cs, open)
    const key = `${func}\n${location}\n${hasArgs ? '…' : ''}`
    let site = this.siteByText.get(key)
    if (site === undefined) {
      site = this.sites.length
      this.siteByText.set(key, site)
      let frame = -1
      if (!this.args) {
        const call = `${func}(${hasArgs ? '…' : ''})`
        frame = this.table.intern(`${call}\n${location}`, () => this.parse(call, location))
      }
      this.sites.push({
        id: site,
        func: this.keep(cs, open - cs),
        file: this.keep(file.start, file.length),
        cut,
        hasArgs,
        frame,
        variants: [],
        hashed: false,
        templates: [],
        hits: 0,
        misses: 0,
      })
    }
    return site
  }

  /** The file line's identity (in the chunk): up to its cut, from its tab, and the location
   * after the tab. */
  private location(fs: number, fe: number) {
    const text = this.bytes.toString('latin1', fs, fe)
    let cut = Cut.Offset
    let at = text.indexOf(' +0x')
    if (at < 0) {
      cut = Cut.Fp
      at = text.indexOf(' fp=')
    }
    if (at < 0) cut = Cut.None
    const length = at < 0 ? fe - fs : at
    const location = this.bytes.toString('utf8', fs + 1, fs + length)
    return { file: { start: fs, length }, cut, location }
  }

  private print(node: number, callStart: number, open: number): number {
    const tail = open - callStart >= 4 ? this.view.getInt32(open - 4) : 0
    return Math.imul(Math.imul(node, 0x9e3779b1) ^ (open - callStart), 0x85ebca6b) ^ tail
  }

  /** The trie node for `site` after `node`, added when new (at the front of its list). */
  private child(node: number, site: number): number {
    const key = node * 2 ** 26 + site
    let c = this.childOf.get(key)
    if (c === undefined) {
      c = this.nodeSite.length
      this.nodeSite.push(site)
      this.firstChild.push(-1)
      this.nextSibling.push(this.firstChild[node] as number)
      this.firstChild[node] = c
      this.childOf.set(key, c)
    }
    return c
  }

  /** Moves child c, found after `previous` in node's list, to the front. */
  private toFront(node: number, previous: number, c: number): void {
    this.nextSibling[previous] = this.nextSibling[c] as number
    this.nextSibling[c] = this.firstChild[node] as number
    this.firstChild[node] = c
  }

  /** True when the file line at bytes[fs, fe) has the identity `file`, cut as `cut`. */
  private fileMatches(file: Span, cut: Cut, fs: number, fe: number): boolean {
    const after = fs + file.length
    if (after > fe) return false
    if (cut === Cut.None) {
      if (after !== fe) return false
    } else {
      if (after + 4 > fe) return false
      const word = this.view.getInt32(after)
      // Equal bytes before `after` hold no ' +0x' of their own (the first one's was the cut).
      if (cut === Cut.Offset ? word !== PLUS_0X : word !== FP_EQ || this.hasOffset(after, fe))
        return false
    }
    return this.equal(fs, file.start, file.length)
  }

  /** The chunk's bytes[a, a + length) equal the store's [b, b + length). */
  private equal(a: number, b: number, length: number): boolean {
    if (length < 8) {
      const view = this.view
      const stored = this.storeView
      if (length >= 4)
        return (
          view.getInt32(a, true) === stored.getInt32(b, true) &&
          view.getInt32(a + length - 4, true) === stored.getInt32(b + length - 4, true)
        )
      for (let k = 0; k < length; k++) if (this.bytes[a + k] !== this.store[b + k]) return false
      return true
    }
    // Eight bytes at a time, the last eight overlapping the ones before (no byte-by-byte tail).
    for (let k = 0; k + 8 < length; k += 8) if (!this.same8(a + k, b + k)) return false
    return this.same8(a + length - 8, b + length - 8)
  }

  /**
   * The chunk's 8 bytes at a are the store's at b. As doubles first: equal doubles other than
   * zero have equal bits (and text is never zero bytes); unequal ones may be NaNs of equal bits,
   * which the two words then tell.
   */
  private same8(a: number, b: number): boolean {
    const view = this.view
    const stored = this.storeView
    const x = view.getFloat64(a, true)
    if (x === stored.getFloat64(b, true) && x !== 0) return true
    return (
      view.getInt32(a, true) === stored.getInt32(b, true) &&
      view.getInt32(a + 4, true) === stored.getInt32(b + 4, true)
    )
  }

  /** ' +0x' somewhere in bytes[from, end). */
  private hasOffset(from: number, end: number): boolean {
    for (let p = from; p + 4 <= end; p++)
      if (this.bytes[p] === SPACE && this.view.getInt32(p) === PLUS_0X) return true
    return false
  }
}

/**
 * The last '(' in buf[from, end), where a call's arguments open; -1 when there is none. Read 4
 * bytes at a time from the end (a word holds a '(' when one of its bytes xor '(' is zero): the
 * arguments of 1.5M call lines were a tenth of a 200k-goroutine parse, byte by byte.
 */
export function lastOpenParen(buf: Buffer, view: DataView, from: number, end: number): number {
  let p = end
  while (p - 4 >= from) {
    const x = view.getInt32(p - 4) ^ 0x28282828
    if (((x - 0x01010101) & ~x & 0x80808080) !== 0) break
    p -= 4
  }
  for (p--; p >= from; p--) if (buf[p] === 0x28) return p
  return -1
}

/**
 * The store's masked bytes [at, end) cut at the '*'s written at `stars`: the literal runs between
 * them as [start, length] pairs, what Template and Block keep.
 */
function cutAtStars(at: number, end: number, stars: readonly number[]): number[] {
  const literals: number[] = []
  let from = at
  for (const star of stars) {
    literals.push(from, star - from)
    from = star + 1
  }
  literals.push(from, end - from)
  return literals
}

/** A 32-bit hash of bytes[start, start + length), the same for the same bytes in any buffer. */
function hashOf(bytes: Buffer, view: DataView, start: number, length: number): number {
  let h = length
  let k = 0
  for (; k + 4 <= length; k += 4) h = Math.imul(h ^ view.getInt32(start + k), 0x9e3779b1)
  for (; k < length; k++) h = Math.imul(h ^ (bytes[start + k] as number), 0x85ebca6b)
  return h
}

/**
 * Spans of the store by site and hash, open addressing: slots hold an entry's index + 1 (0 is
 * empty), doubled when half full. A Map per site of lists by hash cost twice as much.
 */
class SpanTable {
  private slots = new Int32Array(1 << 10)
  private readonly site: number[] = []
  private readonly hash: number[] = []
  private readonly span: Span[] = []
  private readonly frame: number[] = []

  /** The frame of the entry of `site` whose bytes equal from[start, start + length); -1. */
  find(
    site: number,
    hash: number,
    from: Buffer,
    fromView: DataView,
    start: number,
    length: number,
    store: Buffer,
    storeView: DataView,
  ): number {
    const slots = this.slots
    const mask = slots.length - 1
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const e = (slots[i] as number) - 1
      if (e < 0) return -1
      const span = this.span[e] as Span
      if (this.hash[e] !== hash || this.site[e] !== site || span.length !== length) continue
      const b = span.start
      let k = 0
      for (; k + 4 <= length; k += 4)
        if (fromView.getInt32(start + k) !== storeView.getInt32(b + k)) break
      if (k + 4 <= length) continue
      for (; k < length; k++) if (from[start + k] !== store[b + k]) break
      if (k === length) return this.frame[e] as number
    }
  }

  add(site: number, hash: number, span: Span, frame: number): void {
    const e = this.frame.length
    this.site.push(site)
    this.hash.push(hash)
    this.span.push(span)
    this.frame.push(frame)
    if ((e + 1) * 2 > this.slots.length) {
      this.slots = new Int32Array(this.slots.length * 2)
      for (let w = 0; w <= e; w++) this.place(this.hash[w] as number, w)
    } else this.place(hash, e)
  }

  private place(hash: number, e: number): void {
    const slots = this.slots
    const mask = slots.length - 1
    let i = hash & mask
    while (slots[i] !== 0) i = (i + 1) & mask
    slots[i] = e + 1
  }
}

/**
 * bytes[start, end) written to out[at…] as maskPointers writes the text: every `0x` followed by
 * hex digits (lowercase), taken whole, becomes '*' when its value is at least 0x100000 (six
 * digits after leading zeros); the length written, at most end - start. `stars` gets where in
 * `out` each '*' written for a pointer is.
 */
export function maskInto(
  bytes: Buffer,
  start: number,
  end: number,
  out: Buffer,
  at: number,
  stars?: number[],
): number {
  let o = at
  let i = start
  while (i < end) {
    const c = bytes[i] as number
    if (c === 0x30 && i + 2 < end && bytes[i + 1] === 0x78 && isHex(bytes[i + 2] as number)) {
      let j = i + 2
      while (j < end && isHex(bytes[j] as number)) j++
      let k = i + 2
      while (k < j && bytes[k] === 0x30) k++
      if (j - k >= 6) {
        stars?.push(o)
        out[o++] = 0x2a
      } else for (let q = i; q < j; q++) out[o++] = bytes[q] as number
      i = j
    } else {
      out[o++] = c
      i++
    }
  }
  return o - at
}

/**
 * True when the four bytes of `word` (big-endian) are all lowercase hex digits. Per byte, with no
 * carry into the next (every byte below 0x80, every sum below 0x100): adding 0x80 - x sets a
 * byte's top bit exactly when the byte is at least x.
 */
function allHex(word: number): boolean {
  if ((word & 0x80808080) !== 0) return false
  const atLeast0 = word + 0x50505050
  const atLeastColon = word + 0x46464646
  const atLeastA = word + 0x1f1f1f1f
  const atLeastG = word + 0x19191919
  const hex = (atLeast0 & ~atLeastColon) | (atLeastA & ~atLeastG)
  return (hex & 0x80808080) === (0x80808080 | 0)
}

/** 1 at the lowercase hex digits' codes: one load, where two ranges were four compares. */
const HEX_DIGITS = new Uint8Array(256)
for (const c of '0123456789abcdef') HEX_DIGITS[c.charCodeAt(0)] = 1

function isHex(c: number): boolean {
  return HEX_DIGITS[c] === 1
}

/** The table key of a site's arguments: mixed so that its low bits, the slot, depend on all. */
function siteHash(site: number, argsHash: number): number {
  let h = Math.imul(argsHash ^ Math.imul(site, 0x27d4eb2f), 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/** Moves list[i] to the front, in place (no arrays allocated on the hot path). */
function toFront<T>(list: T[], i: number): void {
  if (i === 0) return
  const item = list[i] as T
  for (let k = i; k > 0; k--) list[k] = list[k - 1] as T
  list[0] = item
}
