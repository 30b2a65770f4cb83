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
  // The host's mount it inherited (now hidden under its own /sys/fs/cgroup), then its own.
  assert.equal(fromHost.length, 2)
  assert.match(
    fromHost[1]?.root ?? '',
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
  const own = memoryMounts('debug-container-self.txt').at(-1)
  assert.equal(own?.root, '/')
  assert.equal(pathBelow('/../target', own?.root ?? ''), undefined)
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
