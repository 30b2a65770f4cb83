import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  assertInputError,
  assertSniffsOnlyItsOwn,
  fixture,
  HTML_PAGE,
  hugeLine,
  textCapture,
} from '../../../test/helpers/format-fixtures.ts'
import { goKnobs, parseEnviron, procEnviron } from './proc-environ.ts'

const environ = (text: string) => parseEnviron(textCapture('proc-environ', text))

test("reads a real Go process's environment and picks its Go knobs", () => {
  const env = parseEnviron(fixture('proc-environ', 'go-process.bin'))
  // The capture script starts the program under env -i with exactly these.
  assert.deepEqual(
    { ...env },
    {
      PATH: '/usr/local/bin:/usr/bin:/bin',
      HOME: '/nonexistent',
      LANG: 'C.UTF-8',
      GODEBUG: 'madvdontneed=0,gctrace=0',
      GOGC: '200',
      GOMEMLIMIT: '200MiB',
      GOMAXPROCS: '2',
    },
  )
  assert.deepEqual(goKnobs(env), {
    godebug: 'madvdontneed=0,gctrace=0',
    gogc: '200',
    gomemlimit: '200MiB',
    gomaxprocs: '2',
  })
})

test('keeps every = after the first in the value (a real NODE_OPTIONS)', () => {
  const env = parseEnviron(fixture('proc-environ', 'node-process.bin'))
  assert.equal(env.NODE_OPTIONS, '--max-old-space-size=64')
  assert.deepEqual(goKnobs(env), {})
})

test('tolerates a missing final NUL, as in a truncated read', () => {
  assert.deepEqual({ ...environ('A=1\0GOGC=off') }, { A: '1', GOGC: 'off' })
})

test('ignores entries without = and entries with an empty name', () => {
  assert.deepEqual({ ...environ('junk\0=nameless\0A=1\0\0') }, { A: '1' })
})

test('keeps an empty value as empty, not absent (GODEBUG= is set)', () => {
  assert.deepEqual(goKnobs(environ('GODEBUG=\0')), { godebug: '' })
})

test('keeps the first of duplicate keys, as getenv and the Go runtime do', () => {
  assert.equal(environ('GOGC=50\0GOGC=400\0').GOGC, '50')
})

test('keeps a key named __proto__ as data', () => {
  const env = environ('__proto__=x\0constructor=y\0')
  assert.deepEqual(Object.entries(env), [
    ['__proto__', 'x'],
    ['constructor', 'y'],
  ])
  assert.deepEqual(goKnobs(env), {})
})

test('reads an empty file as an empty environment (env -i, kernel threads)', () => {
  assert.deepEqual({ ...environ('') }, {})
})

test('reads a 10 MB value whole', () => {
  const value = hugeLine()
  assert.equal(environ(`BIG=${value}\0`).BIG?.length, value.length)
  assert.deepEqual({ ...environ(hugeLine()) }, {})
})

test('rejects an HTML page as "got HTML, not /proc/PID/environ"', () => {
  assertInputError(() => environ(HTML_PAGE), /^inline: got HTML, not \/proc\/PID\/environ$/)
})

test('sniffs NUL-separated environments and rejects every other fixture', () => {
  assertSniffsOnlyItsOwn(procEnviron)
})
