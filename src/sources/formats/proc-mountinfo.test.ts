import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { InputError } from '../../errors.ts'
import { type CgroupMount, parseCgroupMounts, pathBelow } from './proc-mountinfo.ts'

// Real files from scripts/capture-namespace-fixtures.sh: a container (own PID, mount and cgroup
// namespaces) seen from the host and from a debug container in a sibling cgroup.
const file = (name: string) =>
  readFileSync(new URL(`../../../testdata/formats/proc-mountinfo/${name}`, import.meta.url), 'utf8')
const memoryMounts = (name: string): CgroupMount[] =>
  parseCgroupMounts(file(name), name).filter(m => m.version === 1)

test('finds the host v1 memory hierarchy and the v2 mount beside it, and nothing else', () => {
  const mounts = parseCgroupMounts(file('host.txt'), 'host.txt')
  assert.deepEqual(mounts, [
    { version: 1, root: '/', mountPoint: '/sys/fs/cgroup/memory' },
    { version: 2, root: '/', mountPoint: '/sys/fs/cgroup/unified' },
  ])
})

test("a container's cgroup mount is rooted at its cgroup, named from the reader's namespace", () => {
  const fromHost = memoryMounts('container-seen-from-host.txt')
  // Only its own: the host's mount it inherited is hidden under its fresh /sys/fs/cgroup.
  assert.equal(fromHost.length, 1)
  assert.match(
    fromHost[0]?.root ?? '',
    /^\/process_api\/[0-9a-f]+\/gomemdoctor-fixture-ns\/target$/,
  )
  const fromDebug = memoryMounts('container-seen-from-debug-container.txt')
  assert.deepEqual(fromDebug.at(-1), {
    version: 1,
    root: '/../target',
    mountPoint: '/sys/fs/cgroup/memory',
  })
})

test("a path outside the reader's namespace is below a mount only when the root spells the same steps", () => {
  const target = readFileSync(
    new URL(
      '../../../testdata/formats/proc-cgroup/container-seen-from-debug-container.txt',
      import.meta.url,
    ),
    'utf8',
  )
  assert.match(target, /^\d+:memory:\/\.\.\/target$/m)
  // The debug container's own mount, rooted at its own cgroup: the target is not below it.
  const own = memoryMounts('debug-container-self.txt')
  assert.equal(own.length, 1)
  assert.equal(own[0]?.root, '/')
  assert.equal(pathBelow('/../target', own[0]?.root ?? ''), undefined)
  // The target's own mount is: its root is the target's cgroup.
  assert.equal(pathBelow('/../target', '/../target'), '')
  assert.equal(pathBelow('/../target/sub', '/../target'), 'sub')
  // Never by climbing out of a mount, and never across a partial name.
  assert.equal(pathBelow('/a/../b', '/a'), undefined)
  assert.equal(pathBelow('/kubepods/abc', '/kube'), undefined)
  assert.equal(pathBelow('/kubepods/abc', '/'), 'kubepods/abc')
})

test('decodes octal escapes in mount points and roots', () => {
  const line = '40 31 0:38 /my\\040group /mnt/cg\\040v2 rw - cgroup2 cgroup2 rw\n'
  assert.deepEqual(parseCgroupMounts(line, 'x'), [
    { version: 2, root: '/my group', mountPoint: '/mnt/cg v2' },
  ])
})

test('a mount hidden by a later one at the same place or above is out of sight', () => {
  const text = [
    '35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
    '90 23 0:50 / /sys/fs/cgroup rw - tmpfs none rw',
  ].join('\n')
  assert.deepEqual(parseCgroupMounts(text, 'x'), [])
  assert.equal(
    parseCgroupMounts(`${text}\n91 90 0:32 / /sys/fs/cgroup/memory rw - cgroup m rw,memory`, 'x')
      .length,
    1,
  )
})

test('skips v1 hierarchies without the memory controller', () => {
  const text = '32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n'
  assert.deepEqual(parseCgroupMounts(text, 'x'), [])
})

test('refuses a file that is not mountinfo, naming the line', () => {
  assert.throws(
    () => parseCgroupMounts('4:memory:/a\n', '/proc/1/mountinfo'),
    (error: unknown) =>
      error instanceof InputError &&
      /^\/proc\/1\/mountinfo:1: not a mountinfo line/.test(error.message),
  )
})
