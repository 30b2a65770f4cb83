import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  assertInputError,
  assertSniffsOnlyItsOwn,
  captureInfo,
  fixture,
  HTML_PAGE,
  hugeLine,
  textCapture,
} from '../../../test/helpers/format-fixtures.ts'
import { kernelRelease, parseKernelRelease } from './kernel-release.ts'

const release = (text: string) => parseKernelRelease(textCapture('kernel-release', text))

test('reads the real osrelease as uname -r printed it at capture time', () => {
  assert.equal(
    parseKernelRelease(fixture('kernel-release', 'this-machine.txt')),
    captureInfo().kernel,
  )
})

test('trims the newline and keeps distribution suffixes', () => {
  assert.equal(release('6.1.0-18-amd64\n'), '6.1.0-18-amd64')
  assert.equal(release('5.15.0-1051-azure\n'), '5.15.0-1051-azure')
  assert.equal(release('4.19.0+\n'), '4.19.0+')
})

const hostile: { name: string; text: string; error: RegExp }[] = [
  { name: 'an empty file', text: '', error: /^inline: empty, not \/proc\/sys\/kernel\/osrelease$/ },
  {
    name: 'an HTML page',
    text: HTML_PAGE,
    error: /^inline: got HTML, not \/proc\/sys\/kernel\/osrelease$/,
  },
  {
    name: '/proc/version instead',
    text: 'Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0)\n',
    error: /^inline: not \/proc\/sys\/kernel\/osrelease: \d+ characters, at most 64$/,
  },
  {
    name: 'a word that is not a release',
    text: 'Linux\n',
    error: /^inline: not \/proc\/sys\/kernel\/osrelease: want "<major>.<minor>…": "Linux"$/,
  },
  {
    name: 'two lines',
    text: '6.1.0\n6.2.0\n',
    error: /^inline: not \/proc\/sys\/kernel\/osrelease: want/,
  },
  {
    name: 'a 10 MB single line',
    text: hugeLine(),
    error: /^inline: not \/proc\/sys\/kernel\/osrelease: 10485760 characters, at most 64$/,
  },
]
for (const { name, text, error } of hostile) {
  test(`rejects ${name} in one line naming the origin`, () => {
    assertInputError(() => release(text), error)
  })
}

test('sniffs osrelease captures and rejects every other fixture', () => {
  assertSniffsOnlyItsOwn(kernelRelease)
})
