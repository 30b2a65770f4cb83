import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  environSource,
  godebugValue,
  hasMemoryLimit,
  parseGoVersion,
  releaseMode,
  type TargetFacts,
} from './target.ts'

const facts = (extra: Partial<TargetFacts>): TargetFacts => ({
  sources: [],
  kernel: '6.1.0',
  ...extra,
})

test('parses Go versions including release candidates', () => {
  assert.deepEqual(parseGoVersion('go1.19.8'), { major: 1, minor: 19, patch: 8 })
  assert.deepEqual(parseGoVersion('go1.21rc2'), { major: 1, minor: 21, patch: 0 })
  assert.equal(parseGoVersion('devel'), undefined)
})

test('lets GODEBUG from the environment override the binary default', () => {
  const target = facts({ defaultGodebug: 'madvdontneed=0,panicnil=1', godebug: 'madvdontneed=1' })
  assert.equal(godebugValue(target, 'madvdontneed'), '1')
  assert.equal(godebugValue(target, 'panicnil'), '1')
  assert.equal(godebugValue(target, 'absent'), undefined)
})

test('knows which Go versions release memory with MADV_FREE', () => {
  assert.equal(releaseMode(facts({ goVersion: 'go1.11.13' })).mode, 'madv-dontneed')
  assert.equal(releaseMode(facts({ goVersion: 'go1.14.15' })).mode, 'madv-free')
  assert.equal(
    releaseMode(facts({ goVersion: 'go1.14.15', godebug: 'madvdontneed=1' })).mode,
    'madv-dontneed',
  )
  assert.equal(releaseMode(facts({ goVersion: 'go1.19.8' })).mode, 'madv-dontneed')
  assert.equal(
    releaseMode(facts({ goVersion: 'go1.19.8', godebug: 'madvdontneed=0' })).mode,
    'madv-free',
  )
  assert.equal(
    releaseMode(facts({ goVersion: 'go1.14.15', kernel: '4.4.0-210' })).mode,
    'madv-dontneed',
  )
  assert.equal(releaseMode(facts({})).mode, 'unknown')
})

test('GOMEMLIMIT exists from go1.19, and an unknown version is taken to have it', () => {
  assert.equal(hasMemoryLimit(parseGoVersion('go1.18.10')), false)
  assert.equal(hasMemoryLimit(parseGoVersion('go1.19')), true)
  assert.equal(hasMemoryLimit(parseGoVersion('go1.23.4')), true)
  assert.equal(hasMemoryLimit(undefined), true)
})

test('GO* variables come from /proc/PID/environ when there is a PID', () => {
  assert.equal(environSource({ pid: 4242, sources: [] }), '/proc/4242/environ')
  assert.equal(environSource({ url: 'http://127.0.0.1:6060', sources: [] }), 'the environment')
})
