/**
 * Go build info: the toolchain version and `go version -m` lines the linker leaves in every Go
 * ≥ 1.13 binary, read from a whole ELF file (/proc/PID/exe) or from the bare `.go.buildinfo`
 * section that extractBuildInfoSection keeps in recordings (a few hundred bytes, not 10 MB).
 *
 *   00000000  ff 20 47 6f 20 62 75 69 6c 64 69 6e 66 3a 08 02  |. Go buildinf:..|
 *   00000020  08 67 6f 31 2e 31 39 2e 38 ..                     |.go1.19.8..|
 *   modinfo:  path\texample.com/tiny\nmod\texample.com/tiny\t(devel)\t\nbuild\tCGO_ENABLED=1\n
 *
 * Reference: go1.19 src/debug/buildinfo/buildinfo.go (readRawBuildInfo, elfExe),
 * go1.19 src/runtime/debug/mod.go (ParseBuildInfo), go1.19 src/cmd/go/internal/modload/build.go
 * (infoStart/infoEnd), ELF: System V gABI, chapter 4 (header, section and program headers).
 */
import { InputError } from '../../errors.ts'
import type { Format } from './format.ts'
import { headOf, looksLikeHtml } from './sniff.ts'

export interface GoBuildInfo {
  /** The toolchain that built the binary, as `go version` prints it: 'go1.19.8'. */
  goVersion: string
  /** The main package path (`path` line): 'example.com/tiny/cmd/api', 'command-line-arguments'. */
  path?: string
  /** The main module path (`mod` line); absent for GOPATH-mode builds. */
  mainModule?: string
  /** The `build k=v` lines, unquoted: CGO_ENABLED, GOARCH, -ldflags, DefaultGODEBUG, vcs.… */
  settings: Record<string, string>
  /** settings.DefaultGODEBUG: recorded by Go ≥ 1.21, and only when non-empty. */
  defaultGodebug?: string
}

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1')
const ELF_MAGIC = Buffer.from('\x7fELF', 'latin1')
const HEADER_SIZE = 32
const FLAG_BIG_ENDIAN = 1
/** Go ≥ 1.18: the two strings follow the header; before, the header held pointers to them. */
const FLAG_INLINE = 2
const PT_LOAD = 1
const PT_NOTE = 4
const PF_X = 1
const PF_W = 2
const SHT_NOBITS = 8

/** The two strings as found, undecoded, so re-encoding them is byte-exact. */
interface RawBuildInfo {
  ptrSize: number
  bigEndian: boolean
  version: Uint8Array
  modinfo: Uint8Array
}
interface Segment {
  type: number
  flags: number
  offset: number
  vaddr: number
  filesz: number
}
interface Elf {
  bytes: Uint8Array
  segments: Segment[]
  sections: { name: string; type: number; addr: number; offset: number; size: number }[]
}

/**
 * Go version and build settings of an ELF binary or of a bare `.go.buildinfo` section.
 * undefined: an ELF without Go build info (not Go, or Go < 1.13). Throws InputError when the
 * bytes are not ELF, or the ELF or the build info is truncated or malformed.
 */
export function parseGoBuildInfo(bytes: Uint8Array, origin: string): GoBuildInfo | undefined {
  const raw = readRawBuildInfo(bytes, origin)
  return raw && decodeModinfo(raw, origin)
}

/**
 * The build info of an ELF binary as a small self-contained `.go.buildinfo` section, for
 * recordings; parseGoBuildInfo reads it back. For Go ≥ 1.18 these are the section's own bytes
 * (without trailing padding). For Go 1.13–1.17 the section holds only pointers into the data
 * segment, so the strings are resolved here and re-encoded in the inline layout (flag 2) a Go
 * ≥ 1.18 linker writes: the blob is a valid section, not the bytes the old binary held.
 * undefined when the ELF has no Go build info; throws InputError like parseGoBuildInfo.
 */
export function extractBuildInfoSection(
  elf: Uint8Array,
  origin = 'ELF file',
): Uint8Array | undefined {
  const raw = readRawBuildInfo(elf, origin)
  if (!raw) return undefined
  const header = new Uint8Array(HEADER_SIZE)
  header.set(MAGIC)
  header[14] = raw.ptrSize
  header[15] = (raw.bigEndian ? FLAG_BIG_ENDIAN : 0) | FLAG_INLINE
  const { version, modinfo } = raw
  return Buffer.concat([header, uvarint(version.length), version, uvarint(modinfo.length), modinfo])
}

export const goBuildInfo: Format<GoBuildInfo | undefined> = {
  kind: 'go-buildinfo',
  // headOf decodes as UTF-8, so the magic's leading 0xff arrives as U+FFFD.
  sniff: head => head.startsWith('\x7fELF') || head.startsWith('\ufffd Go buildinf:'),
  parse: capture => parseGoBuildInfo(capture.bytes, capture.origin),
}

function readRawBuildInfo(bytes: Uint8Array, origin: string): RawBuildInfo | undefined {
  if (startsWith(bytes, MAGIC, 0)) return decodeBlob(bytes, 0, undefined, origin)
  if (!startsWith(bytes, ELF_MAGIC, 0)) {
    if (looksLikeHtml(headOf(bytes, 256)))
      throw new InputError(`${origin}: got HTML, not an ELF binary`)
    const first = Buffer.from(bytes.subarray(0, 4)).toString('hex') || 'nothing'
    throw new InputError(
      `${origin}: not an ELF binary or Go build info section (starts with ${first})`,
    )
  }
  const elf = readElf(bytes, origin)
  // Like Go: the `.go.buildinfo` section, else the first writable non-exec PT_LOAD segment, where
  // the linker puts the blob first. Go ≥ 1.22 scans that whole region; so do we.
  const section = elf.sections.find(s => s.name === '.go.buildinfo' && hasBytes(s.type))
  const segment = elf.segments.find(p => p.type === PT_LOAD && (p.flags & (PF_X | PF_W)) === PF_W)
  const [offset, size, vaddr] = section
    ? [section.offset, section.size, section.addr]
    : segment
      ? [segment.offset, segment.filesz, segment.vaddr]
      : [0, 0, 0]
  const region = Buffer.from(bytes.buffer, bytes.byteOffset + offset, size)
  // The blob is 16-byte aligned; a misaligned copy of the magic (in a string table) is skipped.
  for (let at = region.indexOf(MAGIC); at >= 0; at = region.indexOf(MAGIC, at + 1)) {
    if ((vaddr + at) % 16 !== 0) continue
    if (section) return decodeBlob(region, at, elf, origin)
    // Without the section, the magic found in the data is only a guess: a program that reads
    // build info itself (debug/buildinfo) holds the magic as data. A guess that does not decode
    // is not the blob; go version -m says "not a Go executable" there too.
    try {
      return decodeBlob(region, at, elf, origin)
    } catch (error) {
      if (!(error instanceof InputError)) throw error
    }
  }
  return undefined
}

/** The ELF note type of a Go build ID (cmd/internal/buildid: the note named "Go", type 4). */
const GO_BUILDID_NOTE = 4

/**
 * What shows an ELF binary without build info to be Go all the same, or undefined: its
 * `.gopclntab` or `.note.go.buildid` section, else (section headers stripped too) a PT_NOTE
 * segment holding the Go build ID note. Build info goes missing when `.go.buildinfo` was removed
 * (objcopy --remove-section), or before Go 1.13. Throws InputError like parseGoBuildInfo.
 */
export function goBinaryMark(bytes: Uint8Array, origin: string): string | undefined {
  if (!startsWith(bytes, ELF_MAGIC, 0)) return undefined
  const elf = readElf(bytes, origin)
  const named = elf.sections.find(s => s.name === '.gopclntab' || s.name === '.note.go.buildid')
  if (named) return `its ${named.name} section`
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const little = bytes[5] === 1
  for (const note of elf.segments.filter(p => p.type === PT_NOTE)) {
    // Each note: namesz, descsz, type (4 bytes each), the name padded to 4, then the desc.
    for (let at = note.offset; at + 16 <= Math.min(note.offset + note.filesz, bytes.length); ) {
      const namesz = view.getUint32(at, little)
      const descsz = view.getUint32(at + 4, little)
      const type = view.getUint32(at + 8, little)
      const name = Buffer.from(bytes.subarray(at + 12, at + 12 + Math.min(namesz, 4)))
      if (namesz === 4 && type === GO_BUILDID_NOTE && name.toString('latin1') === 'Go\0\0')
        return 'a Go build ID note'
      at += 12 + Math.ceil(namesz / 4) * 4 + Math.ceil(descsz / 4) * 4
    }
  }
  return undefined
}

function decodeBlob(data: Uint8Array, at: number, elf: Elf | undefined, origin: string) {
  const fail = (what: string) => new InputError(`${origin}: malformed Go build info: ${what}`)
  if (data.length - at < HEADER_SIZE) throw fail(`header cut short at ${data.length - at} bytes`)
  const ptrSize = data[at + 14] ?? 0
  const flags = data[at + 15] ?? 0
  if (ptrSize !== 4 && ptrSize !== 8) throw fail(`pointer size ${ptrSize}`)
  const bigEndian = (flags & FLAG_BIG_ENDIAN) !== 0
  const word = (bytes: Uint8Array, offset: number) =>
    readWord(
      new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      offset,
      ptrSize,
      !bigEndian,
    )

  let pos = at + HEADER_SIZE
  /** Go ≥ 1.18: a uvarint length, then the bytes. */
  const inline = (what: string) => {
    let length = 0
    for (let shift = 0; ; shift += 7) {
      const byte = data[pos++]
      if (byte === undefined || shift > 63) throw fail(`${what} length cut short`)
      length += (byte & 0x7f) * 2 ** shift
      if (byte < 0x80) break
    }
    if (pos + length > data.length) throw fail(`${what} of ${length} bytes runs past the end`)
    pos += length
    return data.subarray(pos - length, pos)
  }
  /** Go 1.13–1.17: a pointer to a Go string header {ptr, len}, through PT_LOAD vaddrs. */
  const pointed = (addr: number, what: string) => {
    const hex = (n: number) => `0x${n.toString(16)}`
    if (!elf) throw fail('Go 1.13–1.17 pointer format needs the whole binary, not the section')
    const header = atVaddr(elf, addr, 2 * ptrSize)
    if (!header) throw fail(`${what} header at ${hex(addr)} is in no PT_LOAD segment`)
    const length = word(header, ptrSize)
    // GOPATH builds leave runtime.modinfo empty, with a nil data pointer.
    if (length === 0) return new Uint8Array(0)
    const bytes = atVaddr(elf, word(header, 0), length)
    if (!bytes) throw fail(`${what} data at ${hex(word(header, 0))} is in no PT_LOAD segment`)
    return bytes
  }
  const raw: RawBuildInfo =
    flags & FLAG_INLINE
      ? { ptrSize, bigEndian, version: inline('Go version'), modinfo: inline('modinfo') }
      : {
          ptrSize,
          bigEndian,
          version: pointed(word(data, at + 16), 'runtime.buildVersion'),
          modinfo: pointed(word(data, at + 16 + ptrSize), 'runtime.modinfo'),
        }
  if (raw.version.length === 0) throw fail('empty Go version')
  return raw
}

function atVaddr(elf: Elf, addr: number, size: number): Uint8Array | undefined {
  for (const p of elf.segments) {
    if (p.type === PT_LOAD && p.vaddr <= addr && addr + size <= p.vaddr + p.filesz) {
      const start = p.offset + (addr - p.vaddr)
      return elf.bytes.subarray(start, start + size)
    }
  }
  return undefined
}

/**
 * Byte offsets in the ELF header (e_*), a program header (p_*) and a section header (sh_*),
 * by class: [ELFCLASS32, ELFCLASS64]. The 64-bit program header moves p_flags to the front.
 */
const ELF_LAYOUT = {
  ehsize: [52, 64],
  phoff: [0x1c, 0x20],
  shoff: [0x20, 0x28],
  phentsize: [0x2a, 0x36], // then e_phnum, e_shentsize, e_shnum, e_shstrndx, 2 bytes each
  phSize: [32, 56],
  p: [
    { type: 0, offset: 4, vaddr: 8, filesz: 16, flags: 24 },
    { type: 0, flags: 4, offset: 8, vaddr: 16, filesz: 32 },
  ],
  shSize: [40, 64],
  sh: [
    { nameAt: 0, type: 4, addr: 12, offset: 16, size: 20, link: 24 },
    { nameAt: 0, type: 4, addr: 16, offset: 24, size: 32, link: 40 },
  ],
} as const

/** Program and section headers of a 32- or 64-bit ELF of either byte order. */
function readElf(bytes: Uint8Array, origin: string): Elf {
  const fail = (what: string) => new InputError(`${origin}: truncated or malformed ELF: ${what}`)
  const c = bytes[4] === 2 ? 1 : 0
  const little = bytes[5] === 1
  if (bytes[4] !== 1 && bytes[4] !== 2) throw fail(`unknown class ${bytes[4]}`)
  if (bytes[5] !== 1 && bytes[5] !== 2) throw fail(`unknown byte order ${bytes[5]}`)
  if (bytes.length < ELF_LAYOUT.ehsize[c]) throw fail(`header cut short at ${bytes.length} bytes`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const u16 = (offset: number) => view.getUint16(offset, little)
  const word = (offset: number, size = c ? 8 : 4) => readWord(view, offset, size, little)
  // Every range is checked before it is read: a truncated binary names what it lost.
  const need = (offset: number, size: number, what: string) => {
    if (!(offset + size <= bytes.length)) {
      throw fail(`${what} at offset ${offset}+${size} lies beyond the file's ${bytes.length} bytes`)
    }
  }
  /** Reads the fields of one header: 4-byte words, except addresses and sizes on ELF64. */
  const fields = <K extends string>(
    base: number,
    at: Readonly<Record<K, number>>,
    wide: readonly NoInfer<K>[],
  ) =>
    Object.fromEntries(
      Object.entries<number>(at).map(([k, o]) => [
        k,
        word(base + o, wide.includes(k as K) ? undefined : 4),
      ]),
    ) as Record<K, number>

  const e = ELF_LAYOUT.phentsize[c]
  const [phentsize, phnum, shentsize] = [u16(e), u16(e + 2), u16(e + 4)]
  let [shnum, shstrndx] = [u16(e + 6), u16(e + 8)]
  const phoff = word(ELF_LAYOUT.phoff[c])
  if (phnum > 0 && phentsize < ELF_LAYOUT.phSize[c]) throw fail(`program header size ${phentsize}`)
  need(phoff, phnum * phentsize, 'program headers')
  const segments: Segment[] = []
  for (let i = 0; i < phnum; i++) {
    const p = fields(phoff + i * phentsize, ELF_LAYOUT.p[c], ['offset', 'vaddr', 'filesz'])
    if (p.type === PT_LOAD) need(p.offset, p.filesz, `PT_LOAD segment ${i}`)
    segments.push(p)
  }

  const shoff = word(ELF_LAYOUT.shoff[c])
  const wide = ['addr', 'offset', 'size'] as const
  const raw: Record<keyof (typeof ELF_LAYOUT.sh)[0], number>[] = []
  if (shoff !== 0) {
    if (shentsize < ELF_LAYOUT.shSize[c]) throw fail(`section header size ${shentsize}`)
    need(shoff, shentsize, 'section headers')
    // Extended numbering (gABI): section 0 holds the real count and string-table index.
    const zero = fields(shoff, ELF_LAYOUT.sh[c], wide)
    if (shnum === 0) shnum = zero.size
    if (shstrndx === 0xffff) shstrndx = zero.link
    need(shoff, shnum * shentsize, 'section headers')
    for (let i = 0; i < shnum; i++) {
      const s = fields(shoff + i * shentsize, ELF_LAYOUT.sh[c], wide)
      if (hasBytes(s.type)) need(s.offset, s.size, `section ${i}`)
      raw.push(s)
    }
  }
  const strtab = raw[shstrndx]
  const sections = raw.map(s => {
    const names = strtab
      ? bytes.subarray(strtab.offset + s.nameAt, strtab.offset + strtab.size)
      : new Uint8Array(0)
    const end = names.indexOf(0)
    return {
      ...s,
      name: Buffer.from(names.slice(0, end < 0 ? names.length : end)).toString('latin1'),
    }
  })
  return { bytes, segments, sections }
}

/** modinfo → GoBuildInfo, as runtime/debug.ParseBuildInfo reads it. */
function decodeModinfo(raw: RawBuildInfo, origin: string): GoBuildInfo {
  const info: GoBuildInfo = { goVersion: utf8(raw.version), settings: {} }
  const mod = raw.modinfo
  // 16-byte sentinels (infoStart/infoEnd) frame the text; like Go, trust the '\n' before the
  // end sentinel rather than the sentinel bytes. Anything else means no module info.
  if (mod.length < 33 || mod[mod.length - 17] !== 0x0a) return info
  const lines = utf8(mod.subarray(16, mod.length - 16)).split('\n')
  lines.forEach((line, index) => {
    const [word, ...elems] = line.split('\t')
    if (word === 'path') info.path = elems.join('\t')
    else if (word === 'mod' && elems[0]) info.mainModule = elems[0]
    else if (word === 'build') {
      const setting = parseBuildSetting(elems.join('\t'))
      if (!setting) {
        const shown = JSON.stringify(line.length > 60 ? `${line.slice(0, 60)}…` : line)
        throw new InputError(`${origin}: malformed Go build info: line ${index + 1}: ${shown}`)
      }
      // defineProperty: a `build __proto__=x` line stays data instead of reaching the prototype.
      Object.defineProperty(info.settings, setting[0], { ...OWN, value: setting[1] })
    }
  })
  const godebug = info.settings.DefaultGODEBUG
  if (godebug) info.defaultGodebug = godebug
  return info
}

/** `key=value`, either side possibly Go-quoted (strconv.Quote or a `raw` string). */
function parseBuildSetting(kv: string): [string, string] | undefined {
  let key: string | undefined
  let rest: string
  if (kv.startsWith('"') || kv.startsWith('`')) {
    const end = quotedPrefixLength(kv)
    key = end ? goUnquote(kv.slice(0, end)) : undefined
    if (key === undefined || kv[end] !== '=') return undefined
    rest = kv.slice(end + 1)
  } else {
    const eq = kv.indexOf('=')
    if (eq <= 0) return undefined
    key = kv.slice(0, eq)
    rest = kv.slice(eq + 1)
  }
  const value = rest.startsWith('"') || rest.startsWith('`') ? goUnquote(rest) : rest
  return value === undefined ? undefined : [key, value]
}

function quotedPrefixLength(s: string): number {
  const quote = s[0]
  for (let i = 1; i < s.length; i++) {
    if (s[i] === '\\' && quote === '"') i++
    else if (s[i] === quote) return i + 1
  }
  return 0
}

const OWN = { enumerable: true, writable: true, configurable: true } as const
const ESCAPES: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11 }

/**
 * strconv.Unquote for what strconv.Quote writes ("…" with \a…\v, \\, \", \xHH for bytes that are
 * not UTF-8, \uHHHH, \UHHHHHHHH) and for `raw` strings. Bytes are collected, then decoded once.
 */
function goUnquote(s: string): string | undefined {
  if (s.length < 2 || s[0] !== s[s.length - 1]) return undefined
  const body = s.slice(1, -1)
  if (s[0] === '`') return body.includes('`') ? undefined : body
  const out: Buffer[] = []
  const token =
    /\\(?:([abfnrtv\\'"])|x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8}))|([^\\"]+)/y
  for (let m = token.exec(body); m; m = token.exec(body)) {
    const [, simple, byte, u4, u8, plain] = m
    const code = Number.parseInt(u4 ?? u8 ?? '', 16)
    if (plain !== undefined) out.push(Buffer.from(plain, 'utf8'))
    else if (simple !== undefined) out.push(Buffer.from([ESCAPES[simple] ?? simple.charCodeAt(0)]))
    else if (byte !== undefined) out.push(Buffer.from([Number.parseInt(byte, 16)]))
    else if (code <= 0x10ffff && (code < 0xd800 || code > 0xdfff)) {
      out.push(Buffer.from(String.fromCodePoint(code), 'utf8'))
    } else return undefined
    if (token.lastIndex === body.length) return utf8(Buffer.concat(out))
  }
  return body === '' ? '' : undefined
}

function readWord(view: DataView, offset: number, size: number, little: boolean): number {
  if (size === 4) return view.getUint32(offset, little)
  // Beyond 2^53 no file offset or mapped address of ours can live: NaN fails every range check.
  const value = view.getBigUint64(offset, little)
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : Number.NaN
}

function uvarint(n: number): Uint8Array {
  const out: number[] = []
  for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n % 128) | 0x80)
  out.push(n)
  return Uint8Array.from(out)
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array, at: number): boolean {
  return prefix.every((b, i) => bytes[at + i] === b)
}

function utf8(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
}

/** SHT_NULL and SHT_NOBITS (.bss) sections occupy no bytes in the file. */
function hasBytes(sectionType: number): boolean {
  return sectionType !== 0 && sectionType !== SHT_NOBITS
}
