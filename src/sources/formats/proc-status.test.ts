import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  assertInputError,
  assertSniffsOnlyItsOwn,
  fixture,
  HTML_PAGE,
  hugeLine,
  textCapture,
  textOf,
} from '../../../test/helpers/format-fixtures.ts'
import { InputError, TargetError } from '../../errors.ts'
import { KiB, MiB } from '../../model/units.ts'
import { NoAddressSpaceError, parseProcStatus, procStatus } from './proc-status.ts'

const goProcess = fixture('proc-status', 'go-process.txt')

/** A field straight from the text by its own regex: an oracle independent of the parser. */
function kbField(text: string, key: string): number | undefined {
  const match = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text)
  return match ? Number(match[1]) * KiB : undefined
}

test("parses a real Go process's status (VmRSS equals RssAnon+RssFile+RssShmem)", () => {
  const status = parseProcStatus(goProcess)
  assert.equal(status.name, 'procfixture')
  assert.equal(status.source, 'testdata/formats/proc-status/go-process.txt')
  assert.equal(status.vmRss, (status.rssAnon ?? 0) + (status.rssFile ?? 0) + (status.rssShmem ?? 0))
  // The program keeps 32 MiB live and touched.
  assert.ok((status.rssAnon ?? 0) >= 32 * MiB, `RssAnon ${status.rssAnon}`)
  assert.ok((status.threads ?? 0) >= 2)
})

test('matches every field of the real Go and Node captures, line by line', () => {
  for (const name of ['go-process.txt', 'node-process.txt']) {
    const capture = fixture('proc-status', name)
    const text = textOf(capture)
    const expected = {
      source: capture.origin,
      vmRss: kbField(text, 'VmRSS'),
      rssAnon: kbField(text, 'RssAnon'),
      rssFile: kbField(text, 'RssFile'),
      rssShmem: kbField(text, 'RssShmem'),
      vmHwm: kbField(text, 'VmHWM'),
      vmSwap: kbField(text, 'VmSwap'),
      threads: Number(/^Threads:\s+(\d+)$/m.exec(text)?.[1]),
      name: /^Name:\t(.*)$/m.exec(text)?.[1],
    }
    assert.deepEqual(parseProcStatus(capture), expected, name)
  }
})

test('reads kB as KiB', () => {
  const status = parseProcStatus(textCapture('proc-status', 'Name:\tx\nVmRSS:\t       3 kB\n'))
  assert.equal(status.vmRss, 3 * 1024)
})

test('leaves out fields an old kernel does not print (RssAnon is Linux ≥ 4.5)', () => {
  const status = parseProcStatus(textCapture('proc-status', 'Name:\tx\nState:\tS\nVmRSS:\t 8 kB\n'))
  assert.deepEqual(status, { source: 'inline', vmRss: 8 * KiB, name: 'x' })
})

test('ignores a line it does not read, even one without a unit', () => {
  const status = parseProcStatus(
    textCapture('proc-status', 'Name:\tx\nVmRSS:\t 8 kB\nVmFuture:\t7\n'),
  )
  assert.equal(status.vmRss, 8 * KiB)
})

test('answers a zombie with NoAddressSpaceError, a TargetError rather than an InputError', () => {
  assert.throws(
    () => parseProcStatus(fixture('proc-status', 'zombie.txt')),
    (error: unknown) => {
      assert.ok(error instanceof NoAddressSpaceError)
      assert.ok(error instanceof TargetError)
      assert.ok(!(error instanceof InputError))
      assert.equal(error.reason, 'zombie')
      assert.match(
        error.message,
        /^testdata\/formats\/proc-status\/zombie\.txt: no VmRSS: .*zombie/,
      )
      return true
    },
  )
})

test('answers a kernel thread with NoAddressSpaceError, with or without the Kthread line', () => {
  const kthread = fixture('proc-status', 'kernel-thread.txt')
  const older = textCapture('proc-status', textOf(kthread).replace(/^Kthread:.*\n/m, ''))
  for (const capture of [kthread, older]) {
    assert.throws(
      () => parseProcStatus(capture),
      (error: unknown) => error instanceof NoAddressSpaceError && error.reason === 'kernel thread',
    )
  }
})

const text = textOf(goProcess)
const hostile: { name: string; text: string; error: RegExp }[] = [
  { name: 'an empty file', text: '', error: /^inline: empty, not \/proc\/PID\/status$/ },
  { name: 'an HTML page', text: HTML_PAGE, error: /^inline: got HTML, not \/proc\/PID\/status$/ },
  {
    name: 'a VmRSS line with no unit',
    text: 'Name:\tx\nVmRSS:\t  1732\n',
    error: /^inline:2: VmRSS has no unit \(want "<n> kB"\): "1732"$/,
  },
  {
    name: 'a non-numeric VmRSS',
    text: 'Name:\tx\nVmRSS:\t lots kB\n',
    error: /^inline:2: VmRSS is not "<n> kB": "lots kB"$/,
  },
  {
    name: 'a 21-digit VmRSS (it would read as Infinity)',
    text: `Name:\tx\nVmRSS:\t${'9'.repeat(21)} kB\n`,
    error: /^inline:2: VmRSS is not "<n> kB"/,
  },
  {
    name: 'a 10 MB single line',
    text: hugeLine(),
    error: /^inline: not \/proc\/PID\/status: no Name: line first$/,
  },
  {
    name: 'a 10 MB line after the name',
    text: `Name:\tx\n${hugeLine()}`,
    error: /^inline:2: not a "Key: value" line: "A{40}…"$/,
  },
  {
    name: 'a file cut in the middle of VmRSS',
    text: text.slice(0, text.indexOf('VmRSS:') + 10),
    error: /^inline:\d+: VmRSS has no unit/,
  },
  {
    name: 'a file cut before VmRSS',
    text: text.slice(0, text.indexOf('VmRSS:')),
    error: /^inline: no VmRSS line in \/proc\/PID\/status \(truncated\?\)$/,
  },
  {
    name: 'a non-numeric Threads',
    text: 'Name:\tx\nVmRSS:\t 1 kB\nThreads:\tmany\n',
    error: /^inline:3: Threads is not a number: "many"$/,
  },
]
for (const { name, text, error } of hostile) {
  test(`rejects ${name} in one line naming the origin`, () => {
    assertInputError(() => parseProcStatus(textCapture('proc-status', text)), error)
  })
}

test('sniffs status captures and rejects every other fixture', () => {
  assertSniffsOnlyItsOwn(procStatus)
})
