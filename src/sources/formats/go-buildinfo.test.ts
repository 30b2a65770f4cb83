import assert from 'node:assert/strict'
import { execFile, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { promisify } from 'node:util'
import {
  assertInputError as assertOneLineError,
  assertSniffsOnlyItsOwn,
  fixture,
} from '../../../test/helpers/format-fixtures.ts'
import { GO_RELEASES, type GoRelease, goCommand } from '../../demo/go-toolchains.ts'
import {
  extractBuildInfoSection,
  type GoBuildInfo,
  goBinaryMark,
  goBuildInfo,
  parseGoBuildInfo,
} from './go-buildinfo.ts'

const FIXTURE = 'go1.19.8-linux-amd64-ldflags-tags.buildinfo'
/** `go version -m` of the binary the fixture section was extracted from. */
const FIXTURE_GO_VERSION_M: string = JSON.parse(
  readFileSync(new URL('../../../testdata/formats/capture-http.json', import.meta.url), 'utf8'),
).goVersionM[FIXTURE]
const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1')
const HAVE_CC = spawnSync('gcc', ['--version']).status === 0

/** What `go version -m` printed, as a GoBuildInfo: the reference answer. */
function fromGoVersionM(text: string): GoBuildInfo {
  const [first = '', ...lines] = text.trimEnd().split('\n')
  const info: GoBuildInfo = { goVersion: first.slice(first.lastIndexOf(': ') + 2), settings: {} }
  for (const line of lines) {
    const [, word, ...cols] = line.split('\t')
    if (word === 'path') info.path = cols.join('\t')
    if (word === 'mod' && cols[0]) info.mainModule = cols[0]
    if (word === 'build') {
      const kv = cols.join('\t')
      const value = kv.slice(kv.indexOf('=') + 1)
      // strconv.Quote of the ASCII settings we build is valid JSON.
      info.settings[kv.slice(0, kv.indexOf('='))] = value.startsWith('"')
        ? JSON.parse(value)
        : value
    }
  }
  if (info.settings.DefaultGODEBUG) info.defaultGodebug = info.settings.DefaultGODEBUG
  return info
}

/** `go version -m` by the toolchain the tests read the build info of: the reference reader. */
const REFERENCE = goCommand('1.26')

function goVersionM(file: string): GoBuildInfo {
  const result = spawnSync(REFERENCE.command, ['version', '-m', file], {
    encoding: 'utf8',
    env: { ...process.env, ...REFERENCE.env },
  })
  // go version exits 0 even when it cannot read the file; it then prints only to stderr.
  assert.ok(result.status === 0 && result.stdout, `go version -m ${file}: ${result.stderr}`)
  return fromGoVersionM(result.stdout)
}

/** File offset of the first 16-byte-aligned magic: the section's start in these binaries. */
function magicOffset(bytes: Buffer): number {
  let at = bytes.indexOf(MAGIC)
  while (at % 16 !== 0) at = bytes.indexOf(MAGIC, at + 1)
  return at
}

function assertInputError(run: () => unknown, origin: string) {
  assertOneLineError(run, new RegExp(`^${origin.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `))
}

/** Seeded, so a failure reproduces. */
function noise(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length)
  for (let i = 0, x = seed; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

test('reads every committed section (go1.19.8, go1.27.3, go1.26.8-X:…) exactly as go version -m printed it', () => {
  const all = JSON.parse(
    readFileSync(new URL('../../../testdata/formats/capture-http.json', import.meta.url), 'utf8'),
  ).goVersionM as Record<string, string>
  assert.deepEqual(Object.keys(all).length, 3)
  for (const [name, printed] of Object.entries(all)) {
    assert.deepEqual(
      goBuildInfo.parse(fixture('go-buildinfo', name)),
      fromGoVersionM(printed),
      name,
    )
  }
  const experiment = goBuildInfo.parse(
    fixture('go-buildinfo', 'go1.26.8-X-goroutineleakprofile-linux-amd64.buildinfo'),
  )
  assert.equal(experiment?.goVersion, 'go1.26.8-X:goroutineleakprofile')
  assert.equal(experiment?.settings.GOEXPERIMENT, 'goroutineleakprofile')
})

test('reads the committed go1.19.8 section exactly as go version -m printed it', () => {
  const capture = fixture('go-buildinfo', FIXTURE)
  const expected = fromGoVersionM(FIXTURE_GO_VERSION_M)
  assert.deepEqual(goBuildInfo.parse(capture), expected)
  assert.equal(expected.settings['-ldflags'], '-s -w -X main.Version=fixture')
  assert.equal(expected.mainModule, 'example.com/tiny')
})

test('re-extracting a bare section gives the same bytes', () => {
  const section = fixture('go-buildinfo', FIXTURE).bytes
  assert.deepEqual(extractBuildInfoSection(section), Buffer.from(section))
})

test('unquotes Go-quoted keys and values, and keeps a __proto__ key as data', () => {
  const modinfo = [
    'path\tx',
    'build\t-gcflags="all=-N -l \\t\\x41\\u00e9"',
    'build\t"odd key"=`raw \\n`',
    'build\t__proto__=polluted',
    'build\tDefaultGODEBUG=panicnil=1,x509sha1=1',
    '',
  ].join('\n')
  const info = parseGoBuildInfo(section('go1.21.0', modinfo), 'synthetic')
  assert.ok(info)
  assert.equal(info.settings['-gcflags'], 'all=-N -l \tAé')
  assert.equal(info.settings['odd key'], 'raw \\n')
  assert.equal(Object.getOwnPropertyDescriptor(info.settings, '__proto__')?.value, 'polluted')
  assert.equal(Object.getPrototypeOf(info.settings), Object.prototype)
  assert.equal(info.defaultGodebug, 'panicnil=1,x509sha1=1')
})

test('answers undefined for ELF programs that are not Go', () => {
  for (const file of ['/bin/ls', process.execPath]) {
    if (!existsSync(file)) continue
    assert.equal(parseGoBuildInfo(readFileSync(file), file), undefined, file)
    assert.equal(extractBuildInfoSection(readFileSync(file), file), undefined, file)
  }
})

test('rejects hostile inputs with one line naming the origin', () => {
  const real = fixture('go-buildinfo', FIXTURE).bytes
  const cases: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    [
      'html login page',
      Buffer.from('<!DOCTYPE html><html><body><form>Sign in</form></body></html>'),
    ],
    ['random bytes', noise(64 * 1024, 7)],
    ['NaN', Buffer.from('NaN')],
    ['10 MB single line', Buffer.alloc(10 * 1024 * 1024, 'a')],
    ['elf header only', Buffer.from('\x7fELF\x02\x01\x01', 'latin1')],
    [
      'elf of class 3',
      Buffer.concat([Buffer.from('\x7fELF\x03\x01\x01', 'latin1'), Buffer.alloc(80)]),
    ],
    ['truncated section', real.subarray(0, 100)],
    ['section header only', real.subarray(0, 20)],
    [
      'section with a bad pointer size',
      Buffer.concat([MAGIC, Buffer.from([3, 2]), Buffer.alloc(40)]),
    ],
    [
      'bare section in the pointer format',
      Buffer.concat([MAGIC, Buffer.from([8, 0]), Buffer.alloc(16, 1)]),
    ],
    [
      'endless varint',
      Buffer.concat([MAGIC, Buffer.from([8, 2]), Buffer.alloc(16), Buffer.alloc(12, 0xff)]),
    ],
    [
      'huge length',
      Buffer.concat([MAGIC, Buffer.from([8, 2]), Buffer.alloc(16), Buffer.from([0xff, 0x7f])]),
    ],
    ['unterminated quote', section('go1.19', 'path\tx\nbuild\t-ldflags="-s\n')],
    ['build line without =', section('go1.19', 'path\tx\nbuild\tCGO_ENABLED\n')],
    ['empty version', section('', 'path\tx\n')],
  ]
  if (existsSync('/bin/ls')) {
    const ls = readFileSync('/bin/ls')
    cases.push(['truncated /bin/ls', ls.subarray(0, Math.floor(ls.length / 2))])
    cases.push(['/bin/ls cut inside its headers', ls.subarray(0, 70)])
  }
  for (const [name, bytes] of cases) assertInputError(() => parseGoBuildInfo(bytes, name), name)
})

test('sniffs ELF binaries and sections, and no other format fixture', () => {
  assertSniffsOnlyItsOwn(goBuildInfo)
  if (existsSync('/bin/ls'))
    assert.ok(goBuildInfo.sniff(readFileSync('/bin/ls').subarray(0, 64).toString()))
})

/** A bare inline section, as a Go ≥ 1.18 linker writes it, for edge cases no toolchain makes. */
function section(version: string, modinfo: string): Buffer {
  const start = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex')
  const end = Buffer.from('f932433186182072008242104116d8f2', 'hex')
  const mod = modinfo ? Buffer.concat([start, Buffer.from(modinfo), end]) : Buffer.alloc(0)
  const varint = (n: number) =>
    n < 128 ? Buffer.from([n]) : Buffer.from([(n & 0x7f) | 0x80, n >> 7])
  const header = Buffer.concat([MAGIC, Buffer.from([8, 2]), Buffer.alloc(16)])
  return Buffer.concat([
    header,
    varint(version.length),
    Buffer.from(version),
    varint(mod.length),
    mod,
  ])
}

/** name → [env, extra go build flags]. Cross builds cover 32-bit and big-endian layouts. */
const VARIANTS: Record<string, [Record<string, string>, string[]]> = {
  'amd64-cgo1': [{ CGO_ENABLED: '1' }, []],
  'amd64-cgo0': [{ CGO_ENABLED: '0' }, []],
  'amd64-stripped': [{ CGO_ENABLED: '0' }, ['-ldflags=-s -w']],
  '386': [{ CGO_ENABLED: '0', GOARCH: '386' }, []],
  s390x: [{ CGO_ENABLED: '0', GOARCH: 's390x' }, []],
  mips: [{ CGO_ENABLED: '0', GOARCH: 'mips' }, []],
}

// Go 1.19 and 1.26 build every layout; Go 1.27's build info is read from its amd64 binaries
// (cross-compiling its standard library three more times would cost CI a minute).
for (const release of ['1.19', '1.26', '1.27'] as GoRelease[]) {
  const names = Object.keys(VARIANTS).filter(name => release !== '1.27' || name.startsWith('amd64'))
  describeBinariesOf(release, Object.fromEntries(names.map(n => [n, VARIANTS[n] ?? [{}, []]])))
}

function describeBinariesOf(
  release: GoRelease,
  variants: Record<string, [Record<string, string>, string[]]>,
): void {
  describe(`real Go binaries built by ${GO_RELEASES[release]}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'gomemdoctor-buildinfo-'))
    const run = promisify(execFile)
    const go = goCommand(release)
    const goVersion = go.version

    before(async () => {
      writeFileSync(join(dir, 'go.mod'), `module example.com/tiny\n\ngo ${release}\n`)
      writeFileSync(
        join(dir, 'main.go'),
        'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("tiny") }\n',
      )
      // With CGO_ENABLED=1 and a C compiler this file links through it (external linking: another
      // section layout, section headers at the end). Without one, cgo1 still links internally.
      if (HAVE_CC) {
        writeFileSync(
          join(dir, 'c.go'),
          '//go:build cgo\n\npackage main\n\n// int answer(void) { return 42; }\nimport "C"\n\nvar answer = C.answer()\n',
        )
      }
      for (const [name, [env, flags]] of Object.entries(variants)) {
        await run(go.command, ['build', '-o', name, ...flags, '.'], {
          cwd: dir,
          env: { ...process.env, ...go.env, ...env },
        })
      }
    })
    after(() => rmSync(dir, { recursive: true, force: true }))

    test('reads the version and settings go version -m reads, for 64/32-bit and both byte orders', () => {
      for (const name of Object.keys(variants)) {
        const file = join(dir, name)
        const info = parseGoBuildInfo(readFileSync(file), file)
        assert.deepEqual(info, goVersionM(file), name)
        assert.equal(info?.goVersion, goVersion, name)
      }
      const settings = (name: string) =>
        name in variants ? parseGoBuildInfo(readFileSync(join(dir, name)), name)?.settings : {}
      assert.equal(settings('amd64-cgo1')?.CGO_ENABLED, '1')
      assert.equal(settings('amd64-cgo0')?.CGO_ENABLED, '0')
      assert.equal(settings('amd64-stripped')?.['-ldflags'], '-s -w')
      if ('386' in variants) assert.equal(settings('386')?.GOARCH, '386')
    })

    test('extracts the section bytes themselves, a few hundred bytes, for Go ≥ 1.18', () => {
      for (const name of Object.keys(variants)) {
        const elf = readFileSync(join(dir, name))
        const section = extractBuildInfoSection(elf, name)
        assert.ok(section && section.length < 1024, name)
        const at = magicOffset(elf)
        assert.deepEqual(Buffer.from(section), elf.subarray(at, at + section.length), name)
        assert.deepEqual(parseGoBuildInfo(section, name), parseGoBuildInfo(elf, name))
      }
    })

    test('finds the build info in the first writable segment when section headers are gone', () => {
      for (const name of ['amd64-cgo1', 'amd64-cgo0', '386'].filter(n => n in variants)) {
        const elf = readFileSync(join(dir, name))
        const headerless = Buffer.from(elf)
        if (headerless[4] === 2) headerless.writeBigUInt64LE(0n, 0x28)
        else headerless.writeUInt32LE(0, 0x20)
        headerless.fill(0, headerless[4] === 2 ? 0x3c : 0x30, headerless[4] === 2 ? 0x40 : 0x34)
        const file = join(dir, `${name}-headerless`)
        writeFileSync(file, headerless, { mode: 0o755 })
        assert.deepEqual(parseGoBuildInfo(headerless, file), goVersionM(file), name)
      }
    })

    test('follows Go 1.13–1.17 pointers to runtime.buildVersion and runtime.modinfo', () => {
      // Go 1.19 still links both string variables; pointing the header at them (flags 0) and
      // wiping the inline copy makes the pre-1.18 layout that go version -m must also read.
      const file = join(dir, 'amd64-cgo0')
      const nm = spawnSync(go.command, ['tool', 'nm', file], {
        encoding: 'utf8',
        env: { ...process.env, ...go.env },
      }).stdout
      const addr = (symbol: string) =>
        BigInt(`0x${new RegExp(`^\\s*([0-9a-f]+) D ${symbol}$`, 'm').exec(nm)?.[1]}`)
      const elf = readFileSync(file)
      const legacy = Buffer.from(elf)
      const at = magicOffset(legacy)
      const inline = extractBuildInfoSection(elf) ?? new Uint8Array(0)
      legacy[at + 15] = 0
      legacy.writeBigUInt64LE(addr('runtime.buildVersion'), at + 16)
      legacy.writeBigUInt64LE(addr('runtime.modinfo'), at + 24)
      legacy.fill(0, at + 32, at + inline.length)
      const legacyFile = join(dir, 'amd64-pointer-format')
      writeFileSync(legacyFile, legacy, { mode: 0o755 })

      const expected = goVersionM(legacyFile)
      assert.deepEqual(expected, goVersionM(file))
      assert.deepEqual(parseGoBuildInfo(legacy, legacyFile), expected)
      const blob = extractBuildInfoSection(legacy, legacyFile)
      assert.deepEqual(blob && Buffer.from(blob), Buffer.from(inline))
      assert.deepEqual(parseGoBuildInfo(blob ?? new Uint8Array(0), 'blob'), expected)
      legacy.writeBigUInt64LE(0xdead0000n, at + 16)
      assertInputError(() => parseGoBuildInfo(legacy, legacyFile), legacyFile)
    })

    test('a stripped binary keeps its build info; one whose .go.buildinfo was removed is still known for Go', t => {
      const file = join(dir, 'amd64-cgo0')
      const stripped = join(dir, 'amd64-strip-all')
      const removed = join(dir, 'amd64-no-buildinfo')
      const strip = spawnSync('strip', ['--strip-all', '-o', stripped, file])
      const objcopy = spawnSync('objcopy', ['--remove-section', '.go.buildinfo', file, removed])
      if (strip.status !== 0 || objcopy.status !== 0) return t.skip('binutils strip/objcopy absent')
      assert.deepEqual(parseGoBuildInfo(readFileSync(stripped), stripped), goVersionM(file))
      // Without the section the data segment holds no blob: no build info, but not "not Go".
      const bytes = readFileSync(removed)
      assert.equal(parseGoBuildInfo(bytes, removed), undefined)
      assert.match(
        goBinaryMark(bytes, removed) ?? '',
        /^its \.(gopclntab|note\.go\.buildid) section$/,
      )
      // Section headers gone as well: the Go build ID note in its PT_NOTE segment still says Go.
      const headerless = Buffer.from(bytes)
      headerless.writeBigUInt64LE(0n, 0x28)
      headerless.fill(0, 0x3c, 0x40)
      assert.equal(goBinaryMark(headerless, removed), 'a Go build ID note')
      for (const other of ['/bin/ls', process.execPath].filter(existsSync))
        assert.equal(goBinaryMark(readFileSync(other), other), undefined, other)
    })

    if (release === '1.27') {
      test('reads a Go newer than it was written for: go1.28.0 patched into a real go1.27.3 binary', () => {
        const file = join(dir, 'amd64-cgo0')
        const elf = Buffer.from(readFileSync(file))
        const at = magicOffset(elf)
        const version = elf.indexOf(goVersion, at)
        assert.ok(version > at && version < at + 64, 'the version follows the header')
        elf.write('go1.28.0', version, 'latin1')
        const patched = join(dir, 'amd64-go1.28')
        writeFileSync(patched, elf, { mode: 0o755 })
        const info = parseGoBuildInfo(elf, patched)
        // The toolchain's own reader agrees: only the version changed.
        assert.deepEqual(info, goVersionM(patched))
        assert.deepEqual(info, { ...goVersionM(file), goVersion: 'go1.28.0' })
      })
    }

    test('rejects a truncated Go binary in one line', () => {
      for (const name of ['amd64-cgo1', 'amd64-cgo0', 'mips'].filter(n => n in variants)) {
        const elf = readFileSync(join(dir, name))
        for (const length of [elf.length - 1, Math.floor(elf.length / 2), 100]) {
          assertInputError(() => parseGoBuildInfo(elf.subarray(0, length), name), name)
        }
      }
    })
  })
}
