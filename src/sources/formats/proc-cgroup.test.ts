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
import { parseProcCgroup, procCgroup } from './proc-cgroup.ts'

const cgroup = (text: string) => parseProcCgroup(textCapture('proc-cgroup', text))

test('finds the v1 memory path and the v2 path on a real hybrid machine', () => {
  const paths = parseProcCgroup(fixture('proc-cgroup', 'go-process-v1-hybrid.txt'))
  assert.match(paths.v1Memory ?? '', /^\/process_api\/[0-9a-f]+\/gomemdoctor-fixture-limited$/)
  assert.equal(paths.v2, '/')
})

test('reads a v2-only file (one 0:: line)', () => {
  assert.deepEqual(cgroup('0::/system.slice/orders.service\n'), {
    v2: '/system.slice/orders.service',
  })
})

test('keeps the colons in a path (systemd and CRI cgroup names)', () => {
  const path = '/kubepods.slice/kubepods-burstable.slice/cri-containerd:0123abcd'
  assert.deepEqual(cgroup(`0::${path}\n`), { v2: path })
  assert.deepEqual(cgroup(`4:memory:${path}\n`), { v1Memory: path })
})

test('finds memory in a controller list mounted together (memory,hugetlb)', () => {
  assert.deepEqual(cgroup('6:memory,hugetlb:/docker/abc\n1:name=systemd:/docker/abc\n'), {
    v1Memory: '/docker/abc',
  })
})

test('does not take a named hierarchy or a lookalike for the memory controller', () => {
  assert.deepEqual(cgroup('1:name=memory:/a\n2:memory_extra:/b\n'), {})
})

const hostile: { name: string; text: string; error: RegExp }[] = [
  { name: 'an empty file', text: '', error: /^inline: empty, not \/proc\/PID\/cgroup$/ },
  { name: 'an HTML page', text: HTML_PAGE, error: /^inline: got HTML, not \/proc\/PID\/cgroup$/ },
  {
    name: 'a line without a path',
    text: '0::/\n4:memory\n',
    error: /^inline:2: not a "hierarchy:controllers:\/path" line: "4:memory"$/,
  },
  {
    name: 'a relative path',
    text: '4:memory:docker/abc\n',
    error: /^inline:1: not a "hierarchy:controllers:\/path" line/,
  },
  {
    name: 'a 10 MB single line',
    text: hugeLine(),
    error: /^inline:1: not a "hierarchy:controllers:\/path" line: "A{40}…"$/,
  },
  { name: 'a file cut mid-line', text: '9:name=systemd:/\n8:pi', error: /^inline:2: .*"8:pi"$/ },
]
for (const { name, text, error } of hostile) {
  test(`rejects ${name} in one line naming the origin`, () => {
    assertInputError(() => cgroup(text), error)
  })
}

test('sniffs /proc/PID/cgroup captures and rejects every other fixture', () => {
  assertSniffsOnlyItsOwn(procCgroup)
})
