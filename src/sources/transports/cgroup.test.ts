import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { test } from 'node:test'
import { parseProcCgroup } from '../formats/proc-cgroup.ts'
import { locateMemoryCgroup } from './cgroup.ts'

// These read this machine's real mounts; the namespace cases run for real in
// test/e2e/namespaces.e2e.test.ts.
const own = parseProcCgroup({
  kind: 'proc-cgroup',
  origin: '/proc/self/cgroup',
  atMs: 0,
  bytes: readFileSync('/proc/self/cgroup'),
})
const hasMemoryCgroup = own.v1Memory !== undefined || existsSync('/sys/fs/cgroup/memory.current')

test('finds our own memory cgroup from our mountinfo', { skip: !hasMemoryCgroup }, async () => {
  const found = await locateMemoryCgroup(own, process.pid)
  assert.ok(!('reason' in found), 'reason' in found ? found.reason : '')
  assert.ok(existsSync(found.files[0]?.path ?? ''), found.dir)
})

test('a cgroup outside our namespace that no mount holds is a miss that says so', async () => {
  const found = await locateMemoryCgroup({ v1Memory: '/../elsewhere' }, process.pid)
  assert.ok('reason' in found)
  assert.match(found.reason, /outside this process's cgroup namespace/)
})

test('a cgroup file without memory lines is a miss that says so', async () => {
  const found = await locateMemoryCgroup({}, process.pid)
  assert.ok('reason' in found)
  assert.match(found.reason, /names no memory cgroup/)
})
