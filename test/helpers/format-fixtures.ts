// Real /proc and cgroup captures in testdata/formats/<capture-kind>/ (scripts/capture-proc-fixtures.sh)
// and the checks every format test repeats: the sniff matrix and one-line InputErrors.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { InputError } from '../../src/errors.ts'
import { CAPTURE_KINDS, type CaptureKind, type RawCapture } from '../../src/sources/capture.ts'
import type { Format } from '../../src/sources/formats/format.ts'
import { headOf } from '../../src/sources/formats/sniff.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const FIXTURES = join(ROOT, 'testdata/formats')

/** One fixture file as a capture; its origin is the repository-relative path. */
export function fixture(kind: CaptureKind, name: string): RawCapture {
  const path = join(FIXTURES, kind, name)
  return { kind, origin: relative(ROOT, path), atMs: 0, bytes: readFileSync(path) }
}

/**
 * Every file one level under testdata/formats/, including other formats' fixtures; `kind` is the
 * directory name when that names a CaptureKind.
 */
export function allFixtures(): { kind: CaptureKind | undefined; origin: string; bytes: Buffer }[] {
  return readdirSync(FIXTURES, { withFileTypes: true })
    .filter(entry => entry.isDirectory())
    .flatMap(dir =>
      readdirSync(join(FIXTURES, dir.name), { withFileTypes: true })
        .filter(entry => entry.isFile())
        .map(entry => {
          const path = join(FIXTURES, dir.name, entry.name)
          const kind = CAPTURE_KINDS.find(k => k === dir.name)
          return { kind, origin: relative(ROOT, path), bytes: readFileSync(path) }
        }),
    )
}

/** What scripts/capture-proc-fixtures.sh recorded beside the files. */
export interface CaptureInfo {
  date: string
  kernel: string
  goReady: string
  goSocketInodes: number[]
  oomRunExitStatus: number
}

export function captureInfo(): CaptureInfo {
  return JSON.parse(readFileSync(join(FIXTURES, 'capture-proc.json'), 'utf8')) as CaptureInfo
}

/** Inline text as a capture, for hostile-input tables. */
export function textCapture(kind: CaptureKind, text: string, origin = 'inline'): RawCapture {
  return { kind, origin, atMs: 0, bytes: Buffer.from(text, 'utf8') }
}

/** The text of a capture, to derive variants (truncated, edited) from a real one. */
export function textOf(capture: RawCapture): string {
  return Buffer.from(capture.bytes).toString('utf8')
}

/** A single 10 MB line, with no newline. */
export function hugeLine(char = 'A'): string {
  return char.repeat(10 * 1024 * 1024)
}

export const HTML_PAGE =
  '<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>…</body></html>\n'

/**
 * The sniffer accepts every fixture of its own kind (and of `alsoAccepts`, for formats content
 * cannot tell apart) and rejects every other one, an HTML page, an empty file and binary noise.
 */
export function assertSniffsOnlyItsOwn(format: Format<unknown>, alsoAccepts: CaptureKind[] = []) {
  const all = allFixtures()
  assert.ok(
    all.some(capture => capture.kind === format.kind),
    `no ${format.kind} fixture`,
  )
  for (const capture of all) {
    const { kind } = capture
    const expected = kind === format.kind || (kind !== undefined && alsoAccepts.includes(kind))
    assert.equal(format.sniff(headOf(capture.bytes)), expected, capture.origin)
  }
  for (const other of [HTML_PAGE, '', '\0\x1f\x8b\x08\xff\xfe', hugeLine().slice(0, 4096)]) {
    assert.equal(format.sniff(other), false, JSON.stringify(other.slice(0, 20)))
  }
}

/** `fn` throws an InputError whose message is one short line matching `pattern`. */
export function assertInputError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof InputError, `not an InputError: ${String(error)}`)
    assert.doesNotMatch(error.message, /\n/)
    assert.ok(error.message.length < 300, `${error.message.length} characters`)
    assert.match(error.message, pattern)
    return true
  })
}
